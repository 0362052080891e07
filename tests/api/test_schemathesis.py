"""Property-based run of the whole OpenAPI schema against the in-process app: no input may cause a server
error, and every error body must be the ``{"error": …}`` envelope. Bounded examples keep it to seconds.

This daemon has no devices configured, so device endpoints answer 503/504 with a device error code
(``device_unavailable`` …): the documented answer for "the hardware is not there", not a server fault. Any other
5xx fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from idverify.app import create_app
from idverify.auth import service
from idverify.auth.roles import Role
from idverify.config import load_settings
from idverify.store.db import make_engine, make_session_factory, upgrade_database

_TOKENS: dict[str, str] = {}
DEVICE_CODES = {"device_unavailable", "device_timeout", "capture_timeout", "no_frame"}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    cfg = load_settings(data_dir=data_dir, workstation_id="ws-fuzz")
    upgrade_database(cfg.resolved_database_url)
    engine = make_engine(cfg.resolved_database_url)
    with make_session_factory(engine)() as db:
        staff = service.create_staff(db, username="fuzzadmin", display_name="F", role=Role.IT_ADMIN,
                                     password="fuzz-password-1")
        for role in Role:
            _TOKENS[role.value] = service.create_api_key(db, name=f"fuzz-{role.value}", role=role,
                                                         created_by=staff.id, workstation_id=None,
                                                         expires_in_days=1).token
        db.commit()
    engine.dispose()
    app = create_app(cfg)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.ctx.engine.dispose()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any) -> None:
    for role in ("it_admin", "nurse", "inspector"):
        response = case.call(headers={"Authorization": f"Bearer {_TOKENS[role]}"})
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"} and {"code", "message", "message_key", "details"} <= set(body["error"]), body
            if response.status_code >= 500:
                assert response.status_code in (503, 504) and body["error"]["code"] in DEVICE_CODES, (
                    role, case.method, case.path, response.status_code, response.text[:300])
