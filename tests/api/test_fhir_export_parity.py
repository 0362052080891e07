"""``--format fhir`` on the command line and ``format=fhir`` over REST are the same document — one FHIR Bundle —
and ``fhir-ndjson`` is one AuditEvent per line in both, in R5 and in R4 (issue 16.13). Every document is parsed
with ``fhir.resources`` (R4 through its R4B models), so an invalid one fails the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.auditevent import AuditEvent
from fhir.resources.bundle import Bundle
from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent
from fhir.resources.R4B.bundle import Bundle as R4Bundle
from typer.testing import CliRunner

from idverify.cli import app

MODELS: dict[str, tuple[Any, Any]] = {"r5": (Bundle, AuditEvent), "r4": (R4Bundle, R4AuditEvent)}


def _kind(text: str, version: str) -> tuple[str, list[str]]:
    """What the document is — ``bundle`` or ``ndjson`` — and the ids of its AuditEvents, after validation."""
    bundle_model, event_model = MODELS[version]
    if text.lstrip().startswith('{"resourceType":"Bundle"'):
        bundle = bundle_model.model_validate_json(text)
        assert bundle.type == "collection"
        assert all(isinstance(e.resource, event_model) for e in bundle.entry or [])
        return "bundle", [e.resource.id for e in bundle.entry or []]
    return "ndjson", [event_model.model_validate_json(line).id for line in text.splitlines()]


@pytest.mark.parametrize("version", ["r5", "r4"])
def test_cli_and_api_mean_the_same_by_format(db_url: str, make_app: Any, tmp_path: Path, version: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray idverify.toml
    monkeypatch.delenv("IDVERIFY_CONFIG_FILE", raising=False)
    daemon = make_app(db_url)
    admin, csrf = daemon.login("admin")
    assert admin.post("/api/v1/api-keys", json={"name": "HIS bridge", "role": "nurse"},
                      headers={"X-CSRF-Token": csrf}).status_code == 201
    client, _ = daemon.login("inspector")
    env = {"IDVERIFY_DATA_DIR": str(daemon.settings.data_dir), "IDVERIFY_DATABASE_URL": db_url,
           "IDVERIFY_WORKSTATION_ID": "ws-cli"}
    for fmt, kind, media in (("fhir", "bundle", "application/fhir+json"),
                             ("fhir-ndjson", "ndjson", "application/fhir+ndjson")):
        resp = client.get("/api/v1/audit/export", params={"format": fmt, "fhir_version": version})
        assert resp.status_code == 200, resp.text
        release = "4.0" if version == "r4" else "5.0"
        assert resp.headers["content-type"] == f"{media}; fhirVersion={release}"
        assert f".{version}.fhir." in resp.headers["content-disposition"]
        api_kind, api_ids = _kind(resp.text, version)
        out = tmp_path / f"cli-{fmt}-{version}"
        res = CliRunner().invoke(app, ["audit", "export", "--out", str(out), "--format", fmt, "--fhir-version",
                                       version, "--json"], env=env)
        assert res.exit_code == 0, res.output
        cli_kind, cli_ids = _kind(out.read_text(encoding="utf-8"), version)
        assert api_kind == cli_kind == kind
        assert len(api_ids) == int(resp.headers["x-export-entries"]) >= 4  # 3 logins, a key, the export itself
        assert cli_ids[: len(api_ids)] == api_ids  # the CLI's export came later: the same entries and more
        assert json.loads(res.output.splitlines()[-1])["fhir_version"] == version
    recorded = client.get("/api/v1/audit/events", params={"type": "export.created"}).json()["items"]
    assert {(e["data"]["format"], e["data"].get("fhir_version")) for e in recorded} == {
        ("fhir", version), ("fhir-ndjson", version)}
    assert {e["actor"]["role"] for e in recorded} == {"inspector", "cli"}


def test_bad_fhir_parameters_are_refused(make_app: Any) -> None:
    client, _ = make_app().login("inspector")
    for query in ("format=fhir&fhir_version=r3", "format=fhir-json"):
        resp = client.get(f"/api/v1/audit/export?{query}")
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error", resp.text
    assert client.get("/api/v1/audit/events", params={"type": "export.created"}).json()["items"] == []
