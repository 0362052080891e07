"""``idverify audit report``: the monthly report to a file, recorded in the ledger; the error JSON on misuse."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from idverify.cli import app
from idverify.ledger.models import LedgerEntry

from . import seeding


def test_cli_writes_pdf_csv_json_and_records_each(make_app: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = make_app()
    seeded = seeding.seed(daemon)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDVERIFY_CONFIG_FILE", raising=False)
    s = daemon.settings
    env = {"IDVERIFY_DATA_DIR": str(s.data_dir), "IDVERIFY_DATABASE_URL": s.resolved_database_url,
           "IDVERIFY_WORKSTATION_ID": "ws-cli"}
    runner = CliRunner()
    for fmt in ("pdf", "csv", "json"):
        out = tmp_path / f"report.{fmt}"
        res = runner.invoke(app, ["audit", "report", "--month", seeding.MONTH, "--format", fmt, "--out", str(out),
                                  "--json"], env=env)
        assert res.exit_code == 0, res.output
        summary = json.loads(res.output.strip().splitlines()[-1])
        assert summary["checks"] == len(seeding.in_month()) and summary["format"] == fmt
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "report.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with (tmp_path / "report.csv").open(encoding="utf-8-sig") as fh:
        assert next(csv.reader(fh)) == ["section", "key", "metric", "value", "label"]
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["checks"]["by_decision"] == {"accept": 4, "reject": 3, "retry": 1}
    assert doc["staff"][0]["staff_id"] in seeded.staff.values()
    with daemon.app.state.ctx.session_factory() as db:
        events = [json.loads(e.canonical)["event"] for e in
                  db.scalars(select(LedgerEntry).where(LedgerEntry.event_type == "export.created"))]
    assert [(e["actor"]["role"], e["actor"]["workstation"], e["data"]["format"]) for e in events] == [
        ("cli", "ws-cli", "monthly.pdf"), ("cli", "ws-cli", "monthly.csv"), ("cli", "ws-cli", "monthly.json")]
    bad = runner.invoke(app, ["audit", "report", "--month", "2026-13", "--out", str(tmp_path / "x"), "--json"],
                        env=env)
    assert bad.exit_code == 2  # a wrong argument: usage
    assert json.loads(bad.output.strip().splitlines()[-1])["error"]["code"] == "bad_month"
