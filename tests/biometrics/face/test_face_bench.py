"""bench face: dataset layout rules, pair protocol, and a small end-to-end run against the peer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from idverify.bench.face import Extraction, list_dataset, make_pairs, run_face_bench, score_pairs
from idverify.errors import ValidationFailed


def test_pairs_protocol_and_sampling() -> None:
    labels = ["a", "a", "a", "b", "b", "c"]
    gen, imp, sampled = make_pairs(labels)
    assert len(gen) == 3 + 1 and len(imp) == 15 - 4 and not sampled
    assert all(labels[i] == labels[j] for i, j in gen)
    assert all(labels[i] != labels[j] for i, j in imp)
    gen2, imp2, sampled2 = make_pairs(labels, max_impostors=5, seed=1)
    assert sampled2 and len(imp2) == 5 and len(gen2) == 4
    assert np.array_equal(imp2, make_pairs(labels, max_impostors=5, seed=1)[1])  # seeded


def test_failed_extractions_score_as_non_matches() -> None:
    e = np.ones(4) / 2
    ext = Extraction([e, None, e], [1.0, 1.0, 1.0])
    scores = score_pairs(ext, np.array([[0, 1], [0, 2]]), peer=False)
    assert scores[0] == -1.0 and scores[1] == pytest.approx(1.0)
    assert ext.fta == 1
    peer = score_pairs(ext, np.array([[0, 1], [0, 2]]), peer=True)
    assert peer[0] == -10.0 and peer[1] == pytest.approx(0.0)


def test_dataset_layout(tmp_path: Path) -> None:
    (tmp_path / "p1").mkdir()
    (tmp_path / "_multi").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "p1" / "a.jpg").write_bytes(b"x")
    (tmp_path / "_multi" / "b.jpg").write_bytes(b"x")
    with pytest.raises(ValidationFailed):
        list_dataset(tmp_path)  # only one identity
    (tmp_path / "p2").mkdir()
    (tmp_path / "p2" / "c.png").write_bytes(b"x")
    (tmp_path / "p2" / "notes.txt").write_text("x")
    assert [(i.identity, i.path.name) for i in list_dataset(tmp_path)] == [("p1", "a.jpg"), ("p2", "c.png")]


def test_small_run_against_the_peer(face_dir: Path, tmp_path: Path) -> None:
    src = face_dir / "face_recognition_examples"
    for ident, files in {"barack_obama": ["examples__obama-720p.jpg", "tests__test_images__obama3.jpg"],
                         "joe_biden": ["examples__biden.jpg", "examples__knn_examples__train__biden__biden2.jpg"],
                         "kit_harington": ["examples__knn_examples__train__kit_harington__john1.jpeg"]}.items():
        (tmp_path / ident).mkdir()
        for f in files:
            shutil.copy(src / ident / f, tmp_path / ident / f)
    # a picture with no face counts as a failure to acquire, for both systems
    from PIL import Image

    Image.new("RGB", (320, 240), (120, 120, 120)).save(tmp_path / "kit_harington" / "blank.jpg")
    result = run_face_bench(tmp_path, progress=False)
    spec = result.as_spec()
    json.dumps(spec)
    for key in ("modality", "dataset", "genuine", "impostor", "fta", "eer", "fmr100", "fmr1000", "zero_fmr",
                "extract_ms_median", "match_per_s", "peer"):
        assert key in spec
        assert key == "peer" or key in spec["peer"]
    assert spec["modality"] == "face"
    assert spec["genuine"] == 3 and spec["impostor"] == 12
    assert spec["fta"] == 1 and spec["peer"]["fta"] == 1
    assert spec["peer"]["genuine"] == 3
    # the blank picture's genuine pair is a guaranteed miss; every other genuine pair must beat every impostor
    ours = result.ours
    assert np.sort(np.asarray(ours.genuine))[1] > np.max(np.asarray(ours.impostor)[np.asarray(ours.impostor) > -1])
    assert spec["match_per_s"] > 0 and spec["extract_ms_median"] > 0
    # the live-capture cost on camera-sized frames, for both systems, every image timed (the blank one too)
    for run in (spec, spec["peer"]):
        assert run["frame_size"] == "640x480" and run["frames"] == 6
        assert run["frame_ms_median"] > 0 and run["frame_wall_ms_median"] > 0


def test_bench_search_cli_prints_spec_json() -> None:
    from typer.testing import CliRunner

    from idverify.cli import app

    result = CliRunner().invoke(app, ["bench", "search", "--modality", "face", "--gallery", "2000",
                                      "--queries", "5", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["modality"] == "face" and summary["gallery"] == 2000 and summary["queries"] == 5
    assert summary["median_ms"] <= summary["p95_ms"]
    bad = CliRunner().invoke(app, ["bench", "search", "--modality", "iris", "--json"])
    assert bad.exit_code != 0
    assert json.loads(bad.stdout.strip().splitlines()[-1])["error"]["code"] == "validation_error"
