"""`idverify bench ledger` at a tiny size: the documented keys are present and the figures are real measurements."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from idverify.cli import app

SUMMARY_KEYS = {"events", "backend", "appends_per_s", "inclusion_proof_ms", "consistency_proof_ms", "verify_s"}


def test_bench_ledger_json_on_sqlite() -> None:
    res = CliRunner().invoke(app, ["bench", "ledger", "--events", "260", "--batch", "20", "--json"])
    assert res.exit_code == 0, res.output
    spec = json.loads(res.output.strip().splitlines()[-1])
    assert set(spec) >= SUMMARY_KEYS
    assert spec["events"] == 260 and spec["backend"] == "sqlite" and spec["batch"] == 20
    for key in ("appends_per_s", "single_appends_per_s", "inclusion_proof_ms", "consistency_proof_ms", "verify_s"):
        assert spec[key] > 0, key


def test_bench_ledger_rejects_unknown_backend() -> None:
    res = CliRunner().invoke(app, ["bench", "ledger", "--events", "5", "--backend", "oracle", "--json"])
    assert res.exit_code != 0
    assert json.loads(res.output.strip().splitlines()[-1])["error"]["code"] == "validation_error"
