"""Face calibration: the hardest set decides, leave-one-identity-out is reported.

The threshold rule itself has its known answers in ``tests/biometrics/test_metrics.py``; the shipped file is
checked in ``tests/biometrics/test_operating_points.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from idverify.bench.calibrate_face import _leave_one_identity_out, _operating_points, _Set


def _toy_set(name: str, sep: float, seed: int) -> _Set:
    rng = np.random.default_rng(seed)
    labels, vecs = [], []
    for ident in range(6):
        centre = rng.standard_normal(16)
        for _ in range(3):
            v = centre + rng.standard_normal(16) / sep
            vecs.append(v / np.linalg.norm(v))
            labels.append(f"{name}{ident}")
    arr = np.stack(vecs)
    return _Set(name, labels, arr, arr)


def test_hardest_set_decides_and_loio_is_reported() -> None:
    easy, hard = _toy_set("easy", 4.0, 1), _toy_set("hard", 0.8, 2)
    points = _operating_points([easy, hard])
    p = points["fmr_0.01"]
    assert p["threshold"] == pytest.approx(max(p["per_set_threshold"].values()), abs=1e-6)
    assert p["threshold"] >= max(p["per_set_threshold"].values())
    for rates in p["dev_rates_at_threshold"].values():
        assert rates["fmr"] <= 0.01
    loio = _leave_one_identity_out([easy, hard], 0.01)
    assert loio["genuine_pairs"] == 2 * 6 * 3 and loio["impostor_pairs"] > 0
    assert 0.0 <= loio["fmr"] <= 1.0 and 0.0 <= loio["fnmr"] <= 1.0
