"""Leave-one-dataset-out choice of the face alignment (``idverify.bench.lodo_face``): the held-out set never
chooses its own configuration, the grid holds face/1 first and the shipped face/2, and a configuration really
changes the encoding."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from idverify.bench import lodo_face
from idverify.biometrics.face.engine import SHIPPED, FaceConfig, FaceEngine


def _run(overlap: float, n: int = 120) -> lodo_face.FaceRun:
    rng = np.random.default_rng(round(overlap * 1000) + 7)
    return lodo_face.FaceRun(tuple(rng.uniform(0.9 - overlap, 1.0, n)), tuple(rng.uniform(0.5, 0.9, 4 * n)), 0)


def test_grid_starts_with_face1_and_holds_the_shipped_alignment() -> None:
    names = list(lodo_face.GRID)
    assert names[0] == "face/1"
    assert lodo_face.GRID["face/1"] == FaceConfig("face/1")  # one box, no replicated border
    assert lodo_face.GRID[SHIPPED.name] == SHIPPED


def test_the_held_out_set_is_judged_by_a_choice_made_without_it() -> None:
    # face/2 is far better on "asian" only; on the two other sets face/1 is a little better
    table = {"face/1": {"asian": _run(0.3), "west": _run(0.0), "small": _run(0.0)},
             "face/2": {"asian": _run(0.0), "west": _run(0.05), "small": _run(0.05)}}
    doc = lodo_face.report(table, ["asian", "west", "small"], "face/1")
    rows = {r["dataset"]: r for r in doc["leave_one_out"]}
    assert rows["asian"]["chosen"] == "face/1"  # chosen on west + small, although face/2 wins on asian
    assert rows["asian"]["eer"] == pytest.approx(rows["asian"]["baseline_eer"])
    assert rows["asian"]["eer"] > doc["configurations"]["face/2"]["asian"]["eer"]
    assert doc["shipped"] == "face/2"
    assert doc["configurations"]["face/1"]["asian"]["genuine"] == 120


def test_alignment_options_change_the_encoding(face_dir: Path, tmp_path: Path) -> None:
    src = face_dir / "face_recognition_examples"
    people = sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith("_"))[:2]
    for person in people:
        shutil.copytree(person, tmp_path / person.name)
    shipped = lodo_face.evaluate(SHIPPED, tmp_path)
    one_box = lodo_face.evaluate(FaceConfig("face/1"), tmp_path)
    assert len(shipped.genuine) == len(one_box.genuine) > 0
    assert all(-1.0 <= s <= 1.0 for s in shipped.genuine + shipped.impostor)
    assert shipped.genuine != one_box.genuine  # a different alignment gives different encodings
    # each alignment still tells these two people apart
    assert min(shipped.genuine) > max(shipped.impostor)
    assert min(one_box.genuine) > max(one_box.impostor)


def test_engine_keeps_the_configuration_it_was_built_with() -> None:
    cfg = FaceConfig("pad-0.3", landmark_box_scales=(0.9, 1.0, 1.1), region_margin=1.0, chip_padding=0.3)
    assert FaceEngine(cfg).config == cfg


def test_grid_names_and_the_printed_table(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from idverify.bench.lodo import grid_names, print_report

    parser = argparse.ArgumentParser()
    assert grid_names(parser, "face/1, face/2", lodo_face.GRID, 3) == ["face/1", "face/2"]
    with pytest.raises(SystemExit):
        grid_names(parser, "face/1,nonsense", lodo_face.GRID, 3)
    with pytest.raises(SystemExit):
        grid_names(parser, "face/1", lodo_face.GRID, 1)
    table = {"face/1": {"asian": _run(0.3), "west": _run(0.0), "small": _run(0.0)},
             "face/2": {"asian": _run(0.0), "west": _run(0.05), "small": _run(0.05)}}
    print_report(lodo_face.report(table, ["asian", "west", "small"], "face/1"), "engine.SHIPPED")
    out = capsys.readouterr().out
    assert "FNMR@1%" in out  # the face rows carry FNMR at FMR 1 %
    assert out.count("\nasian ") == 1 and "shipped (engine.SHIPPED): face/2" in out
