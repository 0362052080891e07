"""The decision's error rates (``idverify bench check --fusion``): computed through decide() from per-factor score
distributions, exact under independence, and the face alone judged at its stricter point."""

from __future__ import annotations

import numpy as np
import pytest

from idverify.bench.fusion_rates import Scores, scenarios
from idverify.biometrics.fusion import FactorPolicy

FACE = FactorPolicy(required=True, threshold=0.94, target_fmr=0.001, alone_threshold=0.98, alone_target_fmr=0.0001)
FINGER = FactorPolicy(required=True, threshold=0.03, target_fmr=0.001)


def _scores(genuine: list[float], impostor: list[float]) -> Scores:
    return Scores(np.asarray(genuine), np.asarray(impostor), ["test"])


def test_rates_of_every_scenario() -> None:
    face = _scores(genuine=[0.99, 0.99, 0.96, 0.90], impostor=[0.95, 0.95, 0.99, 0.50, 0.50])
    finger = _scores(genuine=[0.5, 0.5, 0.5, 0.01], impostor=[0.04, 0.0, 0.0, 0.0])
    rates = scenarios(FACE, FINGER, {"face": face, "fingerprint": finger})
    # every factor: both must pass; impostor face passes 3/5 beside a finger, impostor finger 1/4
    assert rates["every_factor"]["fmr"] == pytest.approx(3 / 5 * 1 / 4)
    assert rates["every_factor"]["fnmr"] == pytest.approx(1 - 3 / 4 * 3 / 4)
    # fingerprint missing: the face alone at 0.98 — only one impostor in five, and half the genuine faces
    assert rates["fingerprint_missing"] == {"fmr": pytest.approx(1 / 5), "fnmr": pytest.approx(1 / 2)}
    assert rates["face_missing"] == {"fmr": pytest.approx(1 / 4), "fnmr": pytest.approx(1 / 4)}


def test_without_a_face_alone_point_the_face_keeps_its_threshold() -> None:
    plain = FactorPolicy(required=True, threshold=0.94)
    face = _scores(genuine=[0.96], impostor=[0.95, 0.5])
    rates = scenarios(plain, FINGER, {"face": face, "fingerprint": _scores([0.5], [0.0])})
    assert rates["fingerprint_missing"] == {"fmr": pytest.approx(1 / 2), "fnmr": 0.0}
    assert rates["every_factor"]["fmr"] == 0.0
