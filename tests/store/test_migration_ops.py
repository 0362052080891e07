"""Operating the schema as a DBA would, on both databases: upgrades serialised by a lock, ``db current`` and
``db history``, offline SQL, a locked database told apart from an unmigrated one, and service definitions that
serve without migrating."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from idverify.cli import app as cli_app
from idverify.errors import IdverifyError
from idverify.store.db import (
    check_migrated,
    current_revisions,
    database_error,
    head_revisions,
    make_engine,
    migration_lock,
    upgrade_database,
)

REPO = Path(__file__).resolve().parents[2]


def _revisions(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return current_revisions(engine)
    finally:
        engine.dispose()


def test_upgrade_waits_for_the_lock_and_two_at_once_both_succeed(db_url: str) -> None:
    heads = head_revisions(db_url)
    errors: list[BaseException] = []

    def upgrade(url: str) -> None:
        try:
            upgrade_database(url)
        except BaseException as exc:  # reported by the assertions below
            errors.append(exc)

    with migration_lock(db_url):
        waiting = threading.Thread(target=upgrade, args=(db_url,))
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and _revisions(db_url) == set()  # nothing migrated while another holds the lock
    waiting.join(60)
    assert not waiting.is_alive() and errors == [] and _revisions(db_url) == heads

    # two workstations starting at once on a fresh database: one migrates, the other then finds nothing to do
    fresh = db_url.replace("idverify.db", "second.db") if db_url.startswith("sqlite") else None
    if fresh is None:
        engine = make_engine(db_url)
        with engine.begin() as conn:
            for table in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")):
                conn.execute(text(f'DROP TABLE "{table[0]}" CASCADE'))
            conn.execute(text("DROP FUNCTION IF EXISTS ledger_refuse_change()"))
        engine.dispose()
        fresh = db_url
    threads = [threading.Thread(target=upgrade, args=(fresh,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and _revisions(fresh) == heads


def test_a_locked_database_is_not_called_unmigrated(pg_schema_url: str) -> None:
    upgrade_database(pg_schema_url)
    holder = create_engine(pg_schema_url)
    impatient = make_engine(pg_schema_url + "%20-clock_timeout%3D200")
    try:
        with holder.connect() as conn:
            conn.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(IdverifyError) as err:
                check_migrated(impatient)
            conn.rollback()
    finally:
        holder.dispose()
        impatient.dispose()
    assert err.value.code == "database_busy" and "locked" in err.value.message


def test_sqlite_locked_and_missing_tables_are_told_apart() -> None:
    import sqlite3

    locked = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    missing = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: alembic_version"))
    unreachable = OperationalError("SELECT 1", {}, sqlite3.OperationalError("unable to open database file"))
    assert [database_error(e).code for e in (locked, missing, unreachable)] == [
        "database_busy", "database_not_migrated", "database_unavailable"]


def test_db_current_history_and_offline_sql(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDVERIFY_CONFIG_FILE", raising=False)
    env = {"IDVERIFY_DATA_DIR": str(tmp_path / "data"), "IDVERIFY_DATABASE_URL": db_url}
    runner = CliRunner()
    before = runner.invoke(cli_app, ["db", "current", "--json"], env=env)
    assert before.exit_code == 4 and json.loads(before.output.splitlines()[-1])["current"] == []
    history = json.loads(runner.invoke(cli_app, ["db", "history", "--json"], env=env).output.splitlines()[-1])
    assert {r["revision"] for r in history["revisions"]} >= {"0001", "ledger_0001"}
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    after = runner.invoke(cli_app, ["db", "current", "--json"], env=env)
    assert after.exit_code == 0 and json.loads(after.output.splitlines()[-1])["up_to_date"] is True

    sql = runner.invoke(cli_app, ["db", "upgrade", "--sql", "--from", "0003"], env=env)
    if db_url.startswith("sqlite"):
        assert sql.exit_code == 2 and "SQLite is migrated in place" in sql.output
    else:
        assert sql.exit_code == 0, sql.output
        assert "CREATE TABLE ledger_cosignatures" in sql.output and "CREATE TABLE patients" not in sql.output
        assert "'ledger rows are append-only (% on %)'" in sql.output  # a literal PL/pgSQL format, not %%


def test_service_definitions_serve_without_migrating() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    command = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert command == 'CMD ["idverify", "serve"]'
    unit = (REPO / "drivers" / "idverify.service").read_text(encoding="utf-8")
    exec_lines = [line for line in unit.splitlines() if line.startswith("Exec")]
    assert exec_lines == ["ExecStart=/opt/idverify/bin/idverify serve"]
