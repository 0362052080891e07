"""Synthetic stand-in images for the simulators when the public samples (../shared/data) are absent.

Fingerprints come from :mod:`hardware_fixtures.fingerprint_synth` (distorted impressions of generated fingers, which
enrol and match like real ones); faces are a plain drawing in which no face detector finds a face, so the face
factor cannot be demonstrated without photos (``IDVERIFY_DEMO_FACES``). Neither is for accuracy, which is measured on
the real public samples by ``idverify bench``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hardware_fixtures.fingerprint_synth import write_fingers


def synthetic_images(directory: Path, kind: str = "fingerprint", count: int = 4) -> Path:
    """Write a few synthetic images into ``directory/<kind>`` (FVC naming for fingerprints) and return it."""
    import cv2

    out = directory / f"synthetic-{kind}"
    if kind == "fingerprint":
        return write_fingers(out, fingers=count, impressions=4)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = np.full((480, 640, 3), 180 + 10 * i, dtype=np.uint8)
        cv2.ellipse(image, (320, 240), (110, 150), 0, 0, 360, (120, 150, 200), -1)
        for ex in (280, 360):
            cv2.circle(image, (ex, 210), 12, (40, 40, 40), -1)
        cv2.ellipse(image, (320, 300), (40, 15), 0, 0, 180, (60, 60, 150), 4)
        cv2.imwrite(str(out / f"frame_{i:02d}.png"), image)
    return out
