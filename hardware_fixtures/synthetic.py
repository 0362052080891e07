"""Synthetic stand-in images for the simulators when the public samples (../shared/data) are absent.

Fingerprint-like ridge patterns and a plain face-like drawing: enough to exercise the device paths; useless for
accuracy, which is measured on the real public samples by ``idverify bench``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _ridges(seed: int, impression: int) -> np.ndarray:
    rng = np.random.default_rng(seed * 100 + impression)
    yy, xx = np.mgrid[0:288, 0:256].astype(np.float64)
    cy, cx = 144 + rng.normal(0, 6), 128 + rng.normal(0, 6)
    r = np.hypot(yy - cy, xx - cx)
    angle = np.arctan2(yy - cy, xx - cx)
    period = 8.0 + seed % 4
    pattern = np.sin(2 * np.pi * r / period + 0.8 * np.sin(angle * (1 + seed % 3)))
    image = 128 + 110 * pattern + rng.normal(0, 12, pattern.shape)
    mask = ((yy - cy) / 130) ** 2 + ((xx - cx) / 105) ** 2 > 1
    image[mask] = 255
    out: np.ndarray = np.clip(image, 0, 255).astype(np.uint8)
    return out


def synthetic_images(directory: Path, kind: str = "fingerprint", count: int = 4) -> Path:
    """Write a few synthetic images into ``directory/<kind>`` (FVC naming for fingerprints) and return it."""
    import cv2

    out = directory / f"synthetic-{kind}"
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        if kind == "fingerprint":
            for impression in (1, 2):
                cv2.imwrite(str(out / f"{101 + i}_{impression}.png"), _ridges(i, impression))
        else:
            image = np.full((480, 640, 3), 180 + 10 * i, dtype=np.uint8)
            cv2.ellipse(image, (320, 240), (110, 150), 0, 0, 360, (120, 150, 200), -1)
            for ex in (280, 360):
                cv2.circle(image, (ex, 210), 12, (40, 40, 40), -1)
            cv2.ellipse(image, (320, 300), (40, 15), 0, 0, 180, (60, 60, 150), 4)
            cv2.imwrite(str(out / f"frame_{i:02d}.png"), image)
    return out
