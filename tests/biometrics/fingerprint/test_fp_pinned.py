"""The extractor's output is pinned: speed work on the pipeline must not change a single template.

Digests of the templates (``to_bytes`` and the full-precision positions and angles) of two images of every FVC set,
for the fp/1.2 baseline, fp/1.3 (the LODO grid's ``local-smooth0``) and ``local-block64-hull41`` (fp/1.4), recorded
with the code of main at 8d906ed (before the speed-ups that followed), and fp/1.5 (``dry-presmooth0.1-adaptive0.5``),
recorded when it shipped. The configurations are spelled out here rather
than taken from ``SHIPPED`` or the grid, so that shipping another one does not move the pins. A deliberate change
of the pipeline's output re-records them; an optimisation that changes one is not an optimisation. Building
blocks that replace an OpenCV call are checked against it directly as well.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from idverify.bench.fingerprint import dataset_dpi
from idverify.biometrics.fingerprint.extract import (
    ExtractorConfig,
    _ellipse_close,
    _ellipse_morph,
    _ellipse_open,
    analyse,
    template_of,
)

from .conftest import load_image

IMAGES = ("102_3", "107_6")
PINNED: dict[str, dict[str, tuple[str, str]]] = {
    "fp/1.2": {
        "FVC2000_DB1_B": ("7a392ea918915ca5", "5b0f2304445cdaa6"),
        "FVC2000_DB2_B": ("e0a320a9d9181cde", "5fb8ca7f63ce8710"),
        "FVC2000_DB3_B": ("9a63e079b78f830b", "f883575c26f6f947"),
        "FVC2002_DB1_B": ("50bb90ebb1a2026b", "e5c0953fdc6b8a52"),
        "FVC2002_DB3_B": ("ccc118932703afcb", "89fd3701e8153553"),
        "FVC2002_DB4_B": ("42e6d4ea453bfeeb", "5870a1ea72b4910a"),
        "FVC2004_DB1_B": ("bce5a6a6e268266f", "8c0217d8d3580a63"),
        "FVC2004_DB3_B": ("f465993c800b3ef4", "b7c0293bd37d5ca9"),
        "FVC2004_DB4_B": ("28677737873a6c29", "15d2437e9ddbcba0"),
    },
    "local-smooth0": {
        "FVC2000_DB1_B": ("179ee302205460a3", "c22569c2d3ec55a0"),
        "FVC2000_DB2_B": ("77075528aee7d81d", "c4e5bb227d2b9d5b"),
        "FVC2000_DB3_B": ("e62cac19dd01344e", "1bb0c15ecfac9273"),
        "FVC2002_DB1_B": ("3c9fee5dddab1bf4", "a7077c66fc5513e3"),
        "FVC2002_DB3_B": ("7f6103efabff951b", "5430b17418bdade6"),
        "FVC2002_DB4_B": ("42c7fa8203c204f7", "fcc26b4911afb778"),
        "FVC2004_DB1_B": ("ec8a38f05f991965", "2da2ede9ed756d88"),
        "FVC2004_DB3_B": ("4c87f8bcd90cdc81", "e334e22794fbcfa3"),
        "FVC2004_DB4_B": ("985551c56065edf5", "850025c1ca271f3f"),
    },
    "local-block64-hull41": {
        "FVC2000_DB1_B": ("a84a0011c35512ea", "069e9178ea50cea6"),
        "FVC2000_DB2_B": ("fe257043fbfbb70e", "ac634c0772fd6438"),
        "FVC2000_DB3_B": ("87361b668e559e77", "016857f3f0986e4e"),
        "FVC2002_DB1_B": ("99416c0d6b3813df", "5376dd9f64dc1230"),
        "FVC2002_DB3_B": ("129b71040ad1dbf4", "d02636255c440a11"),
        "FVC2002_DB4_B": ("fe229ad30cf2cb58", "f40b0bd971b0149b"),
        "FVC2004_DB1_B": ("5de30a6d474111b8", "7277c56978e0cbe1"),
        "FVC2004_DB3_B": ("d6101fc88c62ee03", "853d06c9bd9dcb3d"),
        "FVC2004_DB4_B": ("d8d9096184ce4743", "1f5fc07540ce2df3"),
    },
    "dry-presmooth0.1-adaptive0.5": {
        "FVC2000_DB1_B": ("e95862c4da40a14a", "70aca10d36c18a36"),
        "FVC2000_DB2_B": ("fd7068c8f0a4e89e", "cd58d70b61acd341"),
        "FVC2000_DB3_B": ("02fbcaabb4a6182e", "8f1544653bd71c9e"),
        "FVC2002_DB1_B": ("475b5cb72cbd228b", "edbfbdb5a271ba6d"),
        "FVC2002_DB3_B": ("ac80fa936c0c9e10", "05ca8bb65c7f6371"),
        "FVC2002_DB4_B": ("ae35964269a778ad", "5e6f150011e1f9ad"),
        "FVC2004_DB1_B": ("4825380bdcf6bc01", "3e86b0dd9fa423b2"),
        "FVC2004_DB3_B": ("8f97bc6ffee04e00", "e0763ff469e5e9cc"),
        "FVC2004_DB4_B": ("ad16eb06e511b6ae", "99b32c18832aa747"),
    },
}
_LOCAL = ExtractorConfig(local_period=True, period_smooth=0.0)
CONFIGS = {"fp/1.2": ExtractorConfig(), "local-smooth0": _LOCAL,
           "local-block64-hull41": dataclasses.replace(_LOCAL, period_block=64, seg_hull=41),
           "dry-presmooth0.1-adaptive0.5": dataclasses.replace(_LOCAL, period_block=64, seg_hull=41,
                                                               adaptive_orient=0.5, orient_presmooth=0.1)}


def _digest(folder: Path, name: str, config: ExtractorConfig) -> str:
    t = template_of(analyse(load_image(folder, name), dataset_dpi(folder) or 500, config=config), config)
    return hashlib.sha256(t.to_bytes() + t.xy.tobytes() + t.angle.tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("dataset", list(PINNED["fp/1.2"]))
def test_templates_are_byte_identical_to_the_recorded_ones(shared_data: Path, dataset: str, config: str) -> None:
    folder = shared_data / "fingerprint" / dataset
    if not folder.is_dir():
        pytest.skip(f"FVC set not found at {folder}")
    got = tuple(_digest(folder, name, CONFIGS[config]) for name in IMAGES)
    assert got == PINNED[config][dataset]


@pytest.mark.parametrize("size", [3, 9, 17, 23, 25, 29, 41, 45])
def test_ellipse_morphology_by_rectangles_is_cv2s(size: int) -> None:
    """Blobs touching the border, with pepper noise: the same pixels as ``cv2`` with the ellipse kernel."""
    rng = np.random.default_rng(size)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    for _ in range(4):
        img = np.zeros((int(rng.integers(60, 200)), int(rng.integers(60, 200))), np.uint8)
        for _ in range(3):
            centre = (int(rng.integers(-20, img.shape[1] + 20)), int(rng.integers(-20, img.shape[0] + 20)))
            axes = (int(rng.integers(5, img.shape[1])), int(rng.integers(5, img.shape[0])))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        img &= (rng.random(img.shape) < 0.95).astype(np.uint8)
        assert np.array_equal(_ellipse_morph(img, cv2.erode, size), cv2.erode(img, k))
        assert np.array_equal(_ellipse_morph(img, cv2.dilate, size), cv2.dilate(img, k))
        assert np.array_equal(_ellipse_open(img, size), cv2.morphologyEx(img, cv2.MORPH_OPEN, k))
        assert np.array_equal(_ellipse_close(img, size), cv2.morphologyEx(img, cv2.MORPH_CLOSE, k))

