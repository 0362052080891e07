"""Planted face encodings for the several-image bench tests: each person's images spread around their own centre
and a shared 'average face' direction, so a mean of images drifts towards everybody (what those tools measure)."""

from __future__ import annotations

import numpy as np

from idverify.bench.face_cohort import FaceSet


def planted_set(seed: int = 0, people: int = 5, images: int = 4) -> FaceSet:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=128)
    rows, labels = [], []
    for p in range(people):
        centre = rng.normal(size=128)
        for _ in range(images):
            rows.append(3.0 * shared + centre + 1.2 * rng.normal(size=128))
            labels.append(f"p{p}")
    enc = np.asarray(rows)
    return FaceSet("planted", enc / np.linalg.norm(enc, axis=1, keepdims=True), np.asarray(labels))
