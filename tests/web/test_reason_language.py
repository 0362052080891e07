"""Issue 17.4: the reasons a nurse or an inspector reads are in the page's language — never English on a Chinese
screen. A REJECT, a RETRY and an ACCEPT are walked on the nurse's check screen, then the stored checks are read on the
results list, in zh-CN and in English.

The decisions are made by the real rules (:func:`~idverify.biometrics.fusion.decide` and
:func:`~idverify.workflow.rules.overlay`) on made-up factor results and shaped by the API's own schema; the test
daemon has no devices, so the check's answer is served by a page-level fixture (as in ``test_browser``). A Chinese
reason must contain no run of four ASCII letters (what reads as an English word); an English one is the English
label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from idverify.api.schemas.verifications import ReasonOut
from idverify.biometrics.fusion import FactorPolicy, FactorResult, StagePolicy, decide
from idverify.biometrics.reasons import Reason, ReasonCode, render
from idverify.i18n import Translator, catalogue
from idverify.workflow.rules import RuleOutcome, Verdict, overlay

from .conftest import SEEDED, WORKSTATION, LiveDaemon, screenshot

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

Login = Callable[..., None]
ENGLISH = re.compile(r"[A-Za-z]{4,}")
POLICY = StagePolicy("frozen_embryo_transfer", {
    "face": FactorPolicy(required=True, threshold=0.6, impostor_mean=0.2, require_liveness=True),
    "fingerprint": FactorPolicy(required=True, threshold=40.0),
    "document_photo": FactorPolicy(required=False, threshold=0.5)})
CARD_OK = Verdict(RuleOutcome.PASS, ReasonCode.DOCUMENT_OK)
NO_CHALLENGE = Verdict(RuleOutcome.SKIP, ReasonCode.CHALLENGE_NOT_ASKED)


#: her consent refuses fingerprints: the face decides alone, at its stricter point
FACE_ONLY = StagePolicy("frozen_embryo_transfer", {
    "face": FactorPolicy(required=True, threshold=0.6, impostor_mean=0.2, require_liveness=True,
                         alone_threshold=0.7)})


def _answer(decision_id: str, results: list[FactorResult], card: Verdict, policy: StagePolicy = POLICY
            ) -> dict[str, Any]:
    """What ``POST /cycles/{id}/checks`` answers for these factor results, by the real rules and schema."""
    decision = decide(policy, results)
    verdict = overlay(decision.outcome, decision.reasons, card, NO_CHALLENGE)
    return {"id": decision_id, "decision": verdict.outcome,
            "reasons": [ReasonOut.of(r).model_dump() for r in verdict.reasons],
            "factors": {name: {"score": f["score"], "threshold": f["threshold"]}
                        for name, f in decision.factors.items() if f["score"] is not None}}


def _reject() -> dict[str, Any]:
    """A stranger with another patient's card: the card, the face (a photo: liveness failed) and the finger."""
    spoof = Reason.of(ReasonCode.PAD_CHALLENGE_FAILED, Reason(ReasonCode.TURN_WRONG_WAY))
    card = Verdict(RuleOutcome.REJECT, ReasonCode.CARD_OF_ANOTHER_PATIENT, "card belongs to another patient")
    return _answer("v-zh-reject", [
        FactorResult("face", "ok", 0.31, live=False, liveness_reason=spoof),
        FactorResult("fingerprint", "ok", 12.5),
        FactorResult("document_photo", "quality_failed", reason=Reason(ReasonCode.SEVERAL_FACES))], card)


def _retry() -> dict[str, Any]:
    """The patient herself, her finger too dry to read: capture it again (which finger, and why)."""
    return _answer("v-zh-retry", [
        FactorResult("face", "ok", 0.93, live=True),
        FactorResult("fingerprint", "quality_failed",
                     reason=Reason.of(ReasonCode.FINGER_POSITION_FAILED, Reason(ReasonCode.FINGER_QUALITY_LOW),
                                      position="left_index"))], CARD_OK)


def _accept() -> dict[str, Any]:
    """The patient herself, who refused fingerprints: the face decides alone, and the screen says so."""
    return _answer("v-zh-accept", [FactorResult("face", "ok", 0.93, live=True)], CARD_OK, FACE_ONLY)


ALERT = ReasonOut.of(Reason.of(ReasonCode.REPEATED_REJECTS, rejects_24h=3)).model_dump()


