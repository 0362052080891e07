"""Verification over several probe frames (``idverify.bench.face_probes``): the trials are built as stated, a
one-image reference scores as the daemon compares, and the rules order impostor scores as they must."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idverify.bench.face_cohort import FaceSet
from idverify.bench.face_probes import FrameSet, camera_jitter, evaluate, main, near_duplicate_rows, score, trials
from idverify.biometrics.face.engine import ALGORITHM_VERSION, compare
from idverify.biometrics.face.template import combine

from .planted import planted_set


def test_trial_counts_follow_the_subsets() -> None:
    s = planted_set()
    idents = [f"p{k}" for k in range(5)]
    g, i = trials(s, 3, "mean", idents)
    # per person: 4 one-image references; genuine probes C(3, 3) = 1; impostor probes 4 others × C(4, 3) = 4
    assert len(g) == 5 * 4 * 1
    assert len(i) == 5 * 4 * 4 * 4
    g1, i1 = trials(s, 1, "max", idents)
    assert len(g1) == 5 * 4 * 3 and len(i1) == 5 * 4 * 4 * 4
    g2, i2 = trials(s, 1, "max", idents, enrol=2)  # C(4, 2) = 6 references, each probed by the 2 other images
    assert len(g2) == 5 * 6 * 2 and len(i2) == 5 * 6 * 4 * 4


def test_rules_and_the_daemons_comparison() -> None:
    s = planted_set(seed=3)
    enc = s.encodings
    ref, probes = enc[[0, 1]], enc[[2, 3]]
    tpl = combine([ref[0].astype(np.float32), ref[1].astype(np.float32)], ALGORITHM_VERSION)
    per_frame = [compare(tpl, p.astype(np.float32)) for p in probes]
    assert score(ref, probes, "max") == pytest.approx(max(per_frame), abs=1e-5)
    assert score(ref, probes, "mean-score") == pytest.approx(float(np.mean(per_frame)), abs=1e-5)
    m = probes.mean(axis=0)
    assert score(ref, probes, "mean") == pytest.approx(compare(tpl, (m / np.linalg.norm(m)).astype(np.float32)),
                                                      abs=1e-5)
    for rule in ("mean", "max", "mean-score"):  # one frame: every rule is the plain comparison
        assert score(ref, probes[:1], rule) == pytest.approx(per_frame[0], abs=1e-5)
    with pytest.raises(ValueError):
        score(ref, probes, "median")


def test_mean_of_frames_lifts_impostors_and_best_of_frames_more_than_one_frame() -> None:
    s = planted_set(seed=5)
    idents = [f"p{k}" for k in range(5)]
    _, one = trials(s, 1, "mean", idents)
    _, mean3 = trials(s, 3, "mean", idents)
    _, max3 = trials(s, 3, "max", idents)
    _, avg3 = trials(s, 3, "mean-score", idents)
    assert mean3.mean() > one.mean() and max3.mean() > avg3.mean()
    assert avg3.mean() == pytest.approx(one.mean(), abs=0.02)  # the mean of scores keeps the impostor mean
    rows = evaluate([s], {"t": float(np.quantile(one, 0.99))}, max_k=3)
    by = {(r["set"], r["k"], r["rule"]): r for r in rows}
    assert {(k, r) for _, k, r in by} == {(1, "mean"), *((k, r) for k in (2, 3) for r in ("mean", "max",
                                                                                           "mean-score"))}
    assert by[("planted", 3, "max")]["fmr_at_t"] > by[("planted", 1, "mean")]["fmr_at_t"]
    assert by[("planted", 3, "mean")]["false_matches_at_t"] > by[("planted", 1, "mean")]["false_matches_at_t"]
    assert by[("pooled", 3, "max")]["impostor"] == by[("planted", 3, "max")]["impostor"]


def test_pooled_rows_concatenate_the_sets_and_small_sets_are_skipped() -> None:
    a = planted_set(seed=1)
    b = FaceSet("other", planted_set(seed=2, people=3).encodings, planted_set(seed=2, people=3).labels)
    tiny = FaceSet("tiny", planted_set(seed=4, people=1).encodings, np.asarray(["x"] * 4))  # one identity: not served
    rows = evaluate([a, b, tiny], {"t": 0.5}, max_k=2)
    by = {(r["set"], r["k"], r["rule"]): r for r in rows}
    assert {r["set"] for r in rows} == {"planted", "other", "pooled"}
    for k, rule in ((1, "mean"), (2, "max"), (2, "mean")):
        pooled, one, two = by[("pooled", k, rule)], by[("planted", k, rule)], by[("other", k, rule)]
        assert pooled["genuine"] == one["genuine"] + two["genuine"] > 0
        assert pooled["impostor"] == one["impostor"] + two["impostor"] > 0
        assert pooled["identities"] == 8
        assert pooled["false_matches_at_t"] == one["false_matches_at_t"] + two["false_matches_at_t"]


def test_usage_errors() -> None:
    with pytest.raises(SystemExit):
        main(["somewhere", "--max-k", "0"])
    with pytest.raises(SystemExit):
        main(["somewhere", "--enrol", "0"])


def test_camera_jitter_changes_a_frame_a_little_and_is_seeded(face_dir: Path) -> None:
    from idverify.biometrics.face.image import as_rgb_array

    rgb = as_rgb_array(face_dir / "face_recognition_examples/alex_lacamoire/examples__alex-lacamoire.png")
    a = camera_jitter(rgb, np.random.default_rng(1))
    b = camera_jitter(rgb, np.random.default_rng(1))
    c = camera_jitter(rgb, np.random.default_rng(2))
    assert a.shape == rgb.shape and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    diff = np.abs(a.astype(np.int16) - rgb.astype(np.int16))
    assert 0.5 < float(diff.mean()) < 25.0  # a next frame, not another photo


def test_near_duplicate_rows_use_frame_0_as_the_reference() -> None:
    s = planted_set(seed=7, people=3, images=2)
    rng = np.random.default_rng(0)
    frames = []
    for e in s.encodings:  # frame 0 the photo, then two slightly moved copies
        rows = [e, *(e + 0.01 * rng.normal(size=128) for _ in range(2))]
        frames.append(np.asarray([r / np.linalg.norm(r) for r in rows]))
    fs = FrameSet("frames", tuple(frames), s.labels)
    out = near_duplicate_rows([fs], {"t": 0.9})
    by = {(r["set"], r["k"], r["rule"]): r for r in out}
    one = by[("frames", 1, "mean")]
    assert one["genuine"] == 3 * 2 and one["impostor"] == 6 * 5 - 6  # ordered pairs of the 6 photos
    g = [float(frames[a][0] @ frames[b][0]) for a in range(6) for b in range(6)
         if a != b and s.labels[a] == s.labels[b]]
    imp = [float(frames[a][0] @ frames[b][0]) for a in range(6) for b in range(6)
           if a != b and s.labels[a] != s.labels[b]]
    assert one["fnmr_at_t"] == pytest.approx(np.mean(np.asarray(g) < 0.9), abs=1e-6)
    assert one["false_matches_at_t"] == sum(x >= 0.9 for x in imp)
    best = [max(float(frames[a][0] @ f) for f in frames[b]) for a in range(6) for b in range(6)
            if a != b and s.labels[a] == s.labels[b]]
    assert by[("frames", 3, "max")]["fnmr_at_t"] == pytest.approx(np.mean(np.asarray(best) < 0.9), abs=1e-6)
    assert by[("frames", 3, "max")]["impostor"] == one["impostor"]
    assert by[("pooled", 3, "mean-score")]["genuine"] == 6 and by[("pooled", 1, "mean")]["identities"] == 3
