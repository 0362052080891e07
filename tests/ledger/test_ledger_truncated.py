"""A ledger whose tail was cut off (rows and nodes deleted behind the daemon's back), on both databases: the CLI
export stops with one line naming the problem and a non-zero exit, the daemon answers 409 ``ledger_damaged`` —
never a traceback, a 500, a shorter tree quietly re-signed, or a new event at an index signed for a deleted one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from idverify.cli import app as cli_app
from idverify.ledger.append import append_many


def _truncate(engine: Any, keep: int, *, nodes_below: int) -> None:
    """Delete entries from ``keep`` on and every node reaching past ``nodes_below``."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for table in ("ledger_entries", "ledger_nodes"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        else:
            conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE ledger_nodes DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM ledger_entries WHERE idx >= :k"), {"k": keep})
        conn.execute(text("DELETE FROM ledger_nodes WHERE (idx + 1) * power(2, level) > :n")
                     if engine.dialect.name == "postgresql" else
                     text("DELETE FROM ledger_nodes WHERE ((idx + 1) << level) > :n"), {"n": nodes_below})


@pytest.mark.parametrize("nodes_below", [15, 12], ids=["tail-only", "frontier-too"])
def test_a_truncated_ledger_is_a_one_line_error(db_url: str, make_app: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, nodes_below: int) -> None:
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    with ctx.session_factory() as db:
        append_many(db, [{"type": "test.event", "occurred_at": "2026-12-01T10:00:00+00:00",
                          "actor": {"staff_id": None, "role": "system", "workstation": "ws-a"}, "subject": {},
                          "data": {"n": i}} for i in range(20)])
        db.commit()
    ctx.subsystem("ledger").tick()
    inspector, csrf = daemon.login("inspector")
    _truncate(ctx.engine, 15, nodes_below=nodes_below)

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDVERIFY_CONFIG_FILE", raising=False)
    env = {"IDVERIFY_DATA_DIR": str(daemon.settings.data_dir), "IDVERIFY_DATABASE_URL": db_url}
    out = tmp_path / "audit.jsonl"
    res = CliRunner().invoke(cli_app, ["audit", "export", "--out", str(out)], env=env)
    assert res.exit_code == 3 and isinstance(res.exception, SystemExit), res.output  # an exit, not a traceback
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error [ledger_damaged]: the audit ledger"), res.output
    assert "missing" in lines[0] and not out.exists()

    export = inspector.get("/api/v1/audit/export?format=jsonl")
    assert export.status_code == 409 and export.json()["error"]["code"] == "ledger_damaged", export.text
    signed = inspector.post("/api/v1/audit/checkpoints", headers={"X-CSRF-Token": csrf})
    assert signed.status_code == 409 and signed.json()["error"]["code"] == "ledger_damaged"
    # an audited write cannot be appended either: it would take an index already signed for a deleted entry
    nurse = daemon.client().post("/api/v1/auth/login", json={"username": "nurse1",
                                                              "password": daemon.passwords["nurse1"]})
    assert nurse.status_code == 409 and nurse.json()["error"]["code"] == "ledger_damaged"
    check = CliRunner().invoke(cli_app, ["audit", "check"], env=env)
    assert check.exit_code == 3 and "entries but only 15 exist" in check.output
