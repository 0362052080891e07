"""Argument types shared by the benchmark tools run by hand (``python -m idverify.bench.…``).

Why: each tool took its data folders as plain paths and found a typo only deep inside a run (or, for the
calibration tools, as a traceback); argparse answers a bad argument with the tool's usage and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def folder(value: str) -> Path:
    """An existing directory (a data set), else argparse's usage error naming it."""
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {value}")
    return path
