"""`idverify bench pad` reports ISO/IEC 30107-3 rates as one JSON line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from idverify.cli import app


def test_bench_pad_json(shared_data: Path) -> None:
    folder = shared_data / "face" / "silentface_pad_samples"
    result = CliRunner().invoke(app, ["bench", "pad", "--dataset", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["attack_presentations"] == {"unspecified": 2} and summary["bona_fide_presentations"] == 1
    assert 0.0 <= summary["apcer_max"] <= 1.0 and 0.0 <= summary["bpcer"] <= 1.0


def test_bench_pad_missing_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "pad", "--dataset", str(tmp_path), "--json"])
    assert result.exit_code != 0
    assert json.loads(result.output.strip().splitlines()[-1])["error"]["code"] == "validation_error"
