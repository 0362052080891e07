"""1:N search: the right finger comes first, add/remove by key, pre-filter path, synthetic speed bench."""

from __future__ import annotations

import numpy as np

from idverify.biometrics.fingerprint import FingerprintGallery, FingerprintTemplate
from idverify.biometrics.fingerprint.search import perturbed, run_search_bench, signature, synthetic_template


def test_search_returns_the_right_finger(db1_templates: dict[str, FingerprintTemplate]) -> None:
    g = FingerprintGallery()
    for f in range(101, 107):
        g.add(f"finger-{f}", db1_templates[f"{f}_1"])
    assert len(g) == 6
    for f in range(101, 107):
        for imp in (2, 3):
            result = g.search(db1_templates[f"{f}_{imp}"], top_k=3)
            assert result[0][0] == f"finger-{f}"
            assert result[0][1] >= result[1][1] >= result[2][1]


def test_add_replace_and_remove(db1_templates: dict[str, FingerprintTemplate]) -> None:
    g = FingerprintGallery()
    g.add("a", db1_templates["101_1"])
    g.add("b", db1_templates["102_1"])
    g.add("c", db1_templates["103_1"])
    g.remove("a")
    g.remove("missing")
    assert "a" not in g and len(g) == 2
    assert g.search(db1_templates["101_2"], top_k=5)[0][0] != "a"
    g.add("b", db1_templates["101_1"])  # replacing keeps one entry per key
    assert len(g) == 2
    assert g.search(db1_templates["101_2"], top_k=1)[0][0] == "b"
    assert FingerprintGallery().search(db1_templates["101_2"]) == []


def test_prefilter_path_finds_the_mate_among_synthetic_distractors() -> None:
    rng = np.random.default_rng(7)
    g = FingerprintGallery(prefilter_k=20)
    members = [synthetic_template(rng) for _ in range(300)]
    for i, t in enumerate(members):
        g.add(f"s{i}", t)
    hits = sum(g.search(perturbed(members[i], rng), top_k=1)[0][0] == f"s{i}" for i in range(0, 300, 30))
    assert hits >= 8  # of 10


def test_signature_is_rotation_invariant_and_unit_length() -> None:
    rng = np.random.default_rng(3)
    t = synthetic_template(rng, n=40)
    a = np.radians(40)
    c, s = np.cos(a), np.sin(a)
    xy = t.xy.astype(np.float64)
    turned = FingerprintTemplate(np.stack([c * xy[:, 0] + s * xy[:, 1], -s * xy[:, 0] + c * xy[:, 1]], axis=1)
                                 + 500, t.angle + a, t.kind, t.minutia_quality, width=t.width, height=t.height,
                                 quality=t.quality)
    assert abs(float(np.linalg.norm(signature(t))) - 1.0) < 1e-5
    assert float(signature(t) @ signature(turned)) > 0.95


def test_run_search_bench_shape() -> None:
    out = run_search_bench(gallery=150, queries=4, seed=1)
    assert out["queries"] == 4 and out["gallery"] == 150
    assert out["median_ms"] is not None and out["p95_ms"] >= out["median_ms"] > 0
    assert 0.0 <= out["rank1_hit_rate"] <= 1.0


def test_workflow_galleries_search_fingers_through_the_gallery(db1_templates: dict[str, FingerprintTemplate]) -> None:
    """The enrolment duplicate check (``Galleries``) runs on ``FingerprintGallery``, the path the bench measures:
    the patient's own fingers are excluded, the threshold applies, and a deleted patient is gone."""
    from idverify.workflow.galleries import Galleries

    galleries = Galleries()
    for patient, finger in (("p1", "101"), ("p2", "102"), ("p3", "103")):
        galleries.add(f"t-{finger}", patient, "fingerprint", db1_templates[f"{finger}_1"].to_bytes())
    probe = db1_templates["101_2"]
    hits = galleries.finger_candidates(probe, exclude="p9", min_score=0.0)
    assert hits[0].patient_id == "p1" and len(hits) == 3
    assert [c.score for c in hits] == sorted((c.score for c in hits), reverse=True)
    assert all(c.modality == "fingerprint" for c in hits)
    assert "p1" not in {c.patient_id for c in galleries.finger_candidates(probe, exclude="p1", min_score=0.0)}
    assert galleries.finger_candidates(probe, exclude="p9", min_score=1.01) == []
    galleries.remove_patient("p1")
    assert "p1" not in {c.patient_id for c in galleries.finger_candidates(probe, exclude="p9", min_score=0.0)}
    assert len(galleries) == 2


def test_untouched_candidates_are_built_in_parallel_with_the_serial_result() -> None:
    """A search that touches many new candidates builds their descriptors on a thread pool first; they equal the
    ones built one by one, and so do the scores."""
    from idverify.biometrics.fingerprint import search
    from idverify.biometrics.fingerprint.match import descriptors, match

    rng = np.random.default_rng(11)
    members = [synthetic_template(rng) for _ in range(150)]
    g = FingerprintGallery(prefilter_k=100)
    for i, t in enumerate(members):
        g.add(f"s{i}", t)
    probe = perturbed(members[5], rng)
    hits = g.search(probe, top_k=100)
    assert len(hits) == 100 and search._BUILD_THREADS >= 1
    touched = [m for m in members if m._descriptor_cache is not None]
    assert len(touched) == 100  # the pre-filter's candidates, no others
    for key, score in hits[:20]:
        original = members[int(key[1:])]
        fresh = FingerprintTemplate(original.xy.copy(), original.angle.copy(), original.kind.copy(),
                                    original.minutia_quality.copy(), width=original.width, height=original.height,
                                    quality=original.quality)  # the same minutiae, no cache: built here, serially
        built, serial = descriptors(original), descriptors(fresh)
        assert np.array_equal(built.words, serial.words) and np.array_equal(built.geo, serial.geo)
        assert score == match(probe, fresh)
