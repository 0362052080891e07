"""Page routing, role guards, locale and catalogue checks without a browser (fast)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from idverify.auth.roles import Role
from idverify.i18n import LOCALES, Translator, catalogue, interpolate, negotiate, placeholders
from idverify.web import STATIC_DIR
from idverify.web.page_security import safe_return_path
from idverify.web.pages import HOME, MENUS, SCREENS, TEMPLATE_DIR

WEB_DIR = Path(STATIC_DIR).parent
USERS = {"nurse1": Role.NURSE, "admin": Role.IT_ADMIN, "inspector": Role.INSPECTOR}
PASSWORD = "pw-web-pages-0123456789"


class PagesDaemon:
    """One migrated app for this module (migrating and hashing passwords per test would dominate the run time)."""

    def __init__(self, data_dir: Path) -> None:
        from idverify.app import create_app
        from idverify.auth import service
        from idverify.config import load_settings
        from idverify.store.db import make_engine, make_session_factory, upgrade_database

        url = f"sqlite:///{data_dir / 'idverify.db'}"
        upgrade_database(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as db:
            for username, role in USERS.items():
                service.create_staff(db, username=username, display_name=username.title(), role=role,
                                     password=PASSWORD)
            db.commit()
        engine.dispose()
        self.app = create_app(load_settings(data_dir=data_dir, database_url=url, workstation_id="ws-a"))
        self._logins: dict[str, tuple[Any, str]] = {}

    def client(self) -> Any:
        from fastapi.testclient import TestClient

        return TestClient(self.app, raise_server_exceptions=False)

    def login(self, username: str, password: str = PASSWORD) -> tuple[Any, str]:
        """A client logged in as ``username`` and its CSRF token (one login per account and module)."""
        if username not in self._logins:
            client = self.client()
            resp = client.post("/api/v1/auth/login", json={"username": username, "password": password})
            assert resp.status_code == 200, resp.text
            self._logins[username] = (client, resp.json()["csrf_token"])
        return self._logins[username]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Any:
    made = PagesDaemon(tmp_path_factory.mktemp("web-pages"))
    yield made
    made.app.state.ctx.engine.dispose()


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalogue("en"), catalogue("zh-CN")
    assert set(en) == set(zh)
    for key in en:
        assert placeholders(en[key]) == placeholders(zh[key]), key
        assert zh[key].strip(), key


def _template_keys() -> set[str]:
    keys: set[str] = set()
    for path in TEMPLATE_DIR.rglob("*.html"):
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    return keys


def _script_keys() -> set[str]:
    keys: set[str] = set()
    for path in (STATIC_DIR / "js").glob("*.js"):
        keys |= set(re.findall(r"""\bIV\.t\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    return keys


def test_every_literal_key_used_by_templates_and_scripts_is_in_the_catalogue() -> None:
    used = _template_keys() | _script_keys()
    assert len(used) > 100  # the extraction really found the strings
    assert sorted(used - set(catalogue("en"))) == []


# Keys built at run time from a fixed set of values ("role." ~ role, "result.summary_" + decision, ...).
DYNAMIC_FAMILIES = {
    "role.": [r.value for r in Role],
    "locale.": list(LOCALES),
    "decision.": ["accept", "reject", "retry"],
    "decision_banner.": ["accept", "reject", "retry"],
    "result.summary_": ["accept", "reject", "retry"],
    "result.photo_": ["enrolment", "live"],
    "keys.status_": ["active", "revoked", "expired"],
    "health.": ["ok", "degraded", "unavailable", "not_configured", "error", "unknown"],
    "sim.persona.": ["female", "male", "impostor"],
    "sim.act_": ["turn_left", "turn_right", "still", "release"],
    "settings.challenge_": ["none", "head_turn", "blink"],
}


def test_every_key_family_built_at_run_time_is_complete() -> None:
    missing = [p + v for p, values in DYNAMIC_FAMILIES.items() for v in values if p + v not in catalogue("en")]
    assert missing == []


def test_every_workflow_stage_has_a_label() -> None:
    stages = pytest.importorskip("idverify.workflow.stages")
    missing = [s.value for s in stages.Stage if f"stage.{s.value}" not in catalogue("en")]
    assert missing == []


def test_ui_references_no_other_origin() -> None:
    """Offline: no CDN, no web font, no third-party script or image anywhere in the UI."""
    offenders = []
    for path in [*TEMPLATE_DIR.rglob("*.html"), *STATIC_DIR.rglob("*.js"), *STATIC_DIR.rglob("*.css")]:
        if path.parent.name == "swagger":
            continue  # vendored Swagger UI: its URLs are defaults /docs turns off (tests/api/test_openapi.py)
        text = path.read_text(encoding="utf-8")
        if re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE):
            offenders.append(path.name)
    assert offenders == []


