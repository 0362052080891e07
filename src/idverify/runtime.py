"""Running the daemon: migrations, demo bootstrap, and uvicorn. Shared by ``idverify serve`` and ``idverify demo``.

The demo creates four accounts (two nurses — an override needs a second person — an IT administrator and an
inspector) with random passwords, prints them, and writes them to ``<data dir>/demo-accounts.json`` (mode 0600)
so scripts and browser tests can log in.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from idverify.auth import repository as auth_repo
from idverify.auth import service as auth_service
from idverify.auth.roles import Role
from idverify.config import Settings
from idverify.store.db import make_engine, make_session_factory, upgrade_database

DEMO_ACCOUNTS = (
    ("nurse1", "Nurse One (demo)", Role.NURSE),
    ("nurse2", "Nurse Two (demo)", Role.NURSE),
    ("itadmin", "IT Admin (demo)", Role.IT_ADMIN),
    ("inspector", "Inspector (demo)", Role.INSPECTOR),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


def bootstrap_demo(settings: Settings) -> list[DemoAccount]:
    """Migrate the demo database and (re)create the demo accounts with fresh passwords."""
    upgrade_database(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    accounts: list[DemoAccount] = []
    try:
        with make_session_factory(engine)() as db:
            for username, display, role in DEMO_ACCOUNTS:
                password = secrets.token_urlsafe(9)
                existing = auth_repo.get_staff_by_username(db, username)
                if existing is None:
                    auth_service.create_staff(db, username=username, display_name=display, role=role,
                                              password=password)
                else:
                    auth_service.update_staff(db, existing.id, password=password, active=True, role=role)
                accounts.append(DemoAccount(username, password, role.value))
            db.commit()
    finally:
        engine.dispose()
    path = settings.data_dir / "demo-accounts.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump([a.__dict__ for a in accounts], fh, indent=2)
    return accounts


def demo_accounts_file(data_dir: Path) -> Path:
    return data_dir / "demo-accounts.json"


def run_server(settings: Settings) -> None:
    """Build the app (which checks schema and keys) and serve it until interrupted."""
    from idverify.app import create_app
    from idverify.logging import configure_logging

    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                server_header=False, proxy_headers=False)
