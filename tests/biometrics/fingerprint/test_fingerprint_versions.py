"""Stored templates of an earlier extractor against the shipped one's captures: the scoring the bench reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idverify.bench import fingerprint_versions as fv
from idverify.bench import lodo_fingerprint as lodo
from idverify.biometrics.fingerprint.extract import SHIPPED


def test_rates_at_the_threshold_count_accepts_at_or_above_it() -> None:
    r = fv.rates([0.5, 0.6, 0.02], [0.0, 0.03, 0.01, 0.001], threshold=0.03)
    assert (r.genuine, r.impostor) == (3, 4)
    assert r.fmr_at_threshold == pytest.approx(0.25)  # 0.03 itself is accepted
    assert r.fnmr_at_threshold == pytest.approx(1 / 3)
    assert 0.0 < r.eer < 0.5


def test_three_scorings_of_a_small_set(fvc_db1: Path, tmp_path: Path) -> None:
    ds = tmp_path / "mini"
    ds.mkdir()
    for finger in (101, 102):
        for imp in (1, 2, 3):
            shutil.copy(fvc_db1 / f"{finger}_{imp}.tif", ds)
    row = fv.compare(ds, "fp/1.2", threshold=0.03)

    # the shipped-shipped row is exactly what the LODO evaluation of the shipped configuration scores
    run = lodo.evaluate(SHIPPED, ds)
    same = fv.rates(run.genuine, run.impostor, 0.03)
    assert row["new-new"]["eer"] == same.eer
    assert row["new-new"]["fnmr_at_threshold"] == same.fnmr_at_threshold
    assert row["new-new"]["genuine"] == 6  # two fingers, three impressions: 2 × C(3, 2)
    assert row["new-new"]["impostor"] == 9  # 3 × 3 cross-finger pairs
    # mixed versions: each pair both ways round (either image may be the stored one)
    assert row["old-new"]["genuine"] == 12
    assert row["old-new"]["impostor"] == 18
    assert row["old-old"]["genuine"] == 6
    # same finger, different versions still match: the template format did not change
    assert row["old-new"]["fnmr_at_threshold"] < 0.5


def test_a_failed_capture_scores_zero_on_either_side() -> None:
    assert fv.cross_scores([None, None], [None, None], [(0, 1)], both_ways=True) == [0.0, 0.0]
    assert fv.cross_scores(["enrolled", None], [None, "probe"], [(1, 0)], both_ways=False) == [0.0]


def test_the_stored_side_is_named_by_release_and_defaults_to_the_one_before_the_shipped_one() -> None:
    assert fv.PREVIOUS == "fp/1.4"
    assert fv.configuration("fp/1.4") == lodo.RELEASES["fp/1.4"] != SHIPPED
    assert fv.configuration("local-hull41") is lodo.GRID["local-hull41"]  # grid entries still work
