"""The hub UI without a browser: catalogues complete in both languages, role guards, locale, security headers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from idverify.hub.alerts import KINDS, STATUSES
from idverify.hub.users import HubRole
from idverify.hub.web import HUB_STATIC_DIR
from idverify.hub.web.i18n import hub_catalogue, hub_own
from idverify.i18n import placeholders

TEMPLATES = Path(HUB_STATIC_DIR).parent / "templates"
PASSWORD = "pw-hub-pages-0123"


def test_hub_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, zh = hub_own("en"), hub_own("zh-CN")
    assert set(en) == set(zh)
    for key in en:
        assert placeholders(en[key]) == placeholders(zh[key]), key
        assert zh[key].strip(), key


def test_every_key_used_by_hub_templates_and_scripts_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    for path in (HUB_STATIC_DIR / "js").glob("*.js"):
        used |= set(re.findall(r"""\bIV\.t\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    assert len(used) > 60
    for locale in ("en", "zh-CN"):
        assert sorted(used - set(hub_catalogue(locale))) == []
    families = {"alert_kind.": KINDS, "alert_explain.": KINDS, "alert_status.": STATUSES,
                "hub_role.": [r.value for r in HubRole], "integrity.": ["consistent", "inconsistent"],
                "refusal.": ["stale_old_size", "concurrent_update", "root_conflict", "bad_proof",
                             "cosigned_root_conflict", "old_size_above_checkpoint"]}
    missing = [p + v for p, values in families.items() for v in values if p + v not in hub_catalogue("zh-CN")]
    assert missing == []


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fastapi.testclient import TestClient

    from idverify.config import load_hub_settings
    from idverify.hub.app import create_hub_app
    from idverify.hub.db import upgrade_hub_database
    from idverify.hub.users import create_user

    data = tmp_path_factory.mktemp("hub-pages")
    url = f"sqlite:///{data / 'hub.db'}"
    upgrade_hub_database(url)
    app = create_hub_app(load_hub_settings(data_dir=data, database_url=url))
    with app.state.hub.session_factory() as s:
        for name, role in (("insp", "regional_inspector"), ("admin", "hub_admin")):
            create_user(s, username=name, display_name=name, role=role, password=PASSWORD)
        s.commit()

    def login(username: str | None) -> Any:
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        if username:
            resp = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert resp.status_code == 200
        return client

    yield login
    app.state.hub.engine.dispose()


def test_docs_are_served_without_internet(pages: Any) -> None:
    client = pages(None)
    page = client.get("/docs")
    assert page.status_code == 200 and "https://" not in page.text and "http://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static/swagger/{asset}" in page.text and client.get(f"/static/swagger/{asset}").status_code == 200
    assert client.get("/redoc").status_code == 404


def test_pages_by_role(pages: Any) -> None:
    anonymous = pages(None)
    assert anonymous.get("/alerts").headers["location"] == "/login"
    login = anonymous.get("/login")
    assert login.status_code == 200 and "default-src 'self'" in login.headers["content-security-policy"]
    inspector, admin = pages("insp"), pages("admin")
    assert inspector.get("/").headers["location"] == "/alerts"
    assert admin.get("/").headers["location"] == "/clinics"
    for path in ("/alerts", "/alerts/7", "/clinics", "/stats"):
        assert inspector.get(path).status_code == 200, path
    assert inspector.get("/admin").status_code == 403
    assert admin.get("/alerts").status_code == 403 and admin.get("/stats").status_code == 403
    assert admin.get("/admin").status_code == 200 and admin.get("/clinics").status_code == 200
    assert inspector.get("/static/js/app.js").status_code == 200
    assert inspector.get("/hub-static/js/alert.js").status_code == 200


def test_language_follows_the_cookie(pages: Any) -> None:
    client = pages("insp")
    assert "预警" in client.get("/alerts").text  # zh-CN by default
    switched = client.get("/locale/en", headers={"referer": "http://testserver/alerts"})
    assert switched.headers["location"] == "/alerts"
    client.cookies.set("idverify_locale", "en")
    page = client.get("/alerts").text
    assert "Alerts" in page and 'lang="en"' in page
    for version in ("r5", "r4"):  # the alert export in both FHIR releases (issue 16.13)
        assert f"/api/v1/exports/alerts?format=fhir&amp;fhir_version={version}" in page
        assert f"Alerts (FHIR {version.upper()} AuditEvent)" in page
