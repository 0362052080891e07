"""The UI in a real browser (Debian chromium via Playwright) against a running daemon.

Expected texts come from the catalogues, never from strings typed into the tests, so a wording change does not
break a test but a missing translation or a wrong key does. Screenshots of each key screen land in
``test-artifacts/web/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle as R4Bundle

from idverify.auth.roles import Role
from idverify.biometrics.reasons import ReasonCode, render
from idverify.i18n import Translator, catalogue
from idverify.web.pages import HOME, MENUS, SCREENS

from .conftest import OTHER_WORKSTATION, PATIENT_IDENTITY, SEEDED, WORKSTATION, LiveDaemon, screenshot

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Route, expect

EN = catalogue("en")
ZH = catalogue("zh-CN")
STAGE_CODES = [key.removeprefix("stage.") for key in EN if key.startswith("stage.")]
Login = Callable[..., None]
ROLE_OF = {"nurse1": Role.NURSE, "itadmin": Role.IT_ADMIN, "inspector": Role.INSPECTOR}


def _next_route(page: Any, held: list[Route], timeout_s: float = 10) -> Route:
    """The next request a held route caught (routes fire while Playwright processes events, so wait for it)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not held:
        assert time.monotonic() < deadline, "the page sent no request"
        page.wait_for_timeout(50)
    return held.pop(0)


