"""Running the daemon: migrations, demo bootstrap, and uvicorn. Shared by ``idverify serve`` and ``idverify demo``.

The demo creates four accounts (two nurses — an override needs a second person — an IT administrator and an
inspector) with random passwords, prints them, and writes them to ``<data dir>/demo-accounts.json`` (mode 0600)
so scripts and browser tests can log in. A later start on the same data dir keeps the passwords written there
(and prints them again): people who wrote them down, and scripts that read the file, are not locked out.
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

#: the demo's staff, named as a Chinese clinic's would be (names are data: screens show them as they are)
DEMO_ACCOUNTS = (
    ("nurse1", "护士一（演示）", Role.NURSE),
    ("nurse2", "护士二（演示）", Role.NURSE),
    ("itadmin", "信息科管理员（演示）", Role.IT_ADMIN),
    ("inspector", "监督员（演示）", Role.INSPECTOR),
)
#: the demo's clinic name unless IDVERIFY_CLINIC_NAME (or the settings file) names one
DEMO_CLINIC_NAME = "演示生殖医学中心"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


def _kept_passwords(path: Path) -> dict[str, str]:
    """The passwords an earlier start wrote to the data dir (none when the file is missing or unreadable)."""
    try:
        return {str(a["username"]): str(a["password"]) for a in json.loads(path.read_text(encoding="utf-8"))
                if a.get("password")}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def bootstrap_demo(settings: Settings) -> list[DemoAccount]:
    """Migrate the demo database and (re)create the demo accounts, with the passwords kept in the data dir from
    an earlier start, or fresh ones."""
    upgrade_database(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    accounts: list[DemoAccount] = []
    kept = _kept_passwords(demo_accounts_file(settings.data_dir))
    try:
        with make_session_factory(engine)() as db:
            for username, display, role in DEMO_ACCOUNTS:
                password = kept.get(username) or secrets.token_urlsafe(9)
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
    path = demo_accounts_file(settings.data_dir)
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
