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

from .conftest import PATIENT_IDENTITY, WORKSTATION, LiveDaemon, screenshot

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
    challenges: list[str] = []  # issue 17.12: a stage without a liveness challenge asks for none
    page.on("request", lambda request: challenges.append(request.url) if "/checks/challenge" in request.url else None)
    login(page, "nurse1")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['ivf']}']").click()
    page.click("#stages button[data-stage='egg_retrieval']")
    expect(page.locator("#subject .subject-person")).to_have_count(1)
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
    expect(page.locator("#subject .subject-person")).to_have_count(1)
    page.click("#start-check")
    expect(result).to_have_attribute("data-decision", "accept")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['other']}']").click()  # another couple
    expect(result).to_have_count(0)
    expect(page.locator("#subject")).not_to_contain_text(text["decision_banner.accept"])
    assert challenges == []
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


def _refuse_face(daemon: LiveDaemon, cycle: str) -> None:
    """The male partner of ``cycle`` consented to fingerprints and refused face capture."""
    from sqlalchemy import select

    from idverify.store.models import ConsentRecord, Couple, Cycle

    with daemon.app.state.ctx.session_factory() as db:
        cycle_row = db.get(Cycle, daemon.cycles[cycle])
        couple = db.get(Couple, cycle_row.couple_id) if cycle_row else None
        assert couple is not None and couple.male_patient_id is not None
        if db.scalars(select(ConsentRecord).where(ConsentRecord.patient_id == couple.male_patient_id)).first():
            return
        db.add(ConsentRecord(patient_id=couple.male_patient_id, text_version="test", modalities=["fingerprint"],
                             refused=["face", "document_photo"], purposes=["identity_verification"],
                             retention_days=365, workstation_id=WORKSTATION))
        db.commit()


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_no_camera_for_a_patient_who_refused_face_capture(page: Any, login: Login, live_daemon: LiveDaemon,
                                                          locale: str) -> None:
    """Issue 17.5, stage check: choosing his stage hides the camera preview (no frame is fetched any more) and the
    "look at the camera" prompt, and says why; choosing another patient brings the camera back."""
    if locale == "zh-CN":
        _zh(page, live_daemon)
    text = ZH if locale == "zh-CN" else EN
    _refuse_face(live_daemon, "other")
    login(page, "nurse1")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['other']}']").click()
    page.click("#stages button[data-stage='sperm_retrieval']")
    expect(page.locator("#face-not-used")).to_have_text(text["check.face_not_used"])
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.locator("#prompts li[data-step='face']")).to_be_hidden()
    expect(page.locator("#prompts li[data-step='finger']")).to_be_visible()
    previews: list[str] = []
    page.on("request", lambda request: previews.append(request.url) if "preview.jpg" in request.url else None)
    page.wait_for_timeout(3500)  # the preview polls every 0.4–3 s while on
    assert previews == []
    screenshot(page, f"nurse-check-face-refused-{locale}")
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['ivf']}']").click()
    page.click("#stages button[data-stage='egg_retrieval']")
    expect(page.locator("#subject .subject-person")).to_have_count(1)
    expect(page.locator("#camera")).to_be_visible()
    expect(page.locator("#prompts li[data-step='face']")).to_be_visible()
    expect(page.locator("#face-not-used")).to_have_count(0)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_consent_is_asked_explicitly_and_face_refused_means_no_camera(page: Any, login: Login,
                                                                      live_daemon: LiveDaemon, locale: str) -> None:
    """Issue 17.6 and 17.5, enrolment: the consent text and its version are on screen, no answer is pre-chosen and
    none is taken for agreement, the answers are 44 px targets; with the face refused the capture step never
    mentions the camera and the outcome says only the fingerprints are on file."""
    if locale == "zh-CN":
        _zh(page, live_daemon)
    text = ZH if locale == "zh-CN" else EN
    from idverify.workflow.consent import CONSENT_TEXT_VERSION

    name, number = ("测试患者丁", "110105199202021234") if locale == "en" else ("测试患者戊", "110105199303031239")
    live_daemon.private_strings.update({name, number})
    login(page, "nurse1")
    page.goto("/nurse/enrol")
    page.fill("#p-number", number)
    page.fill("#p-name", name)
    page.select_option("#p-sex", "M")
    page.click("#register")
    expect(page.locator("#step-consent")).to_be_visible()
    consent_text = page.locator("#consent-text")
    expect(consent_text).to_have_attribute("data-version", CONSENT_TEXT_VERSION)
    expect(consent_text.locator("h3")).to_have_text(text["consent_text.heading"].format(version=CONSENT_TEXT_VERSION))
    expect(consent_text).to_contain_text(text["consent_text.refusal"])
    expect(page.locator("#consent-form input[type=radio]:checked")).to_have_count(0)
    for label in page.locator("#consent-form label.choice-inline").all():
        box = label.locator("input").bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44
    page.check("input[name='m-fingerprint'][value='accept']")
    page.click("#consent-submit")  # face and card photo not answered: nothing is assumed
    expect(page.locator("#consent-error .error-text")).to_have_text(text["error.consent_choice_missing"])
    expect(page.locator("#step-consent")).to_be_visible()
    page.check("input[name='m-face'][value='refuse']")
    page.check("input[name='m-document_photo'][value='refuse']")
    screenshot(page, f"nurse-enrol-consent-explicit-{locale}")
    page.click("#consent-submit")

    expect(page.locator("#step-capture")).to_be_visible()
    expect(page.locator("#capture-prompts li[data-step='face']")).to_be_hidden()
    expect(page.locator("#capture-refused")).to_have_text(text["enrol.face_refused_note"])
    expect(page.locator("#capture-heading")).to_have_text(text["enrol.step_capture_fingers"])
    expect(page.locator("#capture-start")).to_have_text(text["enrol.capture_start_fingers"])
    assert text["prompt.face"] not in page.locator("#step-capture").inner_text()
    screenshot(page, f"nurse-enrol-face-refused-{locale}")
    page.route("**/api/v1/patients/*/enrolment", lambda route: route.fulfill(status=201, json={
        "id": "e-2", "patient_id": "p", "status": "complete", "created_at": "2026-11-23T10:00:00Z",
        "workstation_id": WORKSTATION,
        "result": {"modalities": ["fingerprint"], "fingers": {"accepted": ["right_index", "left_index"]},
                   "templates": 2, "reference_photo": False}}))
    page.click("#capture-start")
    result = page.locator("#enrol-result .result")
    expect(result.locator(".result-summary")).to_have_text(text["enrol_status_help.complete_fingers"])
    expect(result.locator("li[data-fact='photo']")).to_have_count(0)
    expect(result.locator("li[data-fact='face']")).to_have_count(0)


