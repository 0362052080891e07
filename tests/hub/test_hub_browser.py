"""The regional inspector's UI in Debian's chromium (Playwright): log in, alerts with drill-down to a verified
proof, the status workflow, clinics, statistics, the language switch; the hub administrator registers a clinic.
Run under the suite lock (``flock /tmp/idverify-suite.lock``), like tests/web."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from idverify.store.region import create_region_key

from ..servers import served
from .clinicsim import SimClinic, now
from .conftest import Hub
from .memlog import MemoryLog

PASSWORD = "pw-hub-browser-0123"


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    from idverify.config import load_hub_settings
    from idverify.hub.app import create_hub_app
    from idverify.hub.db import upgrade_hub_database

    data = tmp_path_factory.mktemp("hub-browser")
    url = f"sqlite:///{data / 'hub.db'}"
    upgrade_hub_database(url)
    app = create_hub_app(load_hub_settings(data_dir=data, database_url=url))
    hub = Hub(app, app.state.hub.settings, url)
    region = create_region_key(data / "region.key")
    a, b = SimClinic(hub, "北京甲医院生殖中心", region), SimClinic(hub, "上海乙医院生殖中心", region)
    t = now() - timedelta(days=2)
    for clinic in (a, b):
        f, m = clinic.patient("11010119900307457X", t), clinic.patient("110101198805061234", t)
        cycle = clinic.open_cycle(clinic.couple(f, m, t), t)
        clinic.check(f, cycle, "egg_retrieval", "accept", t)
        clinic.sync()
    with serve_with_users(hub, admin_name="Admin") as base:
        yield base, app


@contextmanager
def serve_with_users(hub: Hub, *, admin_name: str) -> Iterator[str]:
    """Create the inspector ``insp`` and the administrator ``hubadmin`` (password ``PASSWORD``), serve the hub's
    app over HTTP for the browser, and dispose of its engine afterwards; yields the base URL."""
    from idverify.hub.users import create_user

    with hub.session() as s:
        create_user(s, username="insp", display_name="监督员王", role="regional_inspector", password=PASSWORD)
        create_user(s, username="hubadmin", display_name=admin_name, role="hub_admin", password=PASSWORD)
        s.commit()
    try:
        with served(hub.app) as base:
            yield base
    finally:
        hub.app.state.hub.engine.dispose()


def _tab(browser: Any, base: str, problems: list[str]) -> Any:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    tab.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    return tab


def _login(tab: Any, username: str) -> None:
    tab.goto("/login")
    tab.fill("#login-username", username)
    tab.fill("#login-password", PASSWORD)
    tab.click("#login-submit")


def test_inspector_works_an_alert_in_both_languages(browser: Any, live_hub: tuple[str, Any]) -> None:
    base, _app = live_hub
    problems: list[str] = []
    tab = _tab(browser, base, problems)
    _login(tab, "insp")
    tab.wait_for_url("**/alerts")
    row = tab.locator("#alerts-body tr[data-kind='open_cycles_two_clinics']")
    row.wait_for()
    assert "同一人在两家机构同时开周期" in row.inner_text()  # Chinese by default
    tab.click("a[data-locale='en']")
    tab.wait_for_url("**/alerts")
    row = tab.locator("#alerts-body tr[data-kind='open_cycles_two_clinics']")
    assert "Open cycles at two clinics" in row.inner_text()
    row.locator("a").first.click()
    tab.wait_for_url("**/alerts/*")
    tab.locator("#evidence-body tr").first.wait_for()
    assert tab.locator("#evidence-body tr").count() == 2
    assert "北京甲医院生殖中心" in tab.inner_text("#evidence-body")
    tab.locator(".proof-button").first.click()
    tab.locator("#proof-verified").wait_for()
    assert '"tree_size"' in tab.inner_text("#proof-json")
    tab.click("#close-button")  # no note yet
    tab.locator("#status-error[data-code='note_required']").wait_for()
    assert "needs a note" in tab.inner_text("#status-error")
    tab.click("#ack-button")
    tab.locator("#alert-status[data-status='acknowledged']").wait_for()
    tab.fill("#status-note", "Both clinics contacted; the couple moved.")
    tab.click("#close-button")
    tab.locator("#alert-status[data-status='closed']").wait_for()
    assert tab.is_disabled("#close-button")

    tab.goto("/clinics")
    tab.locator("#clinics-body tr[data-clinic-id]").nth(1).wait_for()
    assert tab.locator("#clinics-body tr[data-clinic-id]").count() == 2
    assert tab.inner_text("#clinics-body").count("Consistent") == 2
    tab.goto("/stats")
    tab.locator("#stats-body tr[data-region]").wait_for()
    assert "Region (2 clinics)" in tab.inner_text("#stats-body")
    assert problems == []


def test_hub_admin_registers_a_clinic(browser: Any, live_hub: tuple[str, Any]) -> None:
    base, _app = live_hub
    problems: list[str] = []
    tab = _tab(browser, base, problems)
    _login(tab, "hubadmin")
    tab.wait_for_url("**/clinics")
    tab.goto("/admin")
    log = MemoryLog()
    tab.fill("#clinic-name", "广州丙医院")
    tab.fill("#clinic-key", log.vkey)
    tab.click("#clinic-form button[type=submit]")
    tab.locator("#clinic-ok").wait_for()
    assert log.origin in tab.inner_text("#clinic-ok")
    forbidden = tab.goto("/alerts")
    assert forbidden is not None and forbidden.status == 403  # the administrator reads no alerts
    assert tab.locator("#forbidden-heading").count() == 1
    assert problems == []
