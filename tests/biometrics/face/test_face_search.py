"""1:N gallery: results equal brute force, updates keep rows consistent."""

from __future__ import annotations

import itertools
from pathlib import Path

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


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=3000), st.integers(1, 600))
@settings(max_examples=60, deadline=None)
def test_top_indices_are_the_highest_scores(values: list[int], count: int) -> None:
    """The sampled-threshold selection returns exactly the multiset of the highest scores (ties included)."""
    from idverify.biometrics.face.search import _top_indices

    scores = np.asarray(values, dtype=np.int32)
    top = _top_indices(scores, count)
    kk = min(count, scores.size)
    assert top.size == kk and np.unique(top).size == kk
    assert sorted(scores[top].tolist()) == sorted(scores.tolist())[scores.size - kk:]


def test_projection_weights_rank_like_the_projected_dot_product() -> None:
    """int8 codes · int8 weights orders rows like q · (x − mean) restricted to the principal axes."""
    from idverify.biometrics.face.search import Projection

    rng = np.random.default_rng(2)
    data = synthetic_templates(4000, seed=21)
    proj = Projection.fit(data, dims=16)
    assert proj.basis.shape == (128, 16)
    assert np.allclose(proj.basis.T @ proj.basis, np.eye(16), atol=1e-4)  # orthonormal axes
    q = data[5] + 0.02 * rng.standard_normal(128).astype(np.float32)
    coarse = proj.codes(data).astype(np.int64) @ proj.query_weights(q).astype(np.int64)
    projected = ((data - proj.mean) @ proj.basis) @ (proj.basis.T @ q)
    assert np.corrcoef(coarse, projected)[0, 1] > 0.99


def test_template_model_reproduces_the_cosines_of_its_source() -> None:
    """Templates sampled from a fitted model keep the genuine/impostor cosine gap of the encodings it was fitted on."""
    from idverify.biometrics.face.search import TemplateModel

    rng = np.random.default_rng(4)
    mean = rng.standard_normal(128) * 0.08
    centres = mean + 0.03 * rng.standard_normal((12, 128))
    encodings = np.vstack([c + 0.012 * rng.standard_normal((4, 128)) for c in centres])
    labels = [f"id{i // 4}" for i in range(48)]
    model = TemplateModel.fit(encodings, labels)
    sampled = model.centres(400, rng)
    a, b = model.captures(sampled, rng), model.captures(sampled, rng)
    genuine = float(np.mean(np.sum(a * b, axis=1)))
    impostor = float(np.mean(np.sum(a * np.roll(b, 1, axis=0), axis=1)))
    x = encodings / np.linalg.norm(encodings, axis=1, keepdims=True)
    real_genuine = float(np.mean([x[i] @ x[i + 1] for i in range(0, 48, 4)]))
    real_impostor = float(np.mean([x[i] @ x[(i + 4) % 48] for i in range(0, 48, 4)]))
    assert abs(genuine - real_genuine) < 0.05 and abs(impostor - real_impostor) < 0.05
    assert genuine > impostor
    with pytest.raises(ValidationFailed):
        TemplateModel.fit(encodings[:8], labels[:8])  # two identities only


def test_load_replaces_the_gallery_and_checks_its_shape() -> None:
    data = synthetic_templates(50, seed=31)
    g = FaceGallery()
    g.add("old", data[0])
    g.load([f"n{i}" for i in range(50)], data)
    assert len(g) == 50 and "old" not in g
    assert g.search(data[7], k=1)[0].template_id == "n7"
    g.add("extra", data[3])  # grows past the loaded rows
    assert len(g) == 51
    with pytest.raises(ValidationFailed):
        g.load(["a", "a"], data[:2])
    with pytest.raises(ValidationFailed):
        g.load(["a"], data[:2])


def test_coarse_copy_follows_growth_and_refits_when_the_gallery_doubles(monkeypatch: pytest.MonkeyPatch) -> None:
    from idverify.biometrics.face import search

    monkeypatch.setattr(search, "COARSE_MIN_ROWS", 500)
    data = synthetic_templates(2600, seed=41)
    g = FaceGallery(capacity=600)
    g.add_many((f"id{i}", v) for i, v in enumerate(data[:600]))
    assert g.search(data[10], k=1)[0].template_id == "id10"  # builds the coarse copy on 600 rows
    fitted = g._projection
    g.add_many((f"id{i}", v) for i, v in enumerate(data[600:1100], start=600))  # grows, codes kept incrementally
    assert g.search(data[1050], k=1)[0].template_id == "id1050"
    assert g._projection is fitted
    g.add_many((f"id{i}", v) for i, v in enumerate(data[1100:], start=1100))  # more than doubled: refit
    assert g.search(data[2500], k=1)[0].template_id == "id2500"
    assert g._projection is not fitted


def test_bench_search_cli_with_a_template_model(shared_data: Path, tmp_path: Path) -> None:
    """`idverify bench search --json --dataset …` (its documented keys), templates fitted on three sample identities."""
    import json
    import shutil

    from typer.testing import CliRunner

    from idverify.cli import app

    src = shared_data / "face" / "asian_dev"
    if not src.is_dir():
        pytest.skip("asian_dev missing")
    data = tmp_path / "faces"
    for person in ("cn_s2", "cn_s9", "cn_s10"):
        (data / person).mkdir(parents=True)
        for image in sorted((src / person).glob("*.jpg"))[:2]:
            shutil.copy(image, data / person)
    result = CliRunner().invoke(app, ["bench", "search", "--modality", "face", "--gallery", "2000", "--queries", "5",
                                      "--dataset", str(data), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"modality", "gallery", "queries", "median_ms", "p95_ms"}
    assert summary["gallery"] == 2000 and summary["queries"] == 5
    assert summary["top1_agrees_brute_force"] == 1.0  # below the coarse-scan size the search is exact
    assert "6 real encodings of 3 identities" in summary["notes"][0]
    bad = CliRunner().invoke(app, ["bench", "search", "--modality", "fingerprint", "--dataset", str(data), "--json"])
    assert bad.exit_code != 0