def _wait_until(page: Any, expression: str, timeout_s: float = 10) -> None:
    """Poll a JS expression with ``page.evaluate`` (``wait_for_function`` needs eval, which the CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


@pytest.mark.parametrize("username", list(ROLE_OF))
def test_each_role_lands_on_its_home_with_its_own_menu(page: Any, login: Login, username: str) -> None:
    role = ROLE_OF[username]
    login(page, username, fresh=True)
    expect(page).to_have_url(re.compile(re.escape(HOME[role]) + "$"))
    nav = page.locator("nav.mainnav a")
    expect(nav).to_have_count(len(MENUS[role]))
    assert [nav.nth(i).get_attribute("href") for i in range(nav.count())] == [m.path for m in MENUS[role]]
    expect(nav.first).to_have_attribute("aria-current", "page")
    expect(page.locator(".whoami-role")).to_contain_text(EN[f"role.{role.value}"])
    screenshot(page, f"home-{role.value}")
    other = next(s for s in SCREENS if s.role is not role)
    page.goto(other.path)
    expect(page.locator("h1")).to_have_text(EN["forbidden.heading"])
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto(HOME[role])
    expect(page).to_have_url(re.compile(r"/login$"))


def test_wrong_password_shows_the_translated_error(page: Any) -> None:
    page.goto("/login")
    page.fill("#login-username", "nurse2")
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    box = page.locator("#login-error")
    expect(box).to_be_visible()
    expect(box.locator(".error-text")).to_have_text(EN["error.invalid_credentials"])
    expect(box).to_have_attribute("data-code", "invalid_credentials")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert page.input_value("#login-password") == ""
    screenshot(page, "login-error")


def test_a_chinese_error_box_has_no_english_line(page: Any, live_daemon: LiveDaemon) -> None:
    """The envelope's message_key picks the zh-CN text; the daemon's English message stays off a Chinese screen."""
    page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": live_daemon.base_url}])
    page.goto("/login")
    page.fill("#login-username", "nurse2")
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    box = page.locator("#login-error")
    expect(box.locator(".error-text")).to_have_text(ZH["error.invalid_credentials"])
    expect(box.locator(".error-message")).to_have_count(0)
    expect(box.locator(".error-code")).to_have_text(ZH["error.code"].format(code="invalid_credentials"))


def test_locale_switch_translates_the_page_and_sticks(page: Any, login: Login) -> None:
    login(page, "inspector")
    page.goto("/inspector/verifications?decision=reject")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("a[data-locale='zh-CN']")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(re.compile(r"/inspector/verifications\?decision=reject$"))  # same page, same filter
    expect(page.locator("h1")).to_have_text(ZH["verifications.title"])
    expect(page.locator("nav.mainnav a").first).to_have_text(ZH["nav.verifications"])
    expect(page.locator("#logout")).to_have_text(ZH["nav.logout"])
    # scripts translate too: the table's decision badges come from the embedded catalogue
    expect(page.locator("#verifications tbody .badge-reject").first).to_contain_text(ZH["decision.reject"])
    screenshot(page, "inspector-zh-CN")
    page.reload()
    expect(page.locator("h1")).to_have_text(ZH["verifications.title"])
    page.click("a[data-locale='en']")
    expect(page.locator("h1")).to_have_text(EN["verifications.title"])


def test_admin_creates_and_disables_a_staff_account(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    password = "initial-pass-4711"
    display_name = "王护士 (test)"
    live_daemon.private_strings.update({password, display_name})
    login(page, "itadmin")
    page.goto("/admin/staff")
    expect(page.locator("#staff-table tbody tr")).to_have_count(4)  # the demo accounts
    # a too-short password: the API's validation error is shown next to the form, naming the field
    page.fill("#staff-username", "nurse9")
    page.fill("#staff-display-name", display_name)
    page.select_option("#staff-role", "nurse")
    page.fill("#staff-password", "short")
    page.click("#staff-form button[type=submit]")
    error = page.locator("#staff-form-error")
    expect(error.locator(".error-text")).to_have_text(EN["error.validation_error"])
    expect(error.locator(".error-details")).to_contain_text(EN["field.password"])
    page.fill("#staff-password", password)
    page.click("#staff-form button[type=submit]")
    expect(page.locator("#staff-form-ok")).to_have_text(EN["staff.created"].format(username="nurse9"))
    row = page.locator("#staff-table tr[data-username='nurse9']")
    expect(row).to_contain_text(display_name)
    expect(row).to_contain_text(EN["role.nurse"])
    expect(row).to_contain_text(EN["staff.active"])
    # edit: new display name, role and password (reset by the administrator)
    new_password = "reset-pass-0815x"
    live_daemon.private_strings.add(new_password)
    row.locator("button[data-action='edit']").click()
    edit = page.locator("#edit-form")
    expect(edit).to_be_visible()
    expect(page.locator("#staff-form")).to_be_hidden()
    expect(page.locator("#edit-display-name")).to_have_value(display_name)
    page.fill("#edit-display-name", "王护士 (ward 2)")
    page.select_option("#edit-role", "inspector")
    page.fill("#edit-password", new_password)
    screenshot(page, "admin-staff-edit")
    edit.locator("button[type=submit]").click()
    expect(page.locator("#staff-form-ok")).to_have_text(EN["staff.saved"].format(username="nurse9"))
    expect(row).to_contain_text("王护士 (ward 2)")
    expect(row).to_contain_text(EN["role.inspector"])
    # the account works with the new password only, in its new role ...
    with httpx.Client(base_url=live_daemon.base_url) as api:
        assert api.post("/api/v1/auth/login", json={"username": "nurse9", "password": password}).status_code == 401
        login_resp = api.post("/api/v1/auth/login", json={"username": "nurse9", "password": new_password})
        assert login_resp.status_code == 200 and login_resp.json()["staff"]["role"] == "inspector"
    password = new_password
    # ... until it is disabled (after a confirmation dialog)
    row.locator("button[data-action='disable']").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    screenshot(page, "admin-staff-confirm")
    page.click("#confirm-ok")
    expect(row).to_contain_text(EN["staff.disabled"])
    with httpx.Client(base_url=live_daemon.base_url) as api:
        resp = api.post("/api/v1/auth/login", json={"username": "nurse9", "password": password})
        assert resp.status_code == 401
    # nobody can disable themselves, or change their own role, from this page
    own = page.locator("#staff-table tr[data-username='itadmin']")
    expect(own.locator("button[data-action='disable']")).to_have_count(0)
    own.locator("button[data-action='edit']").click()
    expect(page.locator("#edit-role")).to_be_disabled()
    page.click("#edit-cancel")
    expect(page.locator("#staff-form")).to_be_visible()
    screenshot(page, "admin-staff")


def test_admin_issues_rotates_and_revokes_an_api_key(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    login(page, "itadmin")
    page.goto("/admin/keys")
    page.fill("#key-name", "HIS interface")
    page.select_option("#key-role", "inspector")
    page.click("#key-form button[type=submit]")
    secret = page.locator("#issued-token")
    expect(page.locator("#issued")).to_be_visible()
    token = secret.inner_text().strip()
    live_daemon.private_strings.add(token)
    row = page.locator("#keys-table tr", has_text="HIS interface")
    expect(row).to_have_attribute("data-status", "active")
    key_id = row.get_attribute("data-key-id")
    assert key_id and key_id not in token
    assert page.get_attribute("#issued", "data-key-id") == key_id
    screenshot(page, "admin-key-issued")

    def status(bearer: str) -> int:
        with httpx.Client(base_url=live_daemon.base_url) as api:
            return api.get("/api/v1/verifications", headers={"Authorization": f"Bearer {bearer}"}).status_code

    assert status(token) == 200
    # rotate: a successor key with a new secret (shown once) replaces it; the old secret stops working
    page.click("#issued-dismiss")
    expect(page.locator("#issued")).to_be_hidden()
    row.locator("button[data-action='rotate']").click()
    page.click("#confirm-ok")
    expect(page.locator("#issued")).to_be_visible()
    expect(secret).not_to_have_text(token)
    rotated = secret.inner_text().strip()
    live_daemon.private_strings.add(rotated)
    successor_id = page.get_attribute("#issued", "data-key-id")
    assert successor_id and successor_id != key_id
    old_row = page.locator(f"#keys-table tr[data-key-id='{key_id}']")
    new_row = page.locator(f"#keys-table tr[data-key-id='{successor_id}']")
    expect(old_row).to_have_attribute("data-status", "revoked")
    expect(new_row).to_have_attribute("data-status", "active")
    expect(new_row).to_contain_text("HIS interface")
    assert status(token) == 401 and status(rotated) == 200
    # revoke (cancel once first: nothing happens)
    new_row.locator("button[data-action='revoke']").click()
    page.click("#confirm-cancel")
    expect(new_row).to_have_attribute("data-status", "active")
    new_row.locator("button[data-action='revoke']").click()
    page.click("#confirm-ok")
    expect(new_row).to_have_attribute("data-status", "revoked")
    expect(new_row).to_contain_text(EN["keys.status_revoked"])
    expect(new_row.locator("button")).to_have_count(0)
    assert status(rotated) == 401
    # after a reload the secret is gone from the page for good
    page.reload()
    expect(page.locator("#issued")).to_be_hidden()
    assert rotated not in page.content()
    screenshot(page, "admin-keys")


def test_devices_page_reads_healthz(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    with httpx.Client(base_url=live_daemon.base_url) as api:
        health = api.get("/healthz").json()
    login(page, "itadmin")
    expect(page).to_have_url(re.compile(r"/admin/devices$"))
    expect(page.locator("#health-status .badge")).to_have_attribute("data-status", health["status"])
    expect(page.locator("#health-database")).to_contain_text(health["database"]["backend"])
    expect(page.locator("#health-version")).to_have_text(health["version"])
    expect(page.locator("#health-workstation")).to_have_text(health["workstation"])
    expect(page.locator("#device-cards .card")).to_have_count(len(health["devices"]))
    if not health["devices"]:
        expect(page.locator("#device-cards")).to_have_text(EN["devices.none"])
    screenshot(page, "admin-devices")


def test_inspector_filters_and_pages_through_verifications(page: Any, login: Login) -> None:
    login(page, "inspector")
    total = len(SEEDED)
    expect(page.locator("#list-summary")).to_have_text(EN["list.total"].format(total=total))
    rows = page.locator("#verifications tbody tr[data-verification-id]")
    expect(rows).to_have_count(25)
    expect(page.locator("#pager-range")).to_have_text(EN["pager.range"].format(start=1, end=25, total=total))
    expect(page.locator("#pager-prev")).to_be_hidden()
    screenshot(page, "inspector-verifications")
    page.click("#pager-next")
    expect(page).to_have_url(re.compile(r"\?offset=25$"))
    expect(rows).to_have_count(total - 25)
    expect(page.locator("#pager-next")).to_be_hidden()
    expect(page.locator("#pager-prev")).to_be_visible()
    expect(page.locator("#verifications")).to_contain_text(OTHER_WORKSTATION)  # clinic-wide (oldest rows)
    # filter by stage and decision; the form keeps showing the active filter
    page.select_option("#f-decision", "reject")
    page.select_option("#f-stage", "sperm_retrieval")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"\?stage=sperm_retrieval&decision=reject$"))
    rejects = sum(1 for stage, decision, _ in SEEDED if (stage, decision) == ("sperm_retrieval", "reject"))
    assert rejects > 0
    expect(page.locator("#list-summary")).to_have_text(EN["list.total"].format(total=rejects))
    expect(rows).to_have_count(rejects)
    expect(page.locator("#verifications tbody .badge-reject")).to_have_count(rejects)
    expect(page.locator("#verifications tbody .badge-accept")).to_have_count(0)
    expect(rows.first).to_contain_text(EN["reason.face_mismatch"])
    expect(page.locator("#f-decision")).to_have_value("reject")
    expect(page.locator("#f-stage")).to_have_value("sperm_retrieval")
    page.select_option("#f-stage", "egg_retrieval")
    page.click("#filters button[type=submit]")
    expected = sum(1 for stage, decision, _ in SEEDED if (stage, decision) == ("egg_retrieval", "reject"))
    expect(page.locator("#list-summary")).to_have_text(EN["list.total"].format(total=expected))
    if not expected:
        expect(page.locator("#verifications tbody")).to_contain_text(EN["list.empty"])
    # a date range that ends before any record was made finds nothing
    page.fill("#f-until", "2020-01-31")
    page.click("#filters button[type=submit]")
    expect(page.locator("#list-summary")).to_have_text(EN["list.total"].format(total=0))
    # details: ids, factors and policy, never the patient's identity
    page.goto("/inspector/verifications?decision=accept")
    first = rows.first
    vid = first.get_attribute("data-verification-id")
    first.locator("button[data-toggle-for]").click()
    detail = page.locator(f"tr[data-detail-for='{vid}']")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text(vid)
    expect(detail.locator("pre.json")).to_have_count(0)  # a readable record, not a JSON dump
    expect(detail.locator("tr[data-factor='face'] td[data-cell='score']")).to_have_text(re.compile(r"^0\.\d{3}$"))
    html = page.content()
    for value in PATIENT_IDENTITY.values():
        assert value not in html
    screenshot(page, "inspector-verification-detail")


def test_nurse_results_are_this_workstations_only(page: Any, login: Login) -> None:
    login(page, "nurse1")
    page.click("nav.mainnav a[href='/nurse/results']")
    here = sum(1 for *_, workstation in SEEDED if workstation == WORKSTATION)
    expect(page.locator("#list-summary")).to_have_text(EN["list.total"].format(total=here))
    expect(page.locator("#verifications")).not_to_contain_text(OTHER_WORKSTATION)
    screenshot(page, "nurse-results")


OUTCOMES: dict[str, dict[str, Any]] = {
    "accept": {"id": "v-accept", "decision": "accept", "reasons": [],
               "factors": {"face": {"score": 0.93, "threshold": 0.6},
                           "fingerprint": {"score": 0.88, "finger": "right_index"},
                           "document": {"passed": True}}},
    "reject": {"id": "v-reject", "decision": "reject",
               "reasons": [{"code": "face_mismatch", "params": {"score": 0.21, "threshold": 0.6}},
                           {"code": "liveness_failed", "params": {"factor": "face",
                                                                  "cause": {"code": "pad_spoof_suspected"}}},
                           "a_reason_the_ui_does_not_know"],
               "factors": {"face": {"score": 0.21, "threshold": 0.6}}},
    "retry": {"id": "v-retry", "decision": "retry", "reasons": [{"code": "finger_quality_low", "params": {}}],
              "factors": {"fingerprint": {"quality": 12}}},
}


def test_nurse_stage_check_shows_accept_reject_and_retry(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """Open cycles come from the daemon's API; the check itself (``POST /cycles/{id}/checks``, built in parallel
    by the workflow issue) is answered by a page-level fixture following its contract."""
    held: list[Route] = []
    page.route("**/api/v1/cycles/*/checks", lambda route: held.append(route))  # noqa: PLW0108 (needs a Python function)
    login(page, "nurse1")
    cycles = page.locator("#cycles button.choice")
    expect(cycles).to_have_count(3)  # the closed cycle is not offered
    ivf = page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['ivf']}']")
    expect(ivf).to_contain_text(EN["cycle_kind.ivf"])
    expect(ivf).to_contain_text(EN["stage.egg_retrieval"])
    expect(page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['closed']}']")).to_have_count(0)
    expect(page.locator("#start-check")).to_be_disabled()
    screenshot(page, "nurse-check-pick")
    for decision, outcome in OUTCOMES.items():
        ivf.click()
        expect(ivf).to_have_attribute("aria-pressed", "true")
        page.locator("#stages button[data-stage='egg_retrieval']").click()
        page.click("#start-check")
        expect(page.locator("#progress")).to_be_visible()  # matching: the request is still open
        expect(page.locator("#prompts")).to_contain_text(EN["prompt.finger"].format(finger=EN["finger.right_index"]))
        expect(page.locator("#start-check")).to_be_disabled()
        request = _next_route(page, held)
        # the daemon captures on this workstation's devices
        assert json.loads(request.request.post_data or "{}") == {"stage": "egg_retrieval", "use_devices": True}
        assert request.request.headers.get("x-csrf-token")  # state change carries the CSRF token
        assert request.request.url.endswith(f"/api/v1/cycles/{live_daemon.cycles['ivf']}/checks")
        alert = {"code": "repeated_rejects", "params": {"rejects_24h": 3}} if decision == "reject" else None
        request.fulfill(status=201, json={"verification": outcome, "alert": alert, "timings_ms": {"total": 900.0}})
        result = page.locator("#result .result")
        expect(result).to_have_attribute("data-decision", decision)
        expect(result).to_have_class(re.compile(rf"\bresult-{decision}\b"))
        expect(result.locator(".result-word")).to_have_text(EN[f"decision_banner.{decision}"])
        expect(result.locator(".result-summary")).to_have_text(EN[f"result.summary_{decision}"])
        expect(result.locator("figure[data-photo]")).to_have_count(2)
        expect(page.locator("#progress")).to_be_hidden()
        for reason in outcome["reasons"]:
            code = reason if isinstance(reason, str) else reason["code"]
            item = result.locator(f"li[data-reason='{code}']")
            # the label in the page's language, as the daemon renders it; an unknown code shows as it is
            expect(item).to_have_text(render(Translator("en"), reason) if code in set(ReasonCode) else code)
        for factor in outcome["factors"]:
            expect(result.locator(f"tr[data-factor='{factor}'] th")).to_have_text(EN[f"factor.{factor}"])
        if alert:
            expect(page.locator("#check-alert")).to_contain_text(render(Translator("en"), alert))
        else:
            expect(page.locator("#check-alert")).to_have_count(0)
        screenshot(page, f"nurse-result-{decision}")
        page.click("#next-patient")
        expect(page.locator("#result .result")).to_have_count(0)


def test_nurse_check_shows_api_errors_from_the_envelope(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """End to end: the test daemon has no devices, so the real check endpoint answers 503 device_unavailable."""
    login(page, "nurse1")
    # a cycle with one stage: the stage is chosen with the cycle
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['fet']}']").click()
    expect(page.locator("#stages button[aria-pressed='true']")).to_have_text(EN["stage.frozen_embryo_transfer"])
    page.click("#start-check")
    box = page.locator("#page-error")
    expect(box.locator(".error-text")).to_have_text(EN["error.device_unavailable"])
    expect(box).to_have_attribute("data-code", "device_unavailable")
    expect(page.locator("#result .result")).to_have_count(0)
    expect(page.locator("#start-check")).to_be_enabled()  # the nurse can try again
    screenshot(page, "nurse-check-error")


SMALL_TARGETS_JS = """() => {
  const small = [];
  let checked = 0;
  for (const el of document.querySelectorAll("button, a.btn, input, select, nav a, .locale-switch a")) {
    // a radio button or checkbox is touched through its label
    const target = ["radio", "checkbox"].includes(el.type) && el.closest("label") ? el.closest("label") : el;
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered (hidden)
    checked += 1;
    if (box.height < 44 || box.width < 44) small.push(`${el.tagName}#${el.id} ${box.width}x${box.height}`);
  }
  return {small, checked};
}"""


@pytest.mark.parametrize("username", list(ROLE_OF))
def test_every_page_fits_1280x800_with_touch_sized_controls(page: Any, login: Login, username: str) -> None:
    """Touch screens at the bedside: every control at least 44x44 CSS px (WCAG 2.5.5), no sideways scrolling."""
    role = ROLE_OF[username]
    login(page, username)
    for screen in (s for s in SCREENS if s.role is role):
        page.goto(screen.path)
        page.wait_for_load_state("networkidle")
        targets = page.evaluate(SMALL_TARGETS_JS)
        assert targets["small"] == [], screen.path
        assert targets["checked"] >= 4, screen.path  # menu, locale switch, logout at least
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, screen.path


def _run_check(page: Any, live_daemon: LiveDaemon, outcome: dict[str, Any]) -> Any:
    page.route("**/api/v1/cycles/*/checks", lambda route: route.fulfill(status=201, json={"verification": outcome}))
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['fet']}']").click()
    page.click("#start-check")
    result = page.locator("#result .result")
    expect(result).to_have_attribute("data-decision", outcome["decision"])
    return result


def test_nurse_override_needs_a_second_staff_member(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """The two-person override under a REJECT, against the override API contract (page-level fixture): reason,
    witness credentials in the JSON body only, the API's refusal shown, then the recorded override."""
    witness_password = live_daemon.passwords["nurse2"]
    calls: list[dict[str, Any]] = []

    def override_api(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        calls.append({"body": body, "url": route.request.url, "csrf": route.request.headers.get("x-csrf-token")})
        if body["witness_username"] == "nurse1":
            route.fulfill(status=403, json={"error": {"code": "witness_same_person", "message": "x", "details": None}})
        else:
            route.fulfill(status=201, json={"id": "o-1", "verification_id": "v-reject",
                                            "reason_code": body["reason_code"], "requested_by": "s-1",
                                            "witness_id": "s-2", "created_at": "2026-11-23T10:00:00Z"})

    page.route("**/api/v1/verifications/*/override", override_api)
    login(page, "nurse1")
    result = _run_check(page, live_daemon, OUTCOMES["reject"])
    form = page.locator("#override-form")
    expect(form).to_be_hidden()
    page.click("#override-open")
    expect(form).to_be_visible()
    page.select_option("#override-reason", "worn_fingerprints")
    # missing witness credentials: refused in the page, nothing sent
    page.click("#override-form button[type=submit]")
    expect(page.locator("#override-error .error-text")).to_have_text(EN["error.witness_required"])
    assert calls == []
    # the requesting nurse cannot witness her own override: the API's refusal is shown, the password cleared
    page.fill("#override-witness", "nurse1")
    page.fill("#override-witness-password", live_daemon.passwords["nurse1"])
    page.click("#override-form button[type=submit]")
    expect(page.locator("#override-error .error-text")).to_have_text(EN["error.witness_same_person"])
    expect(page.locator("#override-witness-password")).to_have_value("")
    screenshot(page, "nurse-override-refused")
    page.fill("#override-witness", "nurse2")
    page.fill("#override-witness-password", witness_password)
    page.click("#override-form button[type=submit]")
    done = page.locator("#override-done")
    expect(done).to_contain_text(EN["override.done"])
    expect(done).to_contain_text(EN["override_reason.worn_fingerprints"])
    expect(result).to_have_attribute("data-overridden", "true")
    expect(page.locator("#override-form")).to_have_count(0)
    assert len(calls) == 2
    assert calls[1]["body"] == {"reason_code": "worn_fingerprints", "witness_username": "nurse2",
                                "witness_password": witness_password}
    assert calls[1]["url"].endswith("/api/v1/verifications/v-reject/override") and calls[1]["csrf"]
    assert witness_password not in page.content()
    screenshot(page, "nurse-override-recorded")


def test_accepted_checks_offer_no_override(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    login(page, "nurse1")
    _run_check(page, live_daemon, OUTCOMES["accept"])
    expect(page.locator("#override-open")).to_have_count(0)


def test_camera_preview_shows_the_daemons_frames(page: Any, login: Login) -> None:
    """Frames come from the daemon's preview endpoint (answered here by a page-level fixture with a real JPEG);
    when it fails the placeholder stays."""
    import cv2
    import numpy as np

    frame = np.zeros((240, 320, 3), np.uint8)
    cv2.rectangle(frame, (100, 60), (220, 180), (40, 160, 40), -1)
    ok, jpeg = cv2.imencode(".jpg", frame)
    assert ok
    served: list[str] = []

    def preview(route: Route) -> None:
        served.append(route.request.url)
        route.fulfill(status=200, body=jpeg.tobytes(), headers={"Content-Type": "image/jpeg"})

    page.route("**/api/v1/devices/camera/preview.jpg", preview)
    login(page, "nurse1")
    camera = page.locator("#camera-frame")
    expect(camera).to_have_attribute("data-live", "true")
    img = page.locator("#camera-frame img.camera-img")
    expect(img).to_be_visible()
    _wait_until(page, "document.querySelector('#camera-frame img').naturalWidth === 320")
    expect(page.locator("#camera-frame .muted")).to_be_hidden()
    _wait_until(page, "document.querySelector('#camera-frame img').src.startsWith('blob:')")
    first_src = page.get_attribute("#camera-frame img", "src")
    _wait_until(page, f"document.querySelector('#camera-frame img').src !== {json.dumps(first_src)}")
    assert len(served) >= 2  # it keeps polling: a new frame replaced the first
    screenshot(page, "nurse-camera-live")
    page.unroute("**/api/v1/devices/camera/preview.jpg")
    page.route("**/api/v1/devices/camera/preview.jpg", lambda route: route.fulfill(status=503, json={"error": {
        "code": "device_unavailable", "message": "camera not answering", "details": None}}))
    expect(camera).to_have_attribute("data-live", "false")
    expect(page.locator("#camera-frame .muted")).to_have_text(EN["check.camera_unavailable"])
    expect(img).to_be_hidden()


HEALTH_WITH_DEVICES = {
    "version": "0.1.0", "workstation": "ws-web", "status": "degraded",
    "database": {"status": "ok", "backend": "sqlite"},
    "devices": [
        {"kind": "id_reader", "name": "none", "status": "unavailable", "detail": "not configured"},
        {"kind": "fingerprint", "name": "zhiantec", "status": "ok", "detail": None},
        {"kind": "card_reader", "name": "vpcd 0", "status": "ok", "detail": None},
        {"kind": "camera", "name": "video0", "status": "error", "detail": "no frames for 5 s"},
    ],
    "components": [],
}


def test_devices_page_runs_a_fingerprint_test_capture(page: Any, login: Login) -> None:
    """Device list and test capture against the device API contract (page-level fixtures: the test daemon has no
    devices attached)."""
    components = [*HEALTH_WITH_DEVICES["devices"], {"kind": "ledger", "name": "ledger", "status": "ok"}]
    page.route("**/healthz", lambda route: route.fulfill(json={**HEALTH_WITH_DEVICES, "components": components}))
    held: list[Route] = []
    page.route("**/api/v1/devices/fingerprint/test", lambda route: held.append(route))  # noqa: PLW0108
    login(page, "itadmin")
    cards = page.locator("#device-cards .card")
    expect(cards).to_have_count(4)
    expect(page.locator("#component-cards .card")).to_have_count(1)  # the ledger, not the devices again
    expect(page.locator("#health-status .badge")).to_have_text(EN["health.degraded"])
    expect(page.locator("#device-cards .card[data-kind='camera']")).to_have_attribute("data-status", "error")
    expect(page.locator("#device-cards .card[data-kind='camera']")).to_contain_text("no frames for 5 s")
    expect(page.locator("button[data-test]")).to_have_count(4)  # a test per device (card readers, sensor, camera)
    finger = page.locator("#device-cards .card[data-kind='fingerprint']")
    finger.locator("button[data-test='fingerprint']").click()
    expect(finger.locator(".test-outcome")).to_have_text(EN["devices.test_running"])
    expect(finger.locator("button[data-test]")).to_be_disabled()
    route = _next_route(page, held)
    assert route.request.method == "POST" and route.request.headers.get("x-csrf-token")
    route.fulfill(json={"status": "ok", "width": 256, "height": 288, "quality": 71, "elapsed_ms": 812.4})
    outcome = finger.locator(".test-outcome")
    expect(outcome).to_have_text(EN["devices.test_ok"].format(width=256, height=288, ms=812, quality=71))
    expect(finger.locator("img")).to_have_count(0)  # IT staff never see a biometric image
    screenshot(page, "admin-devices-test")
    finger.locator("button[data-test='fingerprint']").click()
    failure = {"error": {"code": "device_unavailable", "message": "sensor timeout", "details": None}}
    _next_route(page, held).fulfill(status=503, json=failure)
    expect(outcome).to_have_attribute("data-outcome", "error")
    expect(outcome).to_have_text(EN["error.device_unavailable"])


def _seed_audit_events(live_daemon: LiveDaemon, count: int) -> None:
    from idverify.audit import record

    actor: dict[str, str | None] = {"staff_id": "s-web-test", "role": "nurse", "workstation": "ws-web"}
    with live_daemon.app.state.ctx.session_factory() as db:
        for i in range(count):
            decision = DECISIONS_CYCLE[i % 3]
            record(db, actor, "verification.completed", subject={"patient_id": f"p-{i:04d}", "cycle_id": "c-1"},
                   data={"stage": "egg_retrieval", "decision": decision, "verification_id": f"v-{i:04d}"})
        record(db, actor, "staff.login", data={})
        db.commit()


DECISIONS_CYCLE = ("accept", "reject", "retry")


def test_inspector_audit_ledger_browser(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """Integrity, signed checkpoint, event filters, keyset paging and export links against the daemon's audit API
    (skipped while that API is not part of the build)."""
    with httpx.Client(base_url=live_daemon.base_url) as api:
        probe = api.get("/api/v1/audit/events")
    if probe.status_code == 404:
        pytest.skip("the audit API (/api/v1/audit) is not in this build")
    _seed_audit_events(live_daemon, 60)
    login(page, "inspector")
    csrf = page.get_attribute('meta[name="csrf-token"]', "content")
    made = page.request.post("/api/v1/audit/checkpoints", headers={"X-CSRF-Token": csrf})
    assert made.status == 201, made.text()
    checkpoint = made.json()
    page.click("nav.mainnav a[href='/inspector/audit']")
    expect(page.locator("#integrity-status .badge")).to_have_attribute("data-ok", "true")
    expect(page.locator("#checkpoint-root")).to_have_text(checkpoint["root_hash"])
    expect(page.locator("#checkpoint-size")).to_have_text(str(checkpoint["tree_size"]))
    rows = page.locator("#events tbody tr[data-index]")
    expect(rows).to_have_count(50)  # one page
    indexes = [int(rows.nth(i).get_attribute("data-index") or -1) for i in range(3)]
    assert indexes == sorted(indexes, reverse=True)  # newest first
    screenshot(page, "inspector-audit")
    page.click("#events-older")
    expect(page).to_have_url(re.compile(r"\?after=\d+$"))
    older = int(rows.first.get_attribute("data-index") or -1)
    assert older < indexes[-1]
    expect(page.locator("#events-newest")).to_be_visible()
    # filters: event type prefix and decision; the export links carry the same filters
    page.goto("/inspector/audit")
    page.select_option("#a-type", "verification.*")
    page.select_option("#a-decision", "reject")
    page.click("#audit-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"\?type=verification\.\*&decision=reject$"))
    expect(rows).to_have_count(20)
    for i in range(3):
        expect(rows.nth(i)).to_have_attribute("data-type", "verification.completed")
    href = page.get_attribute("#export-csv", "href") or ""
    assert href.startswith("/api/v1/audit/export?") and "decision=reject" in href and "format=csv" in href
    for link, version in (("#export-fhir", "r5"), ("#export-fhir_r4", "r4")):  # both FHIR releases (issue 16.13)
        fhir_href = page.get_attribute(link, "href") or ""
        assert "format=fhir" in fhir_href and f"fhir_version={version}" in fhir_href and "decision=reject" in fhir_href
    with page.expect_download() as r4_info:
        page.click("#export-fhir_r4")
    assert r4_info.value.suggested_filename.endswith(".r4.fhir.json")
    r4_text = Path(r4_info.value.path()).read_text(encoding="utf-8")
    assert R4Bundle.model_validate_json(r4_text).type == "collection" and r4_text.count('"AuditEvent"') == 20
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_text(encoding="utf-8")
    assert content.count("verification.completed") == 20


def test_inspector_monthly_report_matches_the_api(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """The page draws what ``GET /api/v1/reports/monthly`` says (skipped while that API is not in the build)."""
    with httpx.Client(base_url=live_daemon.base_url) as api:
        if api.get("/api/v1/reports/monthly?month=2026-01").status_code == 404:
            pytest.skip("the reports API (/api/v1/reports) is not in this build")
    login(page, "inspector")
    page.click("nav.mainnav a[href='/inspector/reports']")
    page.wait_for_url("**/inspector/reports")
    expect(page.locator("#r-month")).not_to_have_value("")  # the script fills in the current month
    month = page.input_value("#r-month")
    assert re.fullmatch(r"\d{4}-\d{2}", month)
    response = page.request.get(f"/api/v1/reports/monthly?month={month}")
    assert response.ok, response.text()
    report = response.json()
    checks = report["checks"]
    expect(page.locator("#sum-checks")).to_have_text(str(checks["total"]))
    for decision in ("accept", "reject", "retry"):
        expect(page.locator(f"#sum-{decision}")).to_have_text(str(checks["by_decision"][decision]))
    bars = page.locator("#stage-chart .bar-row")
    expect(bars).to_have_count(len(checks["by_stage"]))
    for stage, counts in checks["by_stage"].items():
        row = page.locator(f"#stage-chart .bar-row[data-stage='{stage}']")
        expect(row).to_have_attribute("data-total", str(counts["total"]))
        expect(row.locator(".bar-label")).to_have_text(EN.get(f"stage.{stage}", stage))
        for decision in ("accept", "reject", "retry"):
            segment = row.locator(f".bar-seg[data-decision='{decision}']")
            expect(segment).to_have_count(1 if counts.get(decision) else 0)
    # the commonest reject reasons, grouped by code and factor, in the page's language
    items = page.locator("#reject-reasons li")
    expect(items).to_have_count(len(report["reject_reasons"]))
    for i, item in enumerate(report["reject_reasons"]):
        expect(items.nth(i)).to_have_text(f"{render(Translator('en'), item)} — {item['count']}")
    # the CSV's label column and the PDF are in the language of the screen they were asked from
    assert page.get_attribute("#report-csv", "href") == f"/api/v1/reports/monthly.csv?month={month}&lang=en"
    assert page.get_attribute("#report-pdf", "href") == f"/api/v1/reports/monthly.pdf?month={month}&lang=en"
    screenshot(page, "inspector-report")
    with page.expect_download() as download_info:
        page.click("#report-pdf")
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and b"/FontFile2" in pdf


def _failed_delivery(live_daemon: LiveDaemon) -> str:
    from sqlalchemy import select

    from idverify.webhooks import MAX_ATTEMPTS, WebhookDelivery, enqueue

    with live_daemon.app.state.ctx.session_factory() as db:
        assert enqueue(db, "verification.completed", {"id": "v-browser", "decision": "accept"}) == 1
        db.flush()
        delivery = db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc())).first()
        assert delivery is not None
        delivery.status, delivery.attempts, delivery.last_status = "failed", MAX_ATTEMPTS, 500
        db.commit()
        return str(delivery.id)


def test_admin_settings_webhooks_and_stage_policy(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    with httpx.Client(base_url=live_daemon.base_url) as api:
        if api.get("/api/v1/webhooks").status_code == 404:
            pytest.skip("the configuration API is not in this build")
    login(page, "itadmin")
    page.click("nav.mainnav a[href='/admin/settings']")
    # webhooks: add (secret shown once), then disable
    page.fill("#webhook-url", "http://127.0.0.1:9/idverify-hook")
    page.click("#webhook-form button[type=submit]")
    expect(page.locator("#webhook-issued")).to_be_visible()
    secret = page.inner_text("#webhook-secret").strip()
    assert len(secret) > 16
    live_daemon.private_strings.add(secret)
    row = page.locator("#webhooks-table tr", has_text="http://127.0.0.1:9/idverify-hook")
    expect(row).to_have_attribute("data-active", "true")
    expect(row).to_contain_text("verification.completed")
    # a delivery the receiver refused until the schedule gave up: shown with its last answer, and sent again
    failed_id = _failed_delivery(live_daemon)
    page.reload()
    failed = page.locator(f"#deliveries-table tr[data-delivery-id='{failed_id}']")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed).to_contain_text("500")
    expect(page.locator("#deliveries-summary")).to_contain_text("1 failed")
    failed.locator("button[data-action='redeliver']").click()
    expect(failed).to_have_attribute("data-status", re.compile("pending|sending"))
    row.locator("button[data-action='disable']").click()
    page.click("#confirm-ok")
    expect(row).to_have_attribute("data-active", "false")
    # a URL that is not http(s) is refused by the API, and the reason is shown
    page.fill("#webhook-url", "ftp://example.invalid/x")
    page.click("#webhook-form button[type=submit]")
    expect(page.locator("#webhook-form-error .error-text")).to_have_text(EN["error.validation_error"])
    # stage policy: not JSON, then a stage the daemon does not know, then a valid override that persists
    textarea = page.locator("#policy-json")
    expect(textarea).to_have_value("{}")  # loaded: no overrides yet
    # the table shows the built-in defaults
    expect(page.locator("#policy-table tbody tr[data-stage]")).to_have_count(len(STAGE_CODES))
    expect(page.locator("#pol-embryo_transfer-face-liveness")).to_be_checked()
    expect(page.locator("#pol-embryo_transfer-face-challenge")).to_have_value("")
    expect(page.locator("#pol-egg_retrieval-fingerprint-fmr")).to_have_value("0.001")
    expect(page.locator("#pol-egg_retrieval-document_photo-required")).not_to_be_checked()
    page.click("#policy-advanced summary")
    textarea.fill("{not json")
    page.click("#policy-form button[type=submit]")
    expect(page.locator("#policy-error .error-text")).to_have_text(EN["error.policy_not_json"])
    textarea.fill('{"moon_landing": {}}')
    page.click("#policy-form button[type=submit]")
    expect(page.locator("#policy-error")).to_have_attribute("data-code", "validation_error")
    expect(page.locator("#policy-error .error-message")).to_contain_text("moon_landing")
    fingerprint = {"required": True, "target_fmr": 0.0001}
    policy = {"egg_retrieval": {"subject": "female", "factors": {"fingerprint": fingerprint}}}
    textarea.fill(json.dumps(policy))
    page.click("#policy-form button[type=submit]")
    expect(page.locator("#policy-ok")).to_have_text(EN["settings.policy_saved"])
    screenshot(page, "admin-settings")
    page.reload()
    expect(textarea).to_have_value(re.compile("egg_retrieval"))  # loaded back from the daemon
    assert json.loads(textarea.input_value()) == policy
    expect(page.locator("#pol-egg_retrieval-fingerprint-fmr")).to_have_value("0.0001")
    # the same through the table: only what differs from the defaults is kept, the stage's subject stays
    page.uncheck("#pol-embryo_transfer-face-liveness")
    page.select_option("#pol-sperm_retrieval-face-fmr", "0.01")
    page.check("#pol-egg_retrieval-document_photo-required")
    page.select_option("#pol-embryo_transfer-face-challenge", "head_turn")
    page.click("#policy-form button[type=submit]")
    expect(page.locator("#policy-ok")).to_have_text(EN["settings.policy_saved"])
    screenshot(page, "admin-settings-policy-table")
    stored = page.request.get("/api/v1/settings/policy").json()["stages"]
    assert stored == {
        "egg_retrieval": {"subject": "female", "factors": {"fingerprint": {"target_fmr": 0.0001},
                                                           "document_photo": {"required": True}}},
        "embryo_transfer": {"factors": {"face": {"liveness": False, "active_liveness": "head_turn"}}},
        "sperm_retrieval": {"factors": {"face": {"target_fmr": 0.01}}},
    }
    # leave the default policy for the other tests
    page.click("#policy-advanced summary")
    textarea.fill("{}")
    page.click("#policy-form button[type=submit]")
    expect(page.locator("#policy-ok")).to_be_visible()
    expect(page.locator("#pol-embryo_transfer-face-liveness")).to_be_checked()


def test_nurse_enrolment_wizard(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """Document (entered by hand; the card reader is absent), consent and the capture error run against the daemon;
    the enrolment outcome (which needs real devices) comes from a page-level fixture with the API's shape."""
    name, number = "测试患者乙", "110105199001011224"
    live_daemon.private_strings.update({name, number})
    login(page, "nurse1")
    page.click("nav.mainnav a[href='/nurse/enrol']")
    expect(page.locator("#wizard-steps li[aria-current='step']")).to_have_attribute("data-step", "document")
    page.click("#read-card")  # no reader on the test daemon
    expect(page.locator("#document-error")).to_have_attribute("data-code", "device_unavailable")
    page.select_option("#p-type", "cn_resident_id")
    page.fill("#p-number", number)
    page.fill("#p-name", name)
    page.select_option("#p-sex", "F")
    page.fill("#p-birth", "1990-01-01")
    page.click("#register")
    expect(page.locator("#step-consent")).to_be_visible()
    expect(page.locator("#patient-banner")).to_contain_text(name)
    expect(page.locator("#patient-banner")).to_contain_text(EN["enrol.patient_new"])
    # refusing everything is stopped in the page
    for modality in ("face", "fingerprint", "document_photo"):
        page.check(f"input[name='m-{modality}'][value='refuse']")
    page.click("#consent-submit")
    expect(page.locator("#consent-error .error-text")).to_have_text(EN["error.consent_nothing_accepted"])
    page.check("input[name='m-fingerprint'][value='accept']")  # face refused, fingerprints accepted
    screenshot(page, "nurse-enrol-consent")
    page.click("#consent-submit")
    expect(page.locator("#step-capture")).to_be_visible()
    page.click("#capture-start")  # the real endpoint: no devices here
    expect(page.locator("#capture-error")).to_have_attribute("data-code", "device_unavailable")
    expect(page.locator("#capture-progress")).to_be_hidden()
    # the recorded consent is what the nurse chose
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    consent_urls = [u for u in urls if u.endswith("/consent")]
    assert len(consent_urls) == 1  # /api/v1/patients/<id>/consent: the id, never the name or number
    patient_id = consent_urls[0].split("/patients/")[1].split("/")[0]
    consent = page.request.get(f"/api/v1/patients/{patient_id}/consent").json()
    assert consent["modalities"] == ["fingerprint"] and sorted(consent["refused"]) == ["document_photo", "face"]
    page.route(f"**/api/v1/patients/{patient_id}/enrolment", lambda route: route.fulfill(status=201, json={
        "id": "e-1", "patient_id": patient_id, "status": "duplicate_suspected",
        "result": {"duplicate_of": "p-other", "fingerprint": {"score": 0.97}}, "created_at": "2026-11-23T10:00:00Z",
        "workstation_id": "ws-web"}))
    page.click("#capture-start")
    expect(page.locator("#step-result")).to_be_visible()
    result = page.locator("#enrol-result .result")
    expect(result).to_have_attribute("data-status", "duplicate_suspected")
    expect(result).to_have_class(re.compile(r"\bresult-reject\b"))
    expect(result.locator(".result-word")).to_have_text(EN["enrol_status.duplicate_suspected"])
    screenshot(page, "nurse-enrol-duplicate")


def test_scanning_the_id_card_narrows_the_cycles_to_its_holder(page: Any, login: Login,
                                                                live_daemon: LiveDaemon) -> None:
    """The card read (no reader here) comes from a page-level fixture; patient lookup and couples are the daemon's."""
    document = {"document_type": "cn_resident_id", "document_number": PATIENT_IDENTITY["document_number"],
                "name": PATIENT_IDENTITY["name"], "sex": "F", "birth_date": "1949-12-31", "photo": "unavailable"}
    page.route("**/api/v1/devices/document/read",
               lambda route: route.fulfill(json={"document": document, "elapsed_ms": 850.0}))
    login(page, "nurse1")
    cycles = page.locator("#cycles button.choice")
    expect(cycles).to_have_count(3)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.click("#scan-card")
    expect(page.locator("#scan-note")).to_have_text(EN["check.scan_found"].format(count=2))
    expect(cycles).to_have_count(2)
    # one lookup and one query for the holder's cycles, not one request per couple on the list
    assert [u for u in requests if "/api/v1/couples/" in u] == []
    assert len([u for u in requests if "/api/v1/cycles?" in u and "patient_id=" in u]) == 1
    for kind in ("ivf", "fet"):
        expect(page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles[kind]}']")).to_have_count(1)
    expect(page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['other']}']")).to_have_count(0)
    screenshot(page, "nurse-check-scanned")
    page.click("#scan-clear")
    expect(cycles).to_have_count(3)
    # a card nobody is registered with: the API's not_found is shown and the list stays complete
    document["document_number"] = "NOBODY000000001"
    page.click("#scan-card")
    expect(page.locator("#page-error")).to_have_attribute("data-code", "not_found")
    expect(cycles).to_have_count(3)


def test_nurse_result_in_chinese(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": live_daemon.base_url}])
    login(page, "nurse1")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#prompts")).to_contain_text(ZH["prompt.finger"].format(finger=ZH["finger.right_index"]))
    result = _run_check(page, live_daemon, OUTCOMES["reject"])
    expect(result.locator(".result-word")).to_have_text(ZH["decision_banner.reject"])
    expect(result.locator("li[data-reason='face_mismatch']")).to_have_text(
        render(Translator("zh-CN"), OUTCOMES["reject"]["reasons"][0]))
    expect(page.locator("#override-open")).to_have_text(ZH["override.open"])
    screenshot(page, "nurse-result-reject-zh-CN")