def _reasons_shown(page: Any) -> dict[str, str]:
    items = page.locator("#result .result-reasons li")
    return {items.nth(i).get_attribute("data-reason") or "": items.nth(i).inner_text()
            for i in range(items.count())}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_check_reasons_and_the_alert_are_in_the_page_language(page: Any, login: Login, live_daemon: LiveDaemon,
                                                             locale: str) -> None:
    t = Translator(locale)
    words = catalogue(locale)
    page.context.add_cookies([{"name": "idverify_locale", "value": locale, "url": live_daemon.base_url}])
    answers = [(_reject(), ALERT), (_retry(), None), (_accept(), None)]
    served: list[dict[str, Any]] = []

    def check_api(route: Any) -> None:
        verification, alert = answers[len(served)]
        served.append(verification)
        route.fulfill(status=201, json={"verification": verification, "alert": alert, "timings_ms": {}})

    page.route("**/api/v1/cycles/*/checks", check_api)
    login(page, "nurse1")
    expect(page.locator("html")).to_have_attribute("lang", locale)
    for verification, alert in answers:
        page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['fet']}']").click()
        page.click("#start-check")
        result = page.locator("#result .result")
        expect(result).to_have_attribute("data-decision", verification["decision"])
        shown = _reasons_shown(page)
        assert list(shown) == [r["code"] for r in verification["reasons"]]
        for reason in verification["reasons"]:
            text = shown[reason["code"]]
            assert text == render(t, reason), (reason, text)  # the page renders as the daemon does
            if locale == "zh-CN":
                assert not ENGLISH.search(text), text
            else:
                assert text.startswith(render(t, reason["code"]).split("{")[0][:12]), text
        if alert is not None:
            box = page.locator("#check-alert")
            expect(box).to_contain_text(render(t, alert))
            if locale == "zh-CN":
                assert not ENGLISH.search(box.inner_text()), box.inner_text()
        else:
            expect(page.locator("#check-alert")).to_have_count(0)
        screenshot(page, f"reasons-{verification['decision']}-{locale}")
        page.click("#next-patient")
    assert [v["decision"] for v in served] == ["reject", "retry", "accept"]
    # what the reject said, in words the nurse recognises: the card, the liveness cause of a cause, the finger
    reject_codes = [r["code"] for r in served[0]["reasons"]]
    assert reject_codes[0] == "card_of_another_patient" and "liveness_failed" in reject_codes
    assert words["reason.turn_wrong_way"] in render(t, served[0]["reasons"][reject_codes.index("liveness_failed")])
    assert [r["code"] for r in served[1]["reasons"]] == ["finger_position_failed"]
    assert [r["code"] for r in served[2]["reasons"]] == ["identity_confirmed", "face_alone"]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_results_list_shows_stored_reasons_in_the_page_language(page: Any, login: Login,
                                                                    live_daemon: LiveDaemon, locale: str) -> None:
    t = Translator(locale)
    page.context.add_cookies([{"name": "idverify_locale", "value": locale, "url": live_daemon.base_url}])
    login(page, "nurse1")
    page.goto("/nurse/results?decision=reject")
    rows = page.locator("#verifications tbody tr:has(.badge-reject)")
    rejects = sum(1 for _, decision, ws in SEEDED if decision == "reject" and ws == WORKSTATION)
    expect(rows).to_have_count(min(rejects, 25))
    text = rows.first.inner_text()
    assert render(t, {"code": "face_mismatch", "params": {"score": 0.41, "threshold": 0.6}}) in text
    assert catalogue(locale)["reason.pad_spoof_suspected"] in text
    if locale == "zh-CN":
        reasons_cell = rows.first.locator("td").nth(3).inner_text()
        assert reasons_cell and not ENGLISH.search(reasons_cell), reasons_cell


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_refused_field_is_named_by_the_pages_own_label(page: Any, login: Login, live_daemon: LiveDaemon,
                                                         locale: str) -> None:
    """The daemon refuses a typed document number with a space (422, pattern); the error names the field by the
    label the nurse sees above it — there is no ``field.document_number`` catalogue entry to fall back on."""
    t = Translator(locale)
    words = catalogue(locale)
    assert "field.document_number" not in words  # the case this test is about
    page.context.add_cookies([{"name": "idverify_locale", "value": locale, "url": live_daemon.base_url}])
    login(page, "nurse1")
    page.goto("/nurse/enrol")
    page.fill("#p-number", "1101 0119")
    page.fill("#p-name", "测试")
    page.click("#register")
    box = page.locator("#document-error")
    expect(box.locator(".error-text")).to_have_text(t("error.validation_error"))
    detail = box.locator(".error-details li")
    expect(detail).to_have_count(1)
    expect(detail).to_have_text(f"{t('enrol.document_number')}: {t('reason.validation.string_pattern_mismatch')}")
    if locale == "zh-CN":
        assert not ENGLISH.search(box.locator(".error-text").inner_text() + detail.inner_text())
        expect(box.locator(".error-code code")).to_have_text("validation_error")  # the code, set apart for IT
