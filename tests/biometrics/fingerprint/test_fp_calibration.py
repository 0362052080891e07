"""Fingerprint calibration: the hardest set decides, the stored threshold never lets through an impostor the exact
one rejects, and the leave-one-identity-out estimate counts each finger's own pairs."""

from __future__ import annotations

import numpy as np
import pytest

from idverify.bench.calibrate_fingerprint import Pairs, leave_one_identity_out, operating_points
from idverify.bench.calibration import stored_threshold


def _pairs(n_sets: int = 2, fingers: int = 5, impressions: int = 3, seed: int = 0) -> Pairs:
    """Images of ``fingers`` fingers per set; genuine scores around 0.3, impostor scores below 0.03 (the second
    set's impostors higher: it is the hard one)."""
    rng = np.random.default_rng(seed)
    ident = np.repeat(np.arange(n_sets * fingers), impressions)
    set_of = ident // fingers
    i, j = np.triu_indices(ident.size, k=1)
    genuine = ident[i] == ident[j]
    score = np.where(genuine, rng.uniform(0.1, 0.5, i.size), rng.uniform(0.0, 0.02, i.size))
    score += np.where(~genuine & (set_of[i] == 1) & (set_of[j] == 1), 0.01, 0.0)
    return Pairs(score, (ident[i], ident[j]), (set_of[i], set_of[j]))


def test_stored_thresholds_are_rounded_up() -> None:
    assert stored_threshold(0.0274264751) == 0.027427  # to nearest it would be 0.027426, below the score
    assert stored_threshold(0.027426) == 0.027426
    score = 0.0274264751
    assert score < stored_threshold(float(np.nextafter(score, np.inf)))


def test_hardest_set_decides_and_no_set_exceeds_the_target_at_the_stored_threshold() -> None:
    pairs = _pairs()
    points = operating_points(pairs, ["easy", "hard"])
    p = points["fmr_0.001"]
    assert p["threshold"] == max([*p["per_set_threshold"].values(), p["pooled_threshold"]])
    assert p["threshold"] == p["per_set_threshold"]["hard"] > p["per_set_threshold"]["easy"]
    for rates in p["dev_rates_at_threshold"].values():
        assert rates["fmr"] <= 0.001
    hard = p["dev_rates_at_threshold"]["hard"]
    assert (hard["genuine"], hard["impostor"]) == (5 * 3, 3 * 3 * 10)  # C(3,2) per finger; 3×3 per finger pair
    assert p["dev_rates_at_threshold"]["pooled"]["impostor"] == 30 * 29 // 2 - 2 * 15


def test_leave_one_identity_out_counts_every_fingers_own_pairs_once() -> None:
    pairs = _pairs()
    loio = leave_one_identity_out(pairs, 2, 0.001)
    assert loio["genuine_pairs"] == 10 * 3
    assert loio["impostor_pairs"] == 2 * (2 * 3 * 3 * 10)  # each within-set impostor pair: once per finger in it
    assert loio["false_non_matches"] == 0 and loio["fnmr"] == 0.0
    # a finger whose impostor scores are far above the others' is not protected by thresholds set without it
    score = pairs.score.copy()
    loud = ((pairs.ident[0] == 0) | (pairs.ident[1] == 0)) & (pairs.ident[0] != pairs.ident[1])
    score[loud & (pairs.set_of[1] == 0)] = 0.05
    loio = leave_one_identity_out(Pairs(score, pairs.ident, pairs.set_of), 2, 0.001)
    # finger 0's 4 × 3 × 3 within-set impostor pairs, counted when finger 0 is held out (held out with finger 0
    # in the data, every other finger's threshold sits above them)
    assert loio["false_matches"] == 36
    assert loio["fmr"] == pytest.approx(loio["false_matches"] / loio["impostor_pairs"])