IN_VIEW_JS = """selector => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
}"""


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_check_fits_the_workstation_screen(page: Any, login: Login, live_daemon: LiveDaemon, locale: str) -> None:
    """Issue 17.8 at 1280×800: the header is one row in either language; "start" is on screen once a stage is
    chosen, whatever the length of the cycle list; a check started from the keyboard ends with the verdict banner
    on screen (not scrolled away to the "next patient" button)."""
    if locale == "zh-CN":
        _zh(page, live_daemon)
    login(page, "nurse1")
    # issue 17.12: the couple is named on the cycle list (the seeded couple has her only)
    expect(page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['ivf']}'] .choice-main")).to_have_text(
        f"{PATIENT_IDENTITY['name']} · {(ZH if locale == 'zh-CN' else EN)['cycle_kind.ivf']}")
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] <= 72, header  # one row of 44–64 px controls
    page.route("**/api/v1/cycles/*/checks", lambda route: route.fulfill(status=201, json={"verification": ACCEPT}))
    page.locator(f"#cycles button[data-cycle-id='{live_daemon.cycles['ivf']}']").click()
    page.click("#stages button[data-stage='egg_retrieval']")
    expect(page.locator("#subject .subject-person")).to_have_count(1)
    assert page.evaluate(IN_VIEW_JS, "#start-check")
    page.focus("#start-check")
    page.keyboard.press("Enter")
    expect(page.locator("#result .result")).to_have_attribute("data-decision", "accept")
    expect(page.locator("#next-patient")).to_be_focused()
    page.wait_for_timeout(300)  # any scroll the focus causes has happened
    assert page.evaluate(IN_VIEW_JS, "#result .result-banner")
    screenshot(page, f"nurse-check-keyboard-result-{locale}")


def test_enrolling_an_enrolled_patient_again_asks_first(page: Any, login: Login, live_daemon: LiveDaemon) -> None:
    """Issue 17.12: the document of a patient with biometrics on file asks before anything is replaced; "cancel"
    keeps her where she was, "enrol again" goes on to consent."""
    from idverify.store.models import BiometricTemplate

    name, number = "测试患者己", "110105199404041233"
    live_daemon.private_strings.update({name, number})
    login(page, "nurse1")

    def register() -> Any:
        page.goto("/nurse/enrol")
        page.fill("#p-number", number)
        page.fill("#p-name", name)
        page.select_option("#p-sex", "M")  # the number's 17th digit is odd
        with page.expect_response(lambda r: r.url.endswith("/api/v1/patients")) as answer:
            page.click("#register")
        return answer.value.json()["patient"]

    patient = register()
    expect(page.locator("#step-consent")).to_be_visible()  # new: no question
    ctx = live_daemon.app.state.ctx
    with ctx.session_factory() as db:
        db.add(BiometricTemplate(patient_id=patient["id"], modality="fingerprint", position="right_index",
                                 algorithm_version="test", envelope=b"x", kek_id=ctx.keys.ring.active_id))
        db.commit()
    register()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-message")).to_have_text(EN["enrol.already_enrolled_confirm"].format(
        name=name, modalities=EN["modality.fingerprint"]))
    page.click("#confirm-cancel")
    expect(page.locator("#document-note")).to_have_text(EN["enrol.reenrol_cancelled"])
    expect(page.locator("#step-document")).to_be_visible()
    expect(page.locator("#step-consent")).to_be_hidden()
    page.click("#register")
    expect(page.locator("#confirm-ok")).to_have_text(EN["enrol.reenrol_ok"])
    page.click("#confirm-ok")
    expect(page.locator("#step-consent")).to_be_visible()
