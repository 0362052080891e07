"""Tamper alarms on both databases: a copied column changed behind the daemon's back, an edit found by the next
checkpoint tick, ``/healthz`` turning 503 naming the ledger (and staying 200 for a device nobody configured), what
happens to audited writes while the ledger is broken, and ``audit check`` trusting only the clinic's key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from idverify.cli import app as cli_app
from idverify.ledger.append import append_many
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.proofs import create_checkpoint, latest_checkpoint
from idverify.ledger.scheduler import LedgerScheduler

PATIENT = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "测试女",
           "sex": "F", "birth_date": "1990-03-07"}


def _event(i: int, patient: str) -> dict[str, Any]:
    return {"type": "verification.completed", "occurred_at": "2026-12-01T09:30:00+08:00",
            "actor": {"staff_id": "staff-1", "role": "nurse", "workstation": "ws-a"},
            "subject": {"patient_id": patient, "cycle_id": "cycle-1"}, "data": {"n": i}}


def _append(daemon: Any, patients: list[str]) -> None:
    with daemon.app.state.ctx.session_factory() as db:
        append_many(db, [_event(i, p) for i, p in enumerate(patients)])
        db.commit()


def _rewrite(engine: Engine, sql: str, **params: Any) -> None:
    """What someone with database access does: bypass the append-only triggers and change a row."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_update"))
        else:
            conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)


def _scheduler(daemon: Any) -> LedgerScheduler:
    sched = daemon.app.state.ctx.subsystem("ledger")
    assert isinstance(sched, LedgerScheduler)
    return sched


def test_a_changed_patient_id_column_is_found_by_every_check(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    _append(daemon, ["p-1", "p-2", "p-3"])
    sched = _scheduler(daemon)
    sched.tick()
    inspector, _ = daemon.login("inspector")
    assert [e["index"] for e in inspector.get("/api/v1/audit/events?patient_id=p-2").json()["items"]] == [1]
    assert inspector.get("/api/v1/audit/integrity").json()["ok"] is True

    # Only the copied column changes: the leaf, its hash and every node stay as signed.
    _rewrite(daemon.app.state.ctx.engine, "UPDATE ledger_entries SET patient_id = 'p-9' WHERE idx = 1")
    assert inspector.get("/api/v1/audit/events?patient_id=p-2").json()["items"] == []  # what the edit achieves
    report = inspector.get("/api/v1/audit/integrity").json()
    assert report["ok"] is False and report["first_bad_index"] == 1
    assert report["problems"] == ["entry 1: patient_id column(s) differ from the signed content"]
    assert not sched.check_now().ok
    health = daemon.client().get("/healthz")
    assert health.status_code == 503 and health.json()["failing"] == ["audit ledger"]


def test_an_edit_is_found_before_the_next_checkpoint_and_writes_go_on_unsigned(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url, integrity_check_interval_s=3600)
    engine = daemon.app.state.ctx.engine
    sched = _scheduler(daemon)
    _append(daemon, ["p-1", "p-2"])
    sched.tick()  # first tick: the full check, then a checkpoint over both entries
    assert sched.last_report is not None and sched.last_report.scope == "full" and sched.last_report.ok
    _append(daemon, ["p-3", "p-4"])
    sched.tick()  # only the two new entries are read
    assert sched.last_report.scope == "new entries" and sched.last_report.ok
    health = daemon.client().get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"

    _append(daemon, ["p-5"])
    _rewrite(engine, "UPDATE ledger_entries SET event_type = 'login.succeeded' WHERE idx = 4")
    sched.tick()  # the edit is found by the incremental check, and nothing is signed over it
    assert sched.last_report.scope == "new entries" and not sched.last_report.ok
    with daemon.app.state.ctx.session_factory() as db:
        signed = latest_checkpoint(db)
        assert signed is not None and signed.tree_size == 4
    body = daemon.client().get("/healthz").json()
    assert body["status"] == "error" and body["failing"] == ["audit ledger"]
    ledger = next(c for c in body["components"] if c["kind"] == "ledger")
    assert ledger["detail"].startswith("tampered or damaged: entry 4: event_type")

    # Audited writes continue and are recorded; the checkpoint stays withheld while the ledger is broken.
    nurse, csrf = daemon.login("nurse1")
    created = nurse.post("/api/v1/patients", json=PATIENT, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    with engine.connect() as conn:
        types = [r[0] for r in conn.execute(text("SELECT event_type FROM ledger_entries WHERE idx > 4"))]
    assert "patient.registered" in types
    assert sched.checkpoint_now() is None

    # Restored from a backup: the next full check clears the alarm and checkpoints resume.
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET event_type = 'verification.completed' WHERE idx = 4"))
    assert sched.check_now().ok
    assert daemon.client().get("/healthz").status_code == 200
    size = sched.checkpoint_now()
    assert size is not None and size > 5


def test_an_edit_inside_the_verified_prefix_is_found_by_the_full_check(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    sched = _scheduler(daemon)
    _append(daemon, [f"p-{i}" for i in range(8)])
    sched.tick()
    _rewrite(daemon.app.state.ctx.engine, "UPDATE ledger_entries SET canonical = replace(canonical, 'p-2', 'p-7'), "
             "patient_id = 'p-7' WHERE idx = 2")
    assert sched.check_now().first_bad_index == 2
    assert daemon.client().get("/healthz").status_code == 503


def test_a_device_nobody_configured_does_not_degrade_health(make_app: Any) -> None:
    from idverify.config import load_settings
    from idverify.devices.manager import DeviceManager
    from idverify.subsystems import DeviceSubsystem

    daemon = make_app()
    manager = DeviceManager(load_settings(data_dir=daemon.settings.data_dir, simulate=False))
    daemon.app.state.ctx.subsystems.append(DeviceSubsystem(manager))
    body = daemon.client().get("/healthz")
    assert body.status_code == 200 and body.json()["status"] == "ok"
    assert {d["status"] for d in body.json()["devices"]} == {"not_configured"}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDVERIFY_CONFIG_FILE", raising=False)
    return {"IDVERIFY_DATA_DIR": str(tmp_path / "cli-data")}


def test_audit_check_trusts_the_configured_key_not_the_row(db_url: str, cli_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    from idverify.store.db import make_engine, make_session_factory, upgrade_database

    env = cli_env | {"IDVERIFY_DATABASE_URL": db_url}
    upgrade_database(db_url)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["audit", "checkpoint", "--json"], env=env).exit_code == 0
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as db:
            append_many(db, [_event(0, "p-1")])
            # a checkpoint that verifies with the key stored beside it — someone else's key
            create_checkpoint(db, CheckpointSigner.from_file(tmp_path / "other.key"))
            db.commit()
    finally:
        engine.dispose()
    res = runner.invoke(cli_app, ["audit", "check", "--json"], env=env)
    assert res.exit_code == 3, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert any("not this clinic's" in p for p in summary["problems"])
