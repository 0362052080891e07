"""The fingerprint benchmark's protocol and result shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idverify.bench.fingerprint import list_dataset, make_pairs, run_fingerprint_bench
from idverify.biometrics.fingerprint import ALGORITHM_VERSION
from idverify.errors import ValidationFailed


def _fake_fvc(folder: Path, fingers: int, impressions: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(101, 101 + fingers):
        for i in range(1, impressions + 1):
            (folder / f"{f}_{i}.tif").write_bytes(b"")
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_fvc_protocol_pair_counts(tmp_path: Path) -> None:
    images = list_dataset(_fake_fvc(tmp_path / "set", 10, 8))
    assert len(images) == 80
    genuine, impostor = make_pairs(images, "fvc")
    assert (len(genuine), len(impostor)) == (280, 45)
    genuine, impostor = make_pairs(images, "full")
    assert (len(genuine), len(impostor)) == (280, 2880)
    assert all(images[i].finger == images[j].finger and i < j for i, j in genuine)
    assert all(images[i].finger != images[j].finger for i, j in impostor)


def test_bad_dataset_and_protocol_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed):
        list_dataset(tmp_path / "missing")
    with pytest.raises(ValidationFailed):
        list_dataset(_fake_fvc(tmp_path / "one", 1, 3))
    with pytest.raises(ValidationFailed):
        make_pairs(list_dataset(_fake_fvc(tmp_path / "two", 2, 2)), "random")


def test_bench_on_a_small_real_subset(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "fingerprint" / "FVC2002_DB1_B"
    if not source.is_dir():
        pytest.skip("FVC sample set not found")
    subset = tmp_path / "subset"
    (subset / "iso").mkdir(parents=True)
    for f in (101, 102, 103):
        for i in (1, 2, 3):
            (subset / f"{f}_{i}.tif").symlink_to(source / f"{f}_{i}.tif")
            (subset / "iso" / f"{f}_{i}.iso").symlink_to(source / "iso" / f"{f}_{i}.iso")
    result = run_fingerprint_bench(subset, protocol="full")
    spec = result.as_spec()
    for key in ("modality", "dataset", "genuine", "impostor", "fta", "eer", "fmr100", "fmr1000", "zero_fmr",
                "extract_ms_median", "match_per_s", "peer"):
        assert key in spec
    assert (spec["genuine"], spec["impostor"], spec["fta"]) == (9, 27, 0)
    assert spec["modality"] == "fingerprint" and spec["dataset"] == "subset"
    assert 0.0 <= spec["eer"] <= 0.5 and spec["match_per_s"] > 0
    passes = spec["match_per_s_passes"]  # three timed passes with identical scores; the best one is the figure
    assert len(passes) == 3 and spec["match_per_s"] == pytest.approx(max(passes), abs=0.1)
    assert spec["iso_templates"]["missing"] == 0
    assert spec["algorithm_version"] == ALGORITHM_VERSION
    if spec["peer"] is None:
        assert any("peer" in n for n in spec["notes"])
    else:
        assert spec["peer"]["genuine"] == 9 and spec["peer"]["impostor"] == 27
        assert len(spec["peer"]["match_per_s_passes"]) == 3
    json.dumps(spec)  # the --json line must serialise
