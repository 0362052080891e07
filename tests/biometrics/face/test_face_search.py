"""1:N gallery: results equal brute force, updates keep rows consistent."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idverify.biometrics.face.search import FaceGallery, clinic_gallery, run_search_bench, synthetic_templates
from idverify.errors import ValidationFailed


def test_search_matches_brute_force() -> None:
    data = synthetic_templates(500, seed=3)
    g = FaceGallery(capacity=8)  # forces several growths
    g.add_many((f"id{i}", v) for i, v in enumerate(data))
    q = data[42] + 0.05 * synthetic_templates(1, seed=4)[0]
    hits = g.search(q, k=10)
    qn = q / np.linalg.norm(q)
    expected = np.argsort(-(data @ qn))[:10]
    assert [h.template_id for h in hits] == [f"id{i}" for i in expected]
    assert hits[0].template_id == "id42"
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert abs(hits[0].score - float(data[42] @ qn)) < 1e-6


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), min_size=1, max_size=80))
@settings(max_examples=40, deadline=None)
def test_add_remove_sequence_matches_a_dict(ops: list[tuple[bool, int]]) -> None:
    vectors = synthetic_templates(31, seed=5)
    g = FaceGallery(capacity=2)
    model: dict[str, np.ndarray] = {}
    for is_add, i in ops:
        key = f"t{i}"
        if is_add:
            g.add(key, vectors[i])
            model[key] = vectors[i]
        else:
            assert g.remove(key) == (key in model)
            model.pop(key, None)
    assert len(g) == len(model)
    for key, vec in model.items():
        assert key in g
        assert g.search(vec, k=1)[0].template_id == key
    if not model:
        assert g.search(vectors[0], k=3) == []


def test_replace_min_score_and_bad_input() -> None:
    g = FaceGallery()
    a, b = synthetic_templates(2, seed=8)
    g.add("x", a)
    g.add("x", b)  # replace
    assert len(g) == 1
    assert g.search(b, k=1)[0].score == pytest.approx(1.0, abs=1e-5)
    assert g.search(a, k=5, min_score=0.99) == []
    with pytest.raises(ValidationFailed):
        g.add("bad", np.zeros(128, dtype=np.float32))
    with pytest.raises(ValidationFailed):
        g.add("bad", np.ones(12, dtype=np.float32))
    with pytest.raises(ValidationFailed):
        g.search(a, k=0)


def test_clinic_galleries_are_separate() -> None:
    clinic_gallery("clinic-a").add("p1", synthetic_templates(1, seed=1)[0])
    assert "p1" in clinic_gallery("clinic-a")
    assert "p1" not in clinic_gallery("clinic-b")


def test_search_bench_shape_and_correctness() -> None:
    out = run_search_bench(gallery=20_000, queries=10, seed=0)
    assert set(out) >= {"median_ms", "p95_ms", "queries"}
    assert out["queries"] == 10
    assert out["top1_correct"] == 1.0
    assert 0 < out["median_ms"] <= out["p95_ms"]


def test_large_gallery_coarse_scan_finds_the_same_top_hits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The int8 coarse scan + exact re-rank returns what brute force returns, also after updates."""
    from idverify.biometrics.face import search

    monkeypatch.setattr(search, "COARSE_MIN_ROWS", 1000)
    data = synthetic_templates(3000, seed=11)
    g = FaceGallery(capacity=4096)
    g.add_many((f"id{i}", v) for i, v in enumerate(data))
    rng = np.random.default_rng(12)
    for src in rng.integers(0, 3000, size=5):
        q = data[src] + 0.03 * rng.standard_normal(128).astype(np.float32)
        qn = q / np.linalg.norm(q)
        hits = g.search(q, k=5)
        expected = np.argsort(-(data @ qn))[:5]
        assert [h.template_id for h in hits] == [f"id{i}" for i in expected]
    # updates after the int8 copy exists are reflected in it
    g.remove("id7")
    g.add("new", data[7])
    assert g.search(data[7], k=1)[0].template_id == "new"
    assert all(h.template_id != "id7" for h in g.search(data[7], k=5))
