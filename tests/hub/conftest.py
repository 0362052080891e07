"""Hub fixtures: a migrated hub (SQLite and PostgreSQL through ``db_url``), an in-memory clinic log that signs
checkpoints and builds RFC 6962 proofs, and a registered clinic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .memlog import MemoryLog

__all__ = ["Hub", "MemoryLog"]


@dataclass
class Hub:
    app: Any
    settings: Any
    url: str

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    @property
    def ctx(self) -> Any:
        return self.app.state.hub

    def session(self) -> Any:
        return self.ctx.session_factory()

    def register(self, log: MemoryLog, name: str = "Clinic") -> str:
        return self.register_key(log.signer, name)

    def register_key(self, signer: Any, name: str = "Clinic") -> str:
        from idverify.hub.clinics import add_clinic
        from idverify.ledger.checkpoint import verifier_key

        with self.session() as s:
            clinic = add_clinic(s, name=name, verifier=verifier_key(signer.origin, signer.public_key))
            s.commit()
            return str(clinic.id)


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    hubs: list[Hub] = []

    def factory(db_url: str | None = None, **overrides: Any) -> Hub:
        from idverify.config import load_hub_settings
        from idverify.hub.app import create_hub_app
        from idverify.hub.db import upgrade_hub_database

        data_dir = tmp_path / f"hub-{len(hubs)}"
        url = db_url or f"sqlite:///{data_dir / 'hub.db'}"
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = load_hub_settings(data_dir=data_dir, database_url=url, **overrides)
        upgrade_hub_database(url)
        hub = Hub(create_hub_app(settings), settings, url)
        hubs.append(hub)
        return hub

    yield factory
    for hub in hubs:
        hub.ctx.engine.dispose()


@pytest.fixture
def hub_db_url(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> str:
    """The ``db_url`` fixture (SQLite and PostgreSQL) under a name that says which database it is."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return db_url
