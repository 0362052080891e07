"""Shared fixtures: locating the public sample data that lives beside the repository (never inside it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$IDVERIFY_SHARED_DATA``."""
    return Path(os.environ.get("IDVERIFY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"public sample data not found at {path} (set IDVERIFY_SHARED_DATA)")
    return path
