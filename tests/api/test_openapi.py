"""The OpenAPI document is what a generated client needs: valid 3.1, authentication declared, the real error
envelope for every failure status, readable operation ids, file downloads typed, every operation described; and
``/docs`` works without internet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from idverify.api.openapi import BEARER, CSRF, ERROR_REF, SESSION

ERROR_STATUSES = ("400", "401", "403", "404", "409", "413", "422", "503")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from idverify.app import create_app
    from idverify.config import load_settings
    from idverify.store.db import upgrade_database

    cfg = load_settings(data_dir=tmp_path_factory.mktemp("openapi"), workstation_id="ws-a")
    upgrade_database(cfg.resolved_database_url)
    app = create_app(cfg)
    yield TestClient(app)
    app.state.ctx.engine.dispose()


@pytest.fixture(scope="module")
def spec(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on any violation


def test_security_schemes_and_per_operation_requirements(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes[BEARER] == {**schemes[BEARER], "type": "http", "scheme": "bearer"}
    assert (schemes[SESSION]["in"], schemes[SESSION]["name"]) == ("cookie", "idverify_session")
    assert (schemes[CSRF]["in"], schemes[CSRF]["name"]) == ("header", "X-CSRF-Token")
    paths = spec["paths"]
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/api/v1/staff"]["get"]["security"] == [{BEARER: []}, {SESSION: []}]
    assert paths["/api/v1/staff"]["post"]["security"] == [{BEARER: []}, {SESSION: [], CSRF: []}]
    assert "Role: it_admin." in paths["/api/v1/staff"]["post"]["description"]
    assert "Role: inspector, it_admin." in paths["/api/v1/audit/integrity"]["get"]["description"]


def test_every_api_operation_documents_the_error_envelope(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorEnvelope"]["properties"]["error"]["required"] == ["code", "message", "message_key",
                                                                           "details"]
    for path, method, operation in _operations(spec):
        if not path.startswith("/api/v1/"):
            continue
        public = operation["security"] == []
        for status in ERROR_STATUSES:
            if public and status in ("401", "403"):
                assert status not in operation["responses"], (method, path, status)
                continue
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": ERROR_REF}, (method, path, status)
            assert set(content["example"]["error"]) == {"code", "message", "message_key", "details"}


def test_operation_ids_are_readable_and_unique(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+_[a-z0-9_]+", i) for i in ids), ids
    assert spec["paths"]["/api/v1/patients"]["post"]["operationId"] == "patients_register_patient"


def test_file_downloads_have_binary_schemas(spec: dict[str, Any]) -> None:
    binary = {"type": "string", "format": "binary"}
    paths = spec["paths"]
    assert paths["/api/v1/reports/monthly.pdf"]["get"]["responses"]["200"]["content"] == {
        "application/pdf": {"schema": binary}}
    assert paths["/api/v1/devices/camera/preview.jpg"]["get"]["responses"]["200"]["content"] == {
        "image/jpeg": {"schema": binary}}
    assert paths["/api/v1/verifications/{verification_id}/photos/{kind}"]["get"]["responses"]["200"][
        "content"]["image/jpeg"] == {"schema": binary}
    assert paths["/api/v1/reports/monthly.csv"]["get"]["responses"]["200"]["content"]["text/csv"] == {
        "schema": {"type": "string"}}


def test_every_operation_has_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)


def test_docs_are_served_without_internet(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "//" not in "".join(u[1:] for u in urls)  # no protocol-relative or absolute external host
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN
