"""Shared fixtures.

- ``shared_data``: the public sample data beside the repository (never inside it); skips visibly when absent.
- ``db_url``: every storage/API test runs twice, on SQLite (always) and on the real PostgreSQL server
  (``IDVERIFY_TEST_POSTGRES_URL``, default 127.0.0.1:5432/test) in a throwaway schema; the PostgreSQL run is
  skipped with the reason shown only when no server answers.
- ``make_app``: a migrated daemon on a temp data dir, with helpers to log in as each role.
- ``browser``: Debian's chromium driven by Playwright, one per test module for the clinic UI's and the hub's
  browser tests: two sync Playwright instances cannot be alive in one process, and a live one keeps an event loop
  running that makes every later ``asyncio.run`` of the session fail — so it never outlives its module.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("IDVERIFY_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
POSTGRES_URL = os.environ.get("IDVERIFY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$IDVERIFY_SHARED_DATA``."""
    return Path(os.environ.get("IDVERIFY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"public sample data not found at {path} (set IDVERIFY_SHARED_DATA)")
    return path


_pg_state: dict[str, str | None] = {}


def postgres_unavailable_reason() -> str | None:
    """None when the test PostgreSQL server answers, else why not (checked once per run)."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
                _pg_state["reason"] = None
        except Exception as exc:  # any failure means "not reachable here"
            _pg_state["reason"] = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}: {exc}"
    return _pg_state["reason"]


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from sqlalchemy import create_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'idverify.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@dataclass
class Daemon:
    """A migrated app plus the staff accounts made for it."""

    app: Any
    settings: Any
    passwords: dict[str, str]

    def client(self) -> Any:
        from fastapi.testclient import TestClient

        return TestClient(self.app, raise_server_exceptions=False)

    def login(self, username: str) -> tuple[Any, str]:
        """A client logged in as ``username`` and its CSRF token."""
        client = self.client()
        resp = client.post("/api/v1/auth/login", json={"username": username, "password": self.passwords[username]})
        assert resp.status_code == 200, resp.text
        token: str = resp.json()["csrf_token"]
        return client, token


STAFF = {"nurse1": "nurse", "nurse2": "nurse", "admin": "it_admin", "inspector": "inspector"}


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    engines: list[Any] = []

    def factory(db_url: str | None = None, **overrides: Any) -> Daemon:
        from idverify.app import create_app
        from idverify.auth import service
        from idverify.auth.roles import Role
        from idverify.config import load_settings
        from idverify.store.db import make_engine, make_session_factory, upgrade_database

        data_dir = tmp_path / f"data-{len(engines)}"
        url = db_url or f"sqlite:///{data_dir / 'idverify.db'}"
        settings = load_settings(data_dir=data_dir, database_url=url, workstation_id="ws-a", **overrides)
        data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_database(url)
        engine = make_engine(url)
        engines.append(engine)
        passwords = {}
        with make_session_factory(engine)() as db:
            for username, role in STAFF.items():
                password = f"pw-{username}-0123456789"
                service.create_staff(db, username=username, display_name=username.title(), role=Role(role),
                                     password=password)
                passwords[username] = password
            db.commit()
        app = create_app(settings)
        engines.append(app.state.ctx.engine)
        return Daemon(app=app, settings=settings, passwords=passwords)

    yield factory
    for engine in engines:
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)) and not shutil.which(str(CHROMIUM)):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
