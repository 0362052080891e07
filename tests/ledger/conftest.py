"""Ledger fixtures: a migrated SQLite database per test, a scratch PostgreSQL schema, a signing key."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from idverify.ledger.bench import LEDGER_REVISION, with_search_path
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.store.db import make_engine, make_session_factory, upgrade_database

POSTGRES_URL = os.environ.get("IDVERIFY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

EventFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_event() -> EventFactory:
    def factory(i: int = 0, *, etype: str = "verification.completed", patient: str | None = None,
                occurred_at: str = "2026-11-23T09:30:00+08:00", **data: Any) -> dict[str, Any]:
        return {
            "type": etype,
            "occurred_at": occurred_at,
            "actor": {"staff_id": f"staff-{i % 3}", "role": "nurse", "workstation": "ws-1"},
            "subject": {"patient_id": patient or f"patient-{i}", "cycle_id": "cycle-1"},
            "data": {"n": i, "decision": "accept", **data},
        }

    return factory


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once per session; each test gets a copy (Alembic per test would dominate the run time)."""
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    upgrade_database(f"sqlite:///{path}", LEDGER_REVISION)
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _migrated_template: Path) -> str:
    target = tmp_path / "ledger.db"
    shutil.copyfile(_migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def signer(tmp_path: Path) -> CheckpointSigner:
    return CheckpointSigner.from_file(tmp_path / "keys" / "ledger.key")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated scratch schema on the test PostgreSQL server, dropped afterwards."""
    probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not available here"
        probe.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    schema = f"ledger_test_{uuid.uuid4().hex[:10]}"
    with probe.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = with_search_path(POSTGRES_URL, schema)
        upgrade_database(url, LEDGER_REVISION)
        yield url
    finally:
        with probe.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        probe.dispose()
