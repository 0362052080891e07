"""What the nurse's check screen must never mislead about (issue 17): a verdict shown beside someone else's name, a
mistyped second-nurse password that throws the REJECT away, an override reason chosen for her.

Against the seeded test daemon (no devices): the check's answer comes from a page-level fixture following the API's
contract where devices would be needed, the override goes to the real endpoint. Expected texts come from the
catalogues, in English and in Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idverify.i18n import catalogue

from .conftest import WORKSTATION, LiveDaemon, screenshot

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

Login = Callable[..., None]
EN = catalogue("en")
ZH = catalogue("zh-CN")
ACCEPT = {"id": "v-accept", "decision": "accept", "reasons": [], "factors": {"face": {"score": 0.93, "threshold": 0.6}}}


def _zh(page: Any, daemon: LiveDaemon) -> None:
    page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": daemon.base_url}])


def _seeded_reject(daemon: LiveDaemon) -> dict[str, Any]:
    """A REJECT recorded at this workstation and not overridden, as the check API returns it."""
    from sqlalchemy import select

    from idverify.store.models import Verification

    with daemon.app.state.ctx.session_factory() as db:
        row = db.scalars(select(Verification).where(Verification.workstation_id == WORKSTATION,
                                                    Verification.decision == "reject",
                                                    Verification.overridden.is_(False))).first()
        assert row is not None
        return {"id": row.id, "decision": "reject", "reasons": list(row.reasons), "factors": dict(row.factors)}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_verdict_leaves_the_screen_when_the_subject_changes(page: Any, login: Login, live_daemon: LiveDaemon,
                                                              locale: str) -> None:
    """Issue 17.1: after an ACCEPT, choosing another stage or another cycle without "next patient" takes the green
    banner away before the next person's name is shown; the check can be started again at once."""
    if locale == "zh-CN":
        _zh(page, live_daemon)
    text = ZH if locale == "zh-CN" else EN
    page.route("**/api/v1/cycles/*/checks", lambda route: route.fulfill(status=201, json={"verification": ACCEPT}))
    login(page, "nurse1")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['ivf']}']").click()
    page.click("#stages button[data-stage='egg_retrieval']")
    page.click("#start-check")
    result = page.locator("#result .result")
    expect(result.locator(".result-word")).to_have_text(text["decision_banner.accept"])
    expect(page.locator("#next-patient")).to_be_visible()

    page.click("#stages button[data-stage='sperm_retrieval']")  # another subject (him), same cycle
    expect(result).to_have_count(0)
    expect(page.locator("#next-patient")).to_be_hidden()
    expect(page.locator("#camera")).to_be_visible()
    expect(page.locator("#start-check")).to_be_enabled()

    page.click("#stages button[data-stage='egg_retrieval']")
    page.click("#start-check")
    expect(result).to_have_attribute("data-decision", "accept")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['other']}']").click()  # another couple
    expect(result).to_have_count(0)
    expect(page.locator("#subject")).not_to_contain_text(text["decision_banner.accept"])
    screenshot(page, f"nurse-check-subject-changed-{locale}")


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_mistyped_witness_password_keeps_the_reject_and_lets_her_retry(
        page: Any, login: Login, live_daemon: LiveDaemon, locale: str) -> None:
    """Issue 17.2 and 17.6: the real override endpoint answers 401 for the second nurse's wrong password; the page
    stays, the REJECT and the form stay, the error says whose password was wrong, the retry is recorded. No
    reason is chosen for the nurse."""
    if locale == "zh-CN":
        _zh(page, live_daemon)
    text = ZH if locale == "zh-CN" else EN
    reject = _seeded_reject(live_daemon)
    page.route("**/api/v1/cycles/*/checks", lambda route: route.fulfill(status=201, json={"verification": reject}))
    login(page, "nurse1")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['fet']}']").click()
    page.click("#start-check")
    result = page.locator("#result .result")
    expect(result).to_have_attribute("data-decision", "reject")
    page.click("#override-open")
    expect(page.locator("#override-reason")).to_have_value("")  # nothing legally meaningful pre-chosen
    page.fill("#override-witness", "nurse2")
    page.fill("#override-witness-password", live_daemon.passwords["nurse2"])
    page.click("#override-form button[type=submit]")
    expect(page.locator("#override-error .error-text")).to_have_text(text["error.override_reason_required"])
    page.select_option("#override-reason", "device_failure")

    page.fill("#override-witness-password", "not-her-password")
    page.click("#override-form button[type=submit]")
    error = page.locator("#override-error")
    expect(error.locator(".error-text")).to_have_text(text["error.witness_invalid_credentials"])
    expect(page).to_have_url(f"{live_daemon.base_url}/nurse/check")  # not reloaded
    expect(result).to_have_attribute("data-decision", "reject")
    expect(page.locator("#override-form")).to_be_visible()
    expect(page.locator("#override-witness-password")).to_be_focused()
    expect(page.locator("#override-witness-password")).to_have_value("")
    screenshot(page, f"nurse-override-wrong-password-{locale}")

    page.fill("#override-witness-password", live_daemon.passwords["nurse2"])
    page.click("#override-form button[type=submit]")
    expect(page.locator("#override-done")).to_contain_text(text["override_reason.device_failure"])
    expect(result).to_have_attribute("data-overridden", "true")
