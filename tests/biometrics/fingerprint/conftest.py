"""Fixtures for the fingerprint tests: a few real FVC images, extracted once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from idverify.biometrics.fingerprint import FingerprintTemplate, extract

DB1 = "fingerprint/FVC2002_DB1_B"


@pytest.fixture(scope="session")
def fvc_db1(shared_data: Path) -> Path:
    path = shared_data / DB1
    if not path.is_dir():
        pytest.skip(f"FVC sample set not found at {path}")
    return path


def load_image(folder: Path, name: str) -> NDArray[np.uint8]:
    with Image.open(folder / f"{name}.tif") as im:
        return np.asarray(im.convert("L"))


@pytest.fixture(scope="session")
def db1_image(fvc_db1: Path) -> Callable[[str], NDArray[np.uint8]]:
    """Loader of one DB1 image by FVC name, e.g. ``db1_image("101_1")``."""
    return lambda name: load_image(fvc_db1, name)


@pytest.fixture(scope="session")
def db1_templates(fvc_db1: Path) -> dict[str, FingerprintTemplate]:
    """Impressions 1–3 of fingers 101–106 (18 images)."""
    names = [f"{f}_{i}" for f in range(101, 107) for i in (1, 2, 3)]
    return {n: extract(load_image(fvc_db1, n)) for n in names}
