"""The IT devices page and the inspector's screens in a real browser, in English and Chinese (issue 17.9, 17.10).

The devices page must say each subsystem's true state in readable, translated fields (never "null", a raw key or,
on a Chinese page, an English label); each device test must test the device it names. The inspector's verification
record must be readable (scores against thresholds, versions, document checks, the ledger proof), the event-type
filter must offer the known types, paging must not run past the end, and a JSONL export that cannot be verifiable
must say why and offer the contiguous one. Expected texts come from the catalogues.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from idverify.i18n import catalogue

from .conftest import LiveDaemon, screenshot

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Route, expect

EN = catalogue("en")
ZH = catalogue("zh-CN")
CATALOGUES = {"en": EN, "zh-CN": ZH}
RAW_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")  # tree_size, detail_code, last_failure_at …

# A workstation whose PC/SC reader is set up but missing, whose webhooks all fail, with a live ledger.
HEALTH = {
    "version": "0.1.0", "workstation": "ws-web", "status": "degraded",
    "database": {"status": "ok", "backend": "sqlite"},
    "devices": [
        {"kind": "id_reader", "name": "ga467:/dev/ttyUSB0", "status": "ok", "detail": None, "detail_code": None,
         "detail_args": {}},
        {"kind": "fingerprint", "name": "none", "status": "not_configured",
         "detail": "not configured (IDVERIFY_FINGERPRINT_PORT)", "detail_code": "not_configured",
         "detail_args": {"setting": "IDVERIFY_FINGERPRINT_PORT"}},
        {"kind": "card_reader", "name": "ACS ACR1252", "status": "unavailable",
         "detail": "no matching PC/SC reader connected", "detail_code": "pcsc_reader_missing",
         "detail_args": {"reader": "ACS ACR1252"}},
        {"kind": "camera", "name": "video0", "status": "ok", "detail": None, "detail_code": None,
         "detail_args": {}},
    ],
    "components": [
        {"kind": "ledger", "name": "audit ledger", "status": "ok", "detail": "intact", "detail_code": "intact",
         "verified_size": 118, "checkpoints_checked": 4, "checked_at": "2026-12-04T08:00:00Z", "scope": "new entries",
         "full_check_at": "2026-12-04T07:55:00Z", "tree_size": 120, "checkpoint_size": 118,
         "checkpoint_at": "2026-12-04T08:00:01Z"},
        {"kind": "webhooks", "name": "webhook outbox", "status": "degraded", "detail": "2 failed, 3 retrying",
         "detail_code": "failing", "failed": 2, "retrying": 3, "pending": 0, "delivered": 40,
         "last_failure_at": "2026-12-04T08:01:00+00:00"},
        {"kind": "retention", "status": "ok", "detail_code": "running"},
    ],
}
HEALTH["components"] = [*HEALTH["devices"], *HEALTH["components"]]


def _zh(page: Any, daemon: LiveDaemon) -> None:
    page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": daemon.base_url}])


def _assert_readable(text: str, lang: str) -> None:
    assert "null" not in text and "undefined" not in text and "[object" not in text
    assert not RAW_KEY.findall(text.replace("IDVERIFY_FINGERPRINT_PORT", "")), RAW_KEY.findall(text)
    if lang == "zh-CN":  # no English label of ours on a Chinese page
        labels = [EN[k] for k in EN if k.startswith(("health_field.", "devices.", "health.", "device_kind."))
                  and len(EN[k]) > 3 and "{" not in EN[k] and EN[k] != ZH[k]]
        shown = [label for label in labels if label in text]
        assert not shown, shown


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_devices_page_is_true_and_readable(page: Any, login: Any, live_daemon: LiveDaemon, lang: str) -> None:
    t = CATALOGUES[lang]
    if lang == "zh-CN":
        _zh(page, live_daemon)
    page.route("**/healthz", lambda route: route.fulfill(json=HEALTH))
    held: list[Route] = []
    page.route("**/api/v1/devices/*/test", lambda route: held.append(route))  # noqa: PLW0108
    login(page, "itadmin")
    pcsc = page.locator("#device-cards .card[data-kind='card_reader']")
    expect(pcsc).to_have_attribute("data-status", "unavailable")
    expect(pcsc.locator("dd[data-field='detail']")).to_have_text(
        t["devices.detail.pcsc_reader_missing"].format(reader="ACS ACR1252"))
    expect(page.locator("#device-cards .card[data-kind='fingerprint'] dd[data-field='detail']")).to_have_text(
        t["devices.detail.not_configured"].format(setting="IDVERIFY_FINGERPRINT_PORT"))
    ledger = page.locator("#component-cards .card[data-kind='ledger']")
    expect(ledger.locator("dd[data-field='tree_size']")).to_have_text("120")
    expect(ledger.locator("dd[data-field='checkpoint_size']")).to_have_text("118")
    expect(ledger.locator("dd[data-field='scope']")).to_have_text(t["devices.scope.new_entries"])
    expect(ledger.locator("h3")).to_have_text(t["device_kind.ledger"])
    hooks = page.locator("#component-cards .card[data-kind='webhooks']")
    expect(hooks.locator(".badge")).to_have_text(t["health.degraded"])
    expect(hooks.locator("dd[data-field='failed']")).to_have_text("2")
    expect(hooks.locator("dd[data-field='retrying']")).to_have_text("3")
    expect(hooks.locator("dd[data-field='detail']")).to_have_text(t["devices.detail.failing"])
    expect(hooks.locator("dt")).to_contain_text([t["devices.field.last_failure_at"]])
    text = page.locator("main").inner_text()
    _assert_readable(text, lang)
    # a value never breaks one letter per line: each value box is wider than a few characters
    widths = page.eval_on_selector_all(".card .facts dd", "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and min(widths) > 100
    screenshot(page, f"admin-devices-truth-{lang}")

    # the PC/SC reader's test asks the PC/SC reader's own route, and says so when it is not there
    pcsc.locator("button[data-test='card_reader']").click()
    expect(pcsc.locator(".test-outcome")).to_have_text(t["devices.test_running_pcsc"])
    route = held.pop(0) if held else None
    for _ in range(100):
        if route is not None:
            break
        page.wait_for_timeout(50)
        route = held.pop(0) if held else None
    assert route is not None and route.request.url.endswith("/api/v1/devices/card_reader/test")
    route.fulfill(status=503, json={"error": {"code": "device_unavailable", "details": None,
                                              "message": "PC/SC reader 'ACS ACR1252': no matching PC/SC reader"}})
    expect(pcsc.locator(".test-outcome")).to_have_attribute("data-outcome", "error")
    expect(pcsc.locator(".test-outcome")).to_have_text(t["error.device_unavailable"])
    ga467 = page.locator("#device-cards .card[data-kind='id_reader']")
    ga467.locator("button[data-test='id_reader']").click()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    route = held.pop(0)
    assert route.request.url.endswith("/api/v1/devices/id_reader/test")
    route.fulfill(json={"status": "ok", "document_type": "cn_resident_id", "checks": {"checksum": True},
                        "photo_available": False, "elapsed_ms": 640.2})
    expect(ga467.locator(".test-outcome")).to_have_attribute("data-outcome", "ok")
    _assert_readable(page.locator("main").inner_text(), lang)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_devices_page_against_the_real_daemon(page: Any, login: Any, live_daemon: LiveDaemon, lang: str) -> None:
    """The test daemon's own /healthz (no devices; ledger, webhooks, retention): live sizes, all readable."""
    if lang == "zh-CN":
        _zh(page, live_daemon)
    with httpx.Client(base_url=live_daemon.base_url) as api:
        health = api.get("/healthz").json()
    ledger = next(c for c in health["components"] if c["kind"] == "ledger")
    login(page, "itadmin")
    card = page.locator("#component-cards .card[data-kind='ledger']")
    expect(card.locator("dd[data-field='tree_size']")).to_have_text(re.compile(r"^[\d,]+$"))
    shown = int((card.locator("dd[data-field='tree_size']").inner_text()).replace(",", ""))
    assert shown >= ledger["tree_size"]  # live: never a stale smaller size
    expect(page.locator("#component-cards .card[data-kind='webhooks']")).to_be_visible()
    _assert_readable(page.locator("main").inner_text(), lang)
