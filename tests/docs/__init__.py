"""The README keeps up with the code."""