def test_interpolate_and_missing_keys() -> None:
    assert interpolate("{a} of {b}", {"a": 1, "b": 2}) == "1 of 2"
    assert interpolate("{a} of {b}", {"a": 1}) == "1 of {b}"
    t = Translator("zh-CN")
    assert t("pager.range", start=1, end=25, total=30) == "第 1–25 条，共 30 条"
    assert t("no.such.key") == "no.such.key"


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        ("en", "zh-CN,zh;q=0.9", "en"),
        ("zh-CN", "en-US", "zh-CN"),
        ("fr", "en-GB,en;q=0.8", "en"),
        (None, "zh-TW", "zh-CN"),
        (None, "fr-FR, de;q=0.5", "zh-CN"),
        (None, None, "zh-CN"),
    ],
)
def test_locale_negotiation(cookie: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(cookie, accept) == expected
    assert expected in LOCALES


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("http://ws:8700/admin/keys?x=1", "/admin/keys?x=1"),
        ("/inspector/verifications", "/inspector/verifications"),
        ("http://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("http://ws:8700/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_locale_switch_returns_only_to_this_site(referer: str | None, expected: str) -> None:
    assert safe_return_path(referer, "ws:8700") == expected


def test_anonymous_visitors_are_sent_to_login(daemon: Any) -> None:
    client = daemon.client()
    for path in ["/", *(s.path for s in SCREENS)]:
        resp = client.get(path, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/login", path
    login = client.get("/login")
    assert login.status_code == 200
    assert 'id="login-form"' in login.text


@pytest.mark.parametrize("username", list(USERS))
def test_each_role_sees_its_pages_only(daemon: Any, username: str) -> None:
    client, csrf = daemon.login(username)
    role = USERS[username]
    root = client.get("/", follow_redirects=False)
    assert root.headers["location"] == HOME[role]
    assert client.get("/login", follow_redirects=False).headers["location"] == HOME[role]
    for screen in SCREENS:
        resp = client.get(screen.path)
        if screen.role is role:
            assert resp.status_code == 200, screen.path
            assert f'content="{csrf}"' in resp.text  # the page's scripts send this as X-CSRF-Token
            for item in MENUS[role]:
                assert f'href="{item.path}"' in resp.text
            for other in set(MENUS) - {role}:
                for item in MENUS[other]:
                    assert f'href="{item.path}"' not in resp.text
        else:
            assert resp.status_code == 403, screen.path
            assert f'href="{HOME[role]}"' in resp.text


def test_pages_send_a_strict_content_security_policy(daemon: Any) -> None:
    client = daemon.client()
    resp = client.get("/login")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["x-frame-options"] == "DENY"
    # no inline script that the policy would block (the catalogue is JSON data, not script)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", resp.text, re.DOTALL)
    assert all('type="application/json"' in attrs or not body.strip() for attrs, body in scripts)


def test_locale_cookie_changes_the_page_language(daemon: Any) -> None:
    client = daemon.client()
    resp = client.get("/locale/en", headers={"referer": "http://testserver/login"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    page = client.get("/login")
    assert '<html lang="en">' in page.text and catalogue("en")["login.heading"] in page.text
    client.get("/locale/zh-CN", follow_redirects=False)
    page = client.get("/login")
    assert '<html lang="zh-CN">' in page.text and catalogue("zh-CN")["login.heading"] in page.text
    # an unknown locale changes nothing
    client.get("/locale/xx", follow_redirects=False)
    assert '<html lang="zh-CN">' in client.get("/login").text


def test_static_assets_are_served(daemon: Any) -> None:
    client = daemon.client()
    for name in ["app.css", "js/app.js", "js/result.js", "img/favicon.svg"]:
        resp = client.get(f"/static/{name}")
        assert resp.status_code == 200 and resp.content == (STATIC_DIR / name).read_bytes(), name


def test_a_disabled_account_loses_its_pages(daemon: Any) -> None:
    admin, csrf = daemon.login("admin")
    created = admin.post("/api/v1/staff", json={"username": "nurse7", "display_name": "N7", "role": "nurse",
                                                "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    nurse, _ = daemon.login("nurse7")
    assert nurse.get("/nurse/check").status_code == 200
    assert admin.patch(f"/api/v1/staff/{created.json()['id']}", json={"active": False},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    resp = nurse.get("/nurse/check", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
