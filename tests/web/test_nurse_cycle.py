"""The nurse opens a treatment cycle in the browser and is asked for the fingers the patient actually enrolled.

Against the demo daemon with simulated devices (its own data dir, nothing seeded): the two partners are registered
by reading their ID cards on the enrolment page, then the "New cycle" screen finds her by card scan and him by
patient ID, opens an IVF cycle and lands on the stage check with it selected; opening a second cycle for the same
pair shows the daemon's ``cycle_open`` refusal (the pair's couple is reused, not duplicated). The stage check then
names her enrolled fingers, in enrolment order, and posts the finger the nurse picked. Expected texts come from
the catalogue; the new screen passes the accessibility checks (labels, focus order, contrast).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from idverify.i18n import catalogue

from . import a11y
from .conftest import LiveDaemon, checked_page, screenshot
from .test_journey import _agree_all, _login, _present

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Route, expect

EN = catalogue("en")


def _finger_prompt(first: str, *others: str) -> str:
    text = EN["prompt.finger"].format(finger=EN[f"finger.{first}"])
    if others:
        text += " " + EN["prompt.finger_alternatives"].format(fingers=", ".join(EN[f"finger.{o}"] for o in others))
    return text


def _register(page: Any, persona: str) -> str:
    """Register ``persona`` from the card on the reader (enrolment step 1 only); returns the patient id."""
    page.goto("/nurse/enrol")
    _present(page, persona)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/patients/from-card")) as reg:
        page.click("#read-card")
    expect(page.locator("#step-consent")).to_be_visible()
    patient_id: str = reg.value.json()["patient"]["id"]
    return patient_id


def _enrolled_fingers(daemon: LiveDaemon, patient_id: str, positions: list[str]) -> None:
    """A completed enrolment with ``positions`` (rows only: the subject route reads positions, never envelopes)."""
    from idverify.store.base import utcnow
    from idverify.store.models import BiometricTemplate, Enrollment

    ctx = daemon.app.state.ctx
    when = utcnow()
    with ctx.session_factory() as db:
        db.add(Enrollment(patient_id=patient_id, status="complete", workstation_id="ws-journey", completed_at=when,
                          result={"fingers": {"accepted": positions}}))
        for position in positions:
            db.add(BiometricTemplate(patient_id=patient_id, modality="fingerprint", position=position,
                                     algorithm_version="test", envelope=b"x", kek_id=ctx.keys.ring.active_id))
        db.commit()


def _couples(daemon: LiveDaemon) -> int:
    from sqlalchemy import func, select

    from idverify.store.models import Couple

    with daemon.app.state.ctx.session_factory() as db:
        return int(db.scalar(select(func.count()).select_from(Couple)) or 0)


@pytest.fixture
def nurse_page(browser: Any, sim_daemon: LiveDaemon) -> Iterator[Any]:
    with checked_page(browser, sim_daemon, timeout_ms=20_000) as tab:
        _login(tab, sim_daemon, "nurse1", "/nurse/check")
        yield tab


def test_nurse_opens_a_cycle_and_is_asked_for_an_enrolled_finger(nurse_page: Any, sim_daemon: LiveDaemon) -> None:
    page = nurse_page
    female_id = _register(page, "female")
    # the enrolment wizard names the fingers it captures, in the order it asks the daemon for them
    _agree_all(page)
    expect(page.locator("#step-capture")).to_be_visible()
    expect(page.locator("#capture-prompts li[data-step='finger']")).to_have_text([
        EN["prompt.finger"].format(finger=EN["finger.right_index"]),
        EN["prompt.finger_then"].format(finger=EN["finger.left_index"])])
    male_id = _register(page, "male")

    # --- the new screen is in the nurse's menu
    page.click("nav.mainnav a[href='/nurse/cycles/new']")
    expect(page.locator("h1")).to_have_text(EN["cycle_new.title"])
    page.wait_for_load_state("networkidle")
    assert a11y.problems(page) == []
    assert a11y.tab_order_problems(page) == []

    # precise errors before anything is opened
    page.click("#cycle-submit")
    expect(page.locator("#cycle-error")).to_have_attribute("data-code", "patient_not_chosen")
    page.click("#female-find")
    expect(page.locator("#female-error .error-text")).to_have_text(EN["error.find_value_required"])
    page.select_option("#female-by", "cn_resident_id")
    page.fill("#female-value", "NOBODY000000001")
    page.press("#female-value", "Enter")  # Enter finds; it does not submit the form
    expect(page.locator("#female-error .error-text")).to_have_text(EN["error.patient_not_found"])
    expect(page.locator("#cycle-error")).to_have_attribute("data-code", "patient_not_chosen")

    # her by the card on the reader, him by patient ID
    _present(page, "female")
    page.click("#female-scan")
    expect(page.locator("#female-chosen")).to_have_attribute("data-patient-id", female_id)
    expect(page.locator("#female-error")).to_be_hidden()
    expect(page.locator("#cycle-error")).to_be_hidden()  # "choose the partners first" no longer applies
    expect(page.locator("#female-chosen .subject-warning")).to_have_text(EN["cycle_new.not_enrolled"])
    page.select_option("#male-by", "patient_id")
    page.fill("#male-value", male_id)
    page.click("#male-find")
    expect(page.locator("#male-chosen")).to_have_attribute("data-patient-id", male_id)
    # a donor-sperm type needs no male partner: his part steps aside, and comes back
    page.select_option("#cycle-kind", "donor_sperm_ivf")
    expect(page.locator("#male-not-needed")).to_be_visible()
    expect(page.locator("#male-scan")).to_be_hidden()
    page.select_option("#cycle-kind", "ivf")
    expect(page.locator("#male-chosen")).to_have_attribute("data-patient-id", male_id)
    assert a11y.problems(page) == []
    screenshot(page, "nurse-cycle-new")

    # --- open it: straight to the stage check, the new cycle selected and announced
    page.click("#cycle-submit")
    page.wait_for_url(re.compile(r"/nurse/check\?cycle=[0-9a-f-]{36}&opened=1$"))
    cycle_id = re.search(r"cycle=([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
    chosen = page.locator(f"#cycles button[data-cycle-id='{cycle_id}']")
    expect(chosen).to_have_attribute("aria-pressed", "true")
    expect(chosen).to_be_focused()
    expect(page.locator("#opened-note")).to_contain_text(EN["cycle_kind.ivf"])
    expect(page.locator("#stages [data-stage='egg_retrieval']")).to_be_visible()
    assert _couples(sim_daemon) == 1

    # --- the same pair again: the daemon's refusal, through the couple they already have
    page.goto("/nurse/cycles/new")
    for partner, patient_id in (("female", female_id), ("male", male_id)):
        page.select_option(f"#{partner}-by", "patient_id")
        page.fill(f"#{partner}-value", patient_id)
        page.click(f"#{partner}-find")
        expect(page.locator(f"#{partner}-chosen")).to_have_attribute("data-patient-id", patient_id)
    page.click("#cycle-submit")
    box = page.locator("#cycle-error")
    expect(box).to_have_attribute("data-code", "cycle_open")
    expect(box.locator(".error-text")).to_have_text(EN["error.cycle_open"])
    expect(page).to_have_url(re.compile(r"/nurse/cycles/new$"))
    assert _couples(sim_daemon) == 1
    assert a11y.problems(page) == []

    # --- the stage check names the fingers she enrolled, first enrolled first, and posts the one picked
    _enrolled_fingers(sim_daemon, female_id, ["left_index", "right_middle"])
    page.goto(f"/nurse/check?cycle={cycle_id}")
    expect(page.locator("#opened-note")).to_be_hidden()  # only announced when just opened
    page.click("#stages [data-stage='sperm_retrieval']")  # him: nothing enrolled, the daemon's default finger
    expect(page.locator("#subject .subject-person[data-partner='male']")).to_have_attribute("data-enrolled", "false")
    expect(page.locator("#prompts li[data-step='finger']")).to_have_text(_finger_prompt("right_index"))
    expect(page.locator("#fingers")).to_have_count(0)
    page.click("#stages [data-stage='egg_retrieval']")
    expect(page.locator("#subject .subject-person[data-partner='female']")).to_have_attribute("data-enrolled", "true")
    fingers = page.locator("#fingers button.choice")
    expect(fingers).to_have_count(2)
    expect(fingers.first).to_have_attribute("aria-pressed", "true")
    prompt = page.locator("#prompts li[data-step='finger']")
    expect(prompt).to_have_text(_finger_prompt("left_index", "right_middle"))
    page.click("#fingers button[data-finger='right_middle']")
    expect(prompt).to_have_text(_finger_prompt("right_middle", "left_index"))
    assert a11y.problems(page) == []
    screenshot(page, "nurse-check-fingers")

    held: list[Route] = []
    page.route("**/api/v1/cycles/*/checks", lambda route: held.append(route))  # noqa: PLW0108
    page.click("#start-check")
    expect(page.locator("#progress")).to_be_visible()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the check was not posted"
    body = json.loads(held[0].request.post_data or "{}")
    assert body["stage"] == "egg_retrieval" and body["use_devices"] is True
    assert body["finger_positions"] == ["right_middle"]  # the finger the prompt asked for
    held[0].fulfill(status=503, json={"error": {"code": "device_unavailable", "message": "test", "details": None}})
    expect(page.locator("#page-error")).to_have_attribute("data-code", "device_unavailable")


def _patients(daemon: LiveDaemon) -> int:
    from sqlalchemy import func, select

    from idverify.store.models import Patient

    with daemon.app.state.ctx.session_factory() as db:
        return int(db.scalar(select(func.count()).select_from(Patient)) or 0)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_forged_card_is_refused_at_the_document_step(nurse_page: Any, sim_daemon: LiveDaemon, locale: str) -> None:
    """Issue 17.3: a card whose ID number fails its check digit (a forged or altered card) on the simulated reader.
    Enrolment step 1 refuses it with that reason, in the nurse's language; nobody is registered, consent is never
    offered, and the nurse can still enter a patient by hand."""
    page = nurse_page
    text = catalogue(locale)
    if locale == "zh-CN":
        page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": sim_daemon.base_url}])
    reader = sim_daemon.app.state.ctx.devices.simulators["people"].reader
    genuine = next(c for c in reader.cards if c["id_number"] == "110105199003070025")
    forged = {**genuine, "name": "伪造卡", "id_number": "110105199003070021"}  # last digit altered
    sim_daemon.private_strings.update({forged["name"], forged["id_number"]})
    if forged not in reader.cards:
        reader.cards.append(forged)
    page.goto("/nurse/enrol")
    reader.insert(reader.cards.index(forged))
    before = _patients(sim_daemon)
    page.click("#read-card")
    error = page.locator("#document-error")
    expect(error).to_have_attribute("data-code", "document_checksum_failed")
    expect(error.locator(".error-text")).to_have_text(text["error.document_checksum_failed"])
    expect(page.locator("#step-document")).to_be_visible()
    expect(page.locator("#step-consent")).to_be_hidden()
    expect(page.locator("#wizard-steps li[aria-current='step']")).to_have_attribute("data-step", "document")
    assert _patients(sim_daemon) == before  # nobody registered from the forged card
    expect(page.locator("#patient-form")).to_be_visible()  # entering the patient by hand stays possible
    screenshot(page, f"nurse-enrol-forged-card-{locale}")
    expect(error.locator(".error-message")).to_have_count(0)  # no second line in the daemon's English


def test_the_card_held_changes_at_once_for_the_person_at_the_desk(nurse_page: Any, sim_daemon: LiveDaemon) -> None:
    """Issue 17.12, demo panel: choosing whose card the person at the desk holds puts that card on the reader
    straight away (not at the next click on a person); the panel's status says so."""
    page = nurse_page
    desk = sim_daemon.app.state.ctx.devices.simulators["people"]
    page.goto("/nurse/check")
    _present(page, "impostor")
    page.select_option("#sim-card-of", "female")
    status = page.locator("#sim-status")
    expect(status).to_have_text(EN["sim.now_with_card"].format(who=EN["sim.persona.impostor"],
                                                               holder=EN["sim.persona.female"]))
    assert desk.state()["card_of"] == "female" and desk.reader.card == desk.persona("female").card_index
    page.select_option("#sim-card-of", "")
    expect(status).to_have_text(EN["sim.now"].format(who=EN["sim.persona.impostor"]))
    assert desk.reader.card == desk.persona("impostor").card_index
    page.click("#sim-leave")
    expect(status).to_have_attribute("data-current", "")


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_device_trouble_shows_before_the_nurse_starts(nurse_page: Any, sim_daemon: LiveDaemon, locale: str) -> None:
    """Issue 17.7: the check and enrolment pages show each device's state in words, with what to do, before
    anything is started; the demo panel's "unplug" makes the card reader go red on its own and "plug back in"
    clears it."""
    page = nurse_page
    text = catalogue(locale)
    if locale == "zh-CN":
        page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": sim_daemon.base_url}])
    page.goto("/nurse/check")
    strip = page.locator("#device-strip")
    expect(strip).to_have_attribute("data-ready", "true")
    for kind in ("id_reader", "fingerprint", "camera"):
        expect(strip.locator(f"li[data-kind='{kind}']")).to_have_attribute("data-status", "ok")
    page.click("#sim-panel [data-plug='id_reader']")
    reader = strip.locator("li[data-kind='id_reader']")
    try:
        expect(reader).to_have_attribute("data-status", "unavailable")
        expect(reader.locator(".device-word")).to_have_text(text["device_state.unavailable"])
        expect(reader.locator(".device-todo")).to_have_text(" " + text["device_todo.unavailable"])
        expect(strip).to_have_attribute("data-ready", "false")
        assert "/tmp" not in strip.inner_text() and "ga467" not in strip.inner_text()  # no ports for the nurse
        screenshot(page, f"nurse-check-reader-unplugged-{locale}")
        page.goto("/nurse/enrol")  # the enrolment page shows the same before "read the card"
        expect(page.locator("#device-strip li[data-kind='id_reader']")).to_have_attribute("data-status",
                                                                                          "unavailable")
    finally:
        page.click("#sim-panel [data-plug='id_reader']")
    expect(page.locator("#device-strip li[data-kind='id_reader']")).to_have_attribute("data-status", "ok",
                                                                                      timeout=15_000)
    expect(page.locator("#sim-panel [data-plug='id_reader']")).to_have_text(text["sim.unplug_id_reader"])
