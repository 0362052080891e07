"""Presentation-attack detection: passive (MiniFASNet), head-turn and blink challenges."""
