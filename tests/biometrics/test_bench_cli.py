"""`idverify bench fingerprint|face --json --plot`: one JSON object with the documented keys on the last line of
stdout, the table on stderr, and the DET plot written — on a two-identity slice of the sample sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idverify.cli import app

SUMMARY_KEYS = {"modality", "dataset", "genuine", "impostor", "fta", "eer", "fmr100", "fmr1000", "zero_fmr",
             "extract_ms_median", "match_per_s", "peer"}


def _run(args: list[str]) -> dict[str, object]:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines  # table and logs (the engines' load lines) go to stderr, not before the JSON
    summary: dict[str, object] = json.loads(lines[0])
    return summary


def test_bench_fingerprint_cli(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "fingerprint" / "FVC2002_DB1_B"
    data = tmp_path / "fvc"
    data.mkdir()
    for finger in ("101", "102"):
        for impression in (1, 2, 3):
            shutil.copy(src / f"{finger}_{impression}.tif", data)
    plot = tmp_path / "det.png"
    summary = _run(["bench", "fingerprint", "--dataset", str(data), "--protocol", "full", "--no-peer", "--json",
                    "--plot", str(plot)])
    assert set(summary) >= SUMMARY_KEYS
    assert summary["modality"] == "fingerprint" and summary["peer"] is None
    assert summary["genuine"] == 6 and summary["impostor"] == 9  # 2 x C(3,2); 3 x 3 cross-finger pairs
    assert plot.is_file() and plot.read_bytes()[:4] == b"\x89PNG"


def test_bench_face_cli(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "face" / "asian_dev"
    if not src.is_dir():
        pytest.skip("asian_dev missing")
    data = tmp_path / "faces"
    for person in ("cn_s2", "cn_s10"):
        (data / person).mkdir(parents=True)
        for image in sorted((src / person).glob("*.jpg"))[:2]:
            shutil.copy(image, data / person)
    summary = _run(["bench", "face", "--dataset", str(data), "--no-peer", "--json"])
    assert set(summary) >= SUMMARY_KEYS
    assert summary["modality"] == "face" and summary["genuine"] == 2 and summary["impostor"] == 4
