"""Fixtures for the face tests: the process-wide engine and a few public sample images."""

from __future__ import annotations

from pathlib import Path

import pytest

from idverify.biometrics.face.engine import FaceEngine, get_face_engine


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return get_face_engine()


@pytest.fixture(scope="session")
def face_dir(shared_data: Path) -> Path:
    path = shared_data / "face"
    if not (path / "face_recognition_examples").is_dir():
        pytest.skip(f"face sample sets not found under {path}")
    return path
