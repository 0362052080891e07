"""Known-answer tests for the error-rate maths every benchmark and calibration relies on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from idverify.biometrics.metrics import det_curve, equal_error_rate, error_rates, fnmr_at_fmr, threshold_at_fmr


def test_perfect_separation_has_zero_error() -> None:
    rates = error_rates([0.9, 0.8, 0.95], [0.1, 0.2, 0.3, 0.4])
    assert rates.eer == 0.0
    assert rates.fmr100 == 0.0
    assert rates.zero_fmr == 0.0
    assert 0.4 < rates.eer_threshold <= 0.8


def test_hand_computed_operating_points() -> None:
    genuine = [0.2, 0.6, 0.7, 0.8, 0.9]  # one low genuine score
    impostor = [0.1, 0.2, 0.3, 0.65]  # one high impostor score
    curve = det_curve(genuine, impostor)
    # At t = 0.65: impostors >= t: 1/4; genuine < t: 0.2, 0.6 -> 2/5.
    i = int(np.nonzero(np.isclose(curve.thresholds, 0.65))[0][0])
    assert curve.fmr[i] == pytest.approx(0.25)
    assert curve.fnmr[i] == pytest.approx(0.4)
    # FMR = 0 first reached just above 0.65, where genuine 0.2 and 0.6 are rejected.
    fnmr, thr = fnmr_at_fmr(curve, 0.0)
    assert thr == pytest.approx(0.7)
    assert fnmr == pytest.approx(0.4)
    # The crossing lies between t=0.3 (FMR .5, FNMR .2) and t=0.6 (FMR .25, FNMR .2)... then t=0.65.
    eer, _ = equal_error_rate(curve)
    assert 0.2 <= eer <= 0.25


def test_eer_of_identical_distributions_is_one_half() -> None:
    rng = np.random.default_rng(7)
    scores = rng.normal(size=20_000)
    rates = error_rates(scores[:10_000], scores[10_000:])
    assert rates.eer == pytest.approx(0.5, abs=0.02)


def test_rates_are_monotone() -> None:
    rng = np.random.default_rng(1)
    curve = det_curve(rng.normal(2, 1, 500), rng.normal(0, 1, 500))
    assert np.all(np.diff(curve.fmr) <= 0)
    assert np.all(np.diff(curve.fnmr) >= 0)
    assert curve.fmr[-1] == 0.0 and curve.fnmr[0] == 0.0


def test_rejects_empty_or_nan_scores() -> None:
    with pytest.raises(ValueError, match="no genuine"):
        error_rates([], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        error_rates([0.5, float("nan")], [0.1])


# The two copies calibration used before there was one (face: ascending sort, fingerprint: descending), verbatim.
def _former_face_copy(impostor: NDArray[np.float64], target: float) -> float:
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    allowed = int(np.floor(target * imp.size + 1e-9))
    if allowed >= imp.size:
        return float(imp[0])
    return float(np.nextafter(imp[imp.size - allowed - 1], np.inf))


def _former_fingerprint_copy(impostor: NDArray[np.float64], target: float) -> float:
    imp = np.sort(np.asarray(impostor, dtype=np.float64))[::-1]
    allowed = int(np.floor(target * imp.size + 1e-9))
    if allowed >= imp.size:
        return float(imp[-1])
    return float(np.nextafter(imp[allowed], np.inf))


def test_threshold_at_fmr_known_answers() -> None:
    imp = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    t0 = threshold_at_fmr(imp, 0.0)
    assert t0 > 1.0 and np.mean(imp >= t0) == 0.0
    t10 = threshold_at_fmr(imp, 0.1)  # one impostor of ten may pass: just above the second highest
    assert 0.9 < t10 <= 1.0 and np.mean(imp >= t10) == pytest.approx(0.1)
    assert threshold_at_fmr(imp, 0.001) == t0  # unresolvable target → zero-FMR point
    assert threshold_at_fmr(imp, 1.0) == pytest.approx(0.1)


_scores = st.lists(st.one_of(st.floats(-1.0, 1.0), st.sampled_from([0.25, 0.5, 0.75])), min_size=1, max_size=80)
_targets = st.one_of(st.sampled_from([0.0, 1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0]), st.floats(0.0, 1.0))


@given(_scores, _targets)
def test_threshold_at_fmr_gives_the_thresholds_of_both_former_copies(scores: list[float], target: float) -> None:
    imp = np.asarray(scores)  # ties included (the sampled values repeat), in the order they came
    t = threshold_at_fmr(imp, target)
    assert t == _former_face_copy(imp, target) == _former_fingerprint_copy(imp, target)
    # and it is what its docstring says: FMR within the target, and the lowest such threshold among the scores
    assert np.mean(imp >= t) <= target + 1e-9 or t == imp.min()
    below = imp[imp < t]
    assert below.size == 0 or np.mean(imp >= below.max()) > target + 1e-9 or np.mean(imp >= t) == 1.0
