"""Settings from environment and TOML, clear errors naming the setting, and the migration gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idverify.app import create_app
from idverify.config import load_settings
from idverify.errors import ConfigError, DatabaseNotMigrated
from idverify.logging import REDACTED, redact


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "idverify.toml"
    cfg.write_text('port = 9001\nclinic_name = "From file"\nfingerprint_baud = 115200\n')
    monkeypatch.setenv("IDVERIFY_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("IDVERIFY_PORT", "9002")
    settings = load_settings()
    assert settings.port == 9002
    assert settings.clinic_name == "From file"
    assert settings.fingerprint_baud == 115200


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDVERIFY_PORT", "eighty")
    with pytest.raises(ConfigError, match="IDVERIFY_PORT"):
        load_settings()
    monkeypatch.delenv("IDVERIFY_PORT")
    monkeypatch.setenv("IDVERIFY_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="IDVERIFY_DATABASE_URL"):
        load_settings()
    monkeypatch.delenv("IDVERIFY_DATABASE_URL")
    monkeypatch.setenv("IDVERIFY_CONFIG_FILE", "/nonexistent/idverify.toml")
    with pytest.raises(ConfigError, match="IDVERIFY_CONFIG_FILE"):
        load_settings()


def test_unknown_setting_in_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "idverify.toml"
    cfg.write_text("prot = 1\n")
    monkeypatch.setenv("IDVERIFY_CONFIG_FILE", str(cfg))
    with pytest.raises(ConfigError, match="IDVERIFY_PROT"):
        load_settings()


def test_plain_postgres_urls_use_psycopg3() -> None:
    assert load_settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"


def test_daemon_refuses_unmigrated_database(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(DatabaseNotMigrated, match="idverify db upgrade"):
        create_app(settings)


def test_healthz_and_metrics(make_app: Any) -> None:
    client = make_app().client()
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"]["status"] == "ok"
    metrics = client.get("/metrics").text
    assert 'idverify_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


def test_openapi_lists_versioned_routes(make_app: Any) -> None:
    spec = make_app().client().get("/openapi.json").json()
    assert "/api/v1/auth/login" in spec["paths"]
    assert all(p.startswith("/api/v1/") or p in {"/healthz", "/metrics"} for p in spec["paths"])


def test_log_redaction_processor() -> None:
    event = {"event": "x", "name": "张三", "document_number": "110101199003074578", "patient_id": "p-1"}
    out = redact(None, "info", event)
    assert out["name"] == REDACTED and out["document_number"] == REDACTED and out["patient_id"] == "p-1"


def test_logs_hold_no_credentials(make_app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from idverify.logging import configure_logging

    configure_logging("INFO", json=True)
    daemon = make_app()
    daemon.client().post("/api/v1/auth/login", json={"username": "nurse1", "password": daemon.passwords["nurse1"]})
    err = capsys.readouterr().err
    assert '"route": "/api/v1/auth/login"' in err
    assert daemon.passwords["nurse1"] not in err
    structlog.reset_defaults()


def test_demo_keeps_its_passwords_across_starts(tmp_path: Path) -> None:
    """Issue 17.12: a second start on the same data dir keeps (and returns, to be printed) the passwords written at
    the first; they still log in. Without the file, fresh ones."""
    from idverify.auth import service as auth_service
    from idverify.runtime import bootstrap_demo, demo_accounts_file
    from idverify.store.db import make_engine, make_session_factory

    settings = load_settings(data_dir=tmp_path, simulate=True)
    first = {a.username: a.password for a in bootstrap_demo(settings)}
    second = {a.username: a.password for a in bootstrap_demo(settings)}
    assert second == first and len(first) == 4
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as db:
            assert auth_service.check_credentials(db, "nurse1", first["nurse1"]).username == "nurse1"
    finally:
        engine.dispose()
    demo_accounts_file(tmp_path).unlink()
    assert {a.username: a.password for a in bootstrap_demo(settings)}["nurse1"] != first["nurse1"]
