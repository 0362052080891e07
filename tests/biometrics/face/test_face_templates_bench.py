"""Templates of several images (``idverify.bench.face_templates``): the trials are built as stated, ``max`` is the
daemon's own comparison, and a mean pulled towards the average face raises impostor scores."""

from __future__ import annotations

import numpy as np

from idverify.bench.face_templates import evaluate, trials
from idverify.biometrics.face.engine import ALGORITHM_VERSION, compare
from idverify.biometrics.face.template import combine

from .planted import planted_set


def test_trial_counts_follow_the_subsets() -> None:
    s = planted_set()
    idents = ["p0", "p1", "p2", "p3", "p4"]
    g, i = trials(s, 3, "mean", idents)
    # per person: C(4, 3) = 4 templates, each probed by the one other image and the 16 other people's images
    assert len(g) == 5 * 4 * 1
    assert len(i) == 5 * 4 * 16
    g1, i1 = trials(s, 1, "mean", idents)
    assert len(g1) == 5 * 4 * 3
    assert len(i1) == 5 * 4 * 16


def test_max_rule_is_the_daemons_comparison() -> None:
    s = planted_set(seed=3)
    g, _ = trials(s, 2, "max", ["p0"])
    own = np.flatnonzero(s.labels == "p0")
    tpl = combine([s.encodings[own[0]].astype(np.float32), s.encodings[own[1]].astype(np.float32)],
                  ALGORITHM_VERSION)
    expected = [compare(tpl, s.encodings[k].astype(np.float32)) for k in own[2:]]
    np.testing.assert_allclose(g[:2], expected, atol=1e-5)


def test_a_mean_template_lifts_impostors_more_than_the_best_capture() -> None:
    s = planted_set(seed=5)
    idents = [f"p{k}" for k in range(5)]
    _, mean_imp = trials(s, 3, "mean", idents)
    _, max_imp = trials(s, 3, "max", idents)
    _, single_imp = trials(s, 1, "mean", idents)
    assert mean_imp.mean() > max_imp.mean() > single_imp.mean()
    rows = evaluate(s, {"t": float(np.quantile(single_imp, 0.99))}, max_k=3)
    by = {(r["k"], r["rule"]): r for r in rows}
    assert set(by) == {(1, "mean"), (2, "mean"), (2, "max"), (3, "mean"), (3, "max")}
    assert by[(3, "mean")]["fmr_at_t"] > by[(1, "mean")]["fmr_at_t"]
