"""The IT devices page and the inspector's screens in a real browser, in English and Chinese (issue 17.9, 17.10).

The devices page must say each subsystem's true state in readable, translated fields (never "null", a raw key or,
on a Chinese page, an English label); each device test must test the device it names. The inspector's verification
record must be readable (scores against thresholds, versions, document checks, the ledger proof), the event-type
filter must offer the known types, paging must not run past the end, and a JSONL export that cannot be verifiable
must say why and offer the contiguous one. Expected texts come from the catalogues.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from idverify.biometrics.face import ALGORITHM_VERSION as FACE_VERSION
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


# --- inspector (issue 17.10) -----------------------------------------------------------------------------------------
RECORD_FACTORS = {
    "face": {"required": True, "status": "ok", "score": 0.9123, "threshold": 0.6, "target_fmr": 1e-4,
             "threshold_source": "models/thresholds_face.json#fmr_1e-4", "live": True,
             "model_version": FACE_VERSION, "passed": True, "normalised": 1.2},
    "fingerprint": {"required": False, "status": "not_captured", "score": None, "threshold": 40.0,
                    "target_fmr": 1e-5, "threshold_source": "manual", "live": None, "model_version": None,
                    "passed": False, "normalised": None},
    "document": {"document_type": "cn_resident_id", "checks": {"checksum": True, "expired": False,
                                                                "passive_auth": None},
                 "source": "id_reader", "status": "ok"},
}
RECORD_POLICY = {"stage": "egg_retrieval", "subject": "female", "document_required": True,
                 "biometric": {"stage": "egg_retrieval", "fused_min": 0.0, "factors": {}},
                 "adapted_for": [{"factor": "fingerprint", "why": "not_consented"}],  # as policy.resolve records it
                 "active_liveness": None, "fused_score": 1.2}
RECORD_DEVICES = {"document": "ga467:/dev/ttyUSB0", "face": "camera:0"}


def _inspector_api(page: Any) -> tuple[Any, dict[str, str]]:
    csrf = page.get_attribute('meta[name="csrf-token"]', "content") or ""
    return page.request, {"X-CSRF-Token": csrf}


def _record_in_ledger(daemon: LiveDaemon, verification: dict[str, Any]) -> None:
    """The ledger event a real check writes for ``verification`` (decision accept: no other test's reject counts
    change)."""
    from idverify.audit import record

    actor: dict[str, str | None] = {"staff_id": "s-web-test", "role": "nurse", "workstation": "ws-web"}
    with daemon.app.state.ctx.session_factory() as db:
        record(db, actor, "verification.completed",
               subject={"patient_id": verification["patient_id"], "cycle_id": verification["cycle_id"]},
               data={"verification_id": verification["id"], "stage": verification["stage"], "decision": "accept"})
        db.commit()


@contextlib.contextmanager
def _full_record(daemon: LiveDaemon, vid: str) -> Iterator[None]:
    """Row ``vid`` holds the factors, policy and devices a real check records (the seeded rows carry only scores),
    read back through the API as any record; the seeded values are put back afterwards for the other tests."""
    from idverify.store.models import Verification

    with daemon.app.state.ctx.session_factory() as db:
        row = db.get(Verification, vid)
        assert row is not None
        seeded = (row.factors, row.policy, row.devices)
        row.factors, row.policy, row.devices = RECORD_FACTORS, RECORD_POLICY, RECORD_DEVICES
        db.commit()
        try:
            yield
        finally:
            row.factors, row.policy, row.devices = seeded
            db.commit()


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_verification_record_is_readable_with_its_ledger_proof(page: Any, login: Any, live_daemon: LiveDaemon,
                                                               lang: str) -> None:
    t = CATALOGUES[lang]
    if lang == "zh-CN":
        _zh(page, live_daemon)
    login(page, "inspector")
    api, headers = _inspector_api(page)
    accepted = api.get("/api/v1/verifications?decision=accept&limit=25").json()["items"]
    recorded, unrecorded = accepted[0], accepted[1]
    _record_in_ledger(live_daemon, recorded)
    made = api.post("/api/v1/audit/checkpoints", headers=headers)
    assert made.status == 201
    checkpoint = made.json()
    with _full_record(live_daemon, recorded["id"]):
        page.goto("/inspector/verifications?decision=accept")
        page.locator(f"button[data-toggle-for='{recorded['id']}']").click()
        detail = page.locator(f"tr[data-detail-for='{recorded['id']}']")
        expect(detail).to_be_visible()
        face = detail.locator("tr[data-factor='face']")
        expect(face.locator("td[data-cell='score']")).to_have_text("0.912")
        expect(face.locator("td[data-cell='threshold']")).to_have_text("0.600")
        expect(face.locator("td[data-cell='result']")).to_contain_text(t["inspector.record.passed"])
        expect(face.locator("td[data-cell='model_version']")).to_have_text(FACE_VERSION)
        expect(detail.locator("tr[data-factor='fingerprint'] td[data-cell='score']")).to_have_text("—")
        expect(detail.locator("dd[data-check='checksum']")).to_have_text(t["inspector.record.ok"])
        expect(detail.locator("dd[data-fact='not_used']")).to_have_text(t["inspector.record.not_used_item"].format(
            factor=t["factor.fingerprint"], why=t["inspector.record.not_used_why.not_consented"]))
        expect(detail.locator("section[data-section='document']")).to_contain_text(t["document_type.cn_resident_id"])
        proof = detail.locator(f"div[data-proof-for='{recorded['id']}']")
        expect(proof.locator("[data-outcome]")).to_have_attribute("data-outcome", "browser")
        expect(proof.locator("[data-outcome]")).to_contain_text(t["inspector.proof.verified_browser"])
        expect(proof.locator("dd[data-field='root']")).to_have_text(checkpoint["root_hash"])
        expect(detail.locator("pre")).to_have_count(0)
        text = detail.inner_text()
        assert "null" not in text and "undefined" not in text and "{" not in text
        assert not RAW_KEY.findall(text.replace(FACE_VERSION, "").replace("thresholds_face.json#fmr_1e-4", "")
                                   .replace("id_reader", "")), RAW_KEY.findall(text)
        if lang == "zh-CN":
            english = [EN[k] for k in EN if k.startswith(("inspector.record.", "inspector.proof.", "col."))
                       and len(EN[k]) > 3 and "{" not in EN[k] and EN[k] in text]
            assert not english, english
        screenshot(page, f"inspector-verification-record-{lang}")
        # a check no ledger entry records is reported as an audit finding, not hidden
        page.locator(f"button[data-toggle-for='{unrecorded['id']}']").click()
        missing = page.locator(f"div[data-proof-for='{unrecorded['id']}'] [data-outcome]")
        expect(missing).to_have_attribute("data-outcome", "missing")
        expect(missing).to_have_text(t["inspector.proof.missing"])


def test_paging_never_runs_past_the_end(page: Any, login: Any) -> None:
    login(page, "inspector")
    api, _ = _inspector_api(page)
    total = api.get("/api/v1/verifications?decision=accept&limit=1").json()["total"]
    assert 0 < total < 25
    page.goto("/inspector/verifications?decision=accept")
    rows = page.locator("#verifications tbody tr[data-verification-id]")
    expect(rows).to_have_count(total)
    expect(page.locator("#pager-range")).to_have_text(EN["pager.range"].format(start=1, end=total, total=total))
    expect(page.locator("#pager-next")).to_be_hidden()  # one page: no "next"
    page.goto("/inspector/verifications?decision=accept&offset=25")  # a page past the end (an old bookmark)
    expect(page.locator("#pager-range [data-past-end]")).to_have_text(EN["inspector.past_end"].format(total=total))
    expect(page.locator("#pager-range")).not_to_contain_text("0–25")
    expect(page.locator("#pager-next")).to_be_hidden()
    page.click("#pager-last")
    expect(page).to_have_url(re.compile(r"/inspector/verifications\?decision=accept$"))
    expect(rows).to_have_count(total)
    everything = api.get("/api/v1/verifications?limit=1").json()["total"]
    page.goto("/inspector/verifications?offset=25")
    expect(rows).to_have_count(everything - 25)
    expect(page.locator("#pager-next")).to_be_hidden()
    page.goto("/inspector/verifications?offset=75")
    page.click("#pager-last")
    expect(page).to_have_url(re.compile(r"\?offset=25$"))
    expect(rows).to_have_count(everything - 25)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_event_type_filter_offers_the_known_types(page: Any, login: Any, live_daemon: LiveDaemon, lang: str) -> None:
    from idverify.audit import EVENT_TYPES

    t = CATALOGUES[lang]
    if lang == "zh-CN":
        _zh(page, live_daemon)
    login(page, "inspector")
    page.goto("/inspector/audit")
    select = page.locator("#a-type")
    expect(select.locator("option[value='verification.completed']")).to_have_text(
        t["inspector.event_type.verification.completed"])
    expect(select.locator("option[value='verification.*']")).to_have_text(t["inspector.event_group.verification"])
    for event_type in EVENT_TYPES:
        expect(select.locator(f"option[value='{event_type}']")).to_have_text(t[f"inspector.event_type.{event_type}"])
    assert select.evaluate("s => s.tagName") == "SELECT"
    page.select_option("#a-type", "staff.login")
    page.click("#audit-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"\?type=staff\.login$"))
    expect(select).to_have_value("staff.login")  # the active filter stays selected
    rows = page.locator("#events tbody tr[data-index]")
    expect(rows.first).to_have_attribute("data-type", "staff.login")
    expect(rows.first.locator("td").nth(2)).to_contain_text(t["inspector.event_type.staff.login"])
    options = select.locator("option").all_inner_texts()
    assert "null" not in " ".join(options) and not any(o.startswith("inspector.") for o in options)
    screenshot(page, f"inspector-audit-types-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_filtered_jsonl_export_explains_and_offers_the_contiguous_one(page: Any, login: Any, live_daemon: LiveDaemon,
                                                                      lang: str) -> None:
    t = CATALOGUES[lang]
    if lang == "zh-CN":
        _zh(page, live_daemon)
    login(page, "inspector")
    page.goto("/inspector/audit?type=staff.login&from=2020-01-01")
    notice = page.locator("#jsonl-notice")
    expect(notice).to_be_hidden()
    page.click("#export-jsonl")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(t["inspector.jsonl_filtered_why"])
    screenshot(page, f"inspector-audit-jsonl-notice-{lang}")
    contiguous = page.locator("#export-jsonl-contiguous")
    expect(contiguous).to_have_text(t["inspector.jsonl_contiguous"])
    href = contiguous.get_attribute("href") or ""
    assert "format=jsonl" in href and "from=2020-01-01" in href and "type=" not in href
    with page.expect_download() as download_info:
        contiguous.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".jsonl")
    first = open(download.path(), encoding="utf-8").readline()  # noqa: SIM115
    assert first.startswith("{")
    # the CSV export keeps the type filter; with dates only, the JSONL button downloads directly
    assert "type=staff.login" in (page.get_attribute("#export-csv", "href") or "")
    page.goto("/inspector/audit?from=2020-01-01")
    assert page.get_attribute("#export-jsonl", "download") is not None
    expect(page.locator("#jsonl-notice")).to_be_hidden()
