"""One treatment cycle through the UI only, against the demo daemon with simulated devices and people.

The nurse enrols a female and a male patient (card on the reader → consent → face and fingers on the devices →
duplicate check → complete), the couple's IVF cycle is opened on the "New cycle" screen (each partner's card
scanned), the three stage checks ACCEPT (the prompt names the enrolled fingers) with the enrolment photo beside the
live frame, an impostor holding the female patient's card is REJECTED with the reasons, the reject is overridden
with nurse2 as witness; then the inspector finds those events in the audit browser, downloads JSONL and CSV exports
(contents checked) and the monthly report shows the same counts as the API. Each key screen is saved as
``test-artifacts/web/journey-*.png``. Expected texts come from the catalogue, as in ``test_browser.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from idverify.i18n import catalogue

from . import a11y
from .conftest import LiveDaemon, checked_page, screenshot, simulated_daemon

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

# The catalogue of the language the journey is walked in (filled by each run of the journey; English for the rest).
T: dict[str, str] = dict(catalogue("en"))
WALK = {"lang": "en"}  # the language of the journey being walked (screenshots are named by it)


def _shot(page: Any, name: str) -> None:
    screenshot(page, f"journey-{WALK['lang']}-{name}")
SLOW_MS = 60_000  # an enrolment (face + two fingers + duplicate search) takes 5–25 s on the shared 2-core box


def _login(page: Any, daemon: LiveDaemon, username: str, home: str) -> None:
    page.goto("/login")
    page.fill("#login-username", username)
    page.fill("#login-password", daemon.passwords[username])
    page.click("#login-submit")
    page.wait_for_url(f"**{home}")


def _present(page: Any, persona: str, card_of: str = "") -> None:
    page.select_option("#sim-card-of", card_of)
    page.click(f"#sim-people [data-persona='{persona}']")
    expect(page.locator("#sim-status")).to_have_attribute("data-current", persona)
    expect(page.locator(f"#sim-people [data-persona='{persona}']")).to_have_attribute("aria-pressed", "true")


def _agree_all(page: Any) -> None:
    """The patient agrees to each kind of data, answered one by one as the consent step requires."""
    for modality in ("face", "fingerprint", "document_photo"):
        page.check(f"input[name='m-{modality}'][value='accept']")
    page.click("#consent-submit")


def _enrol(page: Any, persona: str, shot: str) -> str:
    """Enrol ``persona`` through the wizard; returns the patient id the page registered."""
    page.goto("/nurse/enrol")
    _present(page, persona)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/patients/from-card")) as reg:
        page.click("#read-card")
    patient_id: str = reg.value.json()["patient"]["id"]
    expect(page.locator("#step-consent")).to_be_visible()
    expect(page.locator("#patient-banner")).to_contain_text(T["enrol.patient_new"])
    _agree_all(page)
    expect(page.locator("#step-capture")).to_be_visible()
    _shot(page, f"{shot}-capture")
    page.click("#capture-start")
    _settled(page, "#enrol-result .result", "#capture-error")
    result = page.locator("#enrol-result .result")
    expect(result).to_have_attribute("data-status", "complete", timeout=SLOW_MS)
    expect(result.locator(".result-word")).to_have_text(T["enrol_status.complete"])
    expect(result.locator("li[data-fact='duplicates']")).to_have_text(T["enrol.fact_no_duplicates"])
    expect(result.locator("li[data-fact='photo']")).to_have_text(T["enrol.fact_photo"])
    _shot(page, f"{shot}-enrolled")
    assert a11y.problems(page) == []
    return patient_id


def _open_cycle(page: Any, female_id: str, male_id: str) -> str:
    """Open the couple's IVF cycle on the "New cycle" screen, each partner's card on the reader in turn; returns
    the id of the cycle the stage check opened with."""
    page.goto("/nurse/cycles/new")
    for persona, patient_id in (("female", female_id), ("male", male_id)):
        _present(page, persona)
        page.click(f"#{persona}-scan")
        expect(page.locator(f"#{persona}-chosen")).to_have_attribute("data-patient-id", patient_id)
    page.select_option("#cycle-kind", "ivf")
    page.click("#cycle-submit")
    page.wait_for_url("**/nurse/check?cycle=*")
    cycle_id: str = page.evaluate("new URLSearchParams(location.search).get('cycle')")
    expect(page.locator(f"#cycles button[data-cycle-id='{cycle_id}']")).to_have_attribute("aria-pressed", "true")
    return cycle_id


def _settled(page: Any, outcome: str, error_box: str) -> None:
    """Wait for the outcome or the error box; an error fails the test with the text the nurse would read."""
    expect(page.locator(f"{outcome}, {error_box}:not([hidden])").first).to_be_visible(timeout=SLOW_MS)
    error = page.locator(error_box)
    assert error.is_hidden(), f"{error.get_attribute('data-code')}: {error.inner_text()}"


def _photos_loaded(page: Any) -> list[int]:
    """Natural widths of the result's enrolment and live images (0 = not loaded)."""
    widths: list[int] = []
    for kind in ("enrolment", "live"):
        img = page.locator(f"#result figure[data-photo='{kind}'] img.result-photo")
        expect(img).to_have_count(1)
        img.evaluate("i => i.decode()")  # wait until loaded and decoded
        widths.append(int(img.evaluate("i => i.naturalWidth")))
    return widths


def _check(page: Any, persona: str, stage: str, shot: str, card_of: str = "") -> Any:
    """Present ``persona``, scan the card to find their cycle, run ``stage``; returns the result box."""
    page.goto("/nurse/check")
    _present(page, persona, card_of)
    page.click("#scan-card")
    expect(page.locator("#scan-note")).to_have_text(T["check.scan_found"].replace("{count}", "1"))
    expect(page.locator("#cycles .choice")).to_have_count(1)
    expect(page.locator("#cycles .choice")).to_have_attribute("aria-pressed", "true")
    page.click(f"#stages [data-stage='{stage}']")
    expect(page.locator("#subject .subject-person")).to_have_count(1)  # whom to call to the table, before the check
    expect(page.locator("#prompts li[data-step='finger']")).to_have_text(  # the fingers enrolled, first one first
        T["prompt.finger"].format(finger=T["finger.right_index"]) + " "
        + T["prompt.finger_alternatives"].format(fingers=T["finger.left_index"]))
    page.click("#start-check")
    _settled(page, "#result .result", "#page-error")
    box = page.locator("#result .result")
    _shot(page, shot)
    return box


@pytest.fixture(params=["en", "zh-CN"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    """The journey in each language of the UI: the texts expected come from that language's catalogue."""
    T.clear()
    T.update(catalogue(request.param))
    WALK["lang"] = request.param
    yield request.param
    T.clear()
    T.update(catalogue("en"))
    WALK["lang"] = "en"


@pytest.fixture
def journey_daemon(lang: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """A fresh demo daemon per language: the journey enrols the simulated people from scratch."""
    with simulated_daemon(tmp_path_factory) as daemon:
        yield daemon


@pytest.fixture
def nurse_page(browser: Any, journey_daemon: LiveDaemon, lang: str) -> Iterator[Any]:
    with checked_page(browser, journey_daemon, timeout_ms=20_000, locale=lang) as tab:
        _login(tab, journey_daemon, "nurse1", "/nurse/check")
        yield tab


def test_full_cycle_through_the_ui(browser: Any, journey_daemon: LiveDaemon, nurse_page: Any) -> None:
    page = nurse_page
    # --- the demo panel is there for nurses in demo mode, with the three simulated people
    expect(page.locator("#sim-panel h2")).to_have_text(T["sim.title"])
    expect(page.locator("#sim-people [data-persona]")).to_have_count(3)
    people = journey_daemon.app.state.ctx.devices.simulators["people"]
    for key in ("female", "male", "impostor"):  # the role in the page's language, beside the made-up name only
        card = page.locator(f"#sim-people [data-persona='{key}']")
        expect(card.locator(".choice-main")).to_have_text(T[f"sim.persona.{key}"])
        expect(card.locator(".choice-sub")).to_have_text(people.persona(key).name)

    # --- enrolment of both partners
    female_id = _enrol(page, "female", "01-female")
    male_id = _enrol(page, "male", "02-male")
    cycle_id = _open_cycle(page, female_id, male_id)

    # --- the three stage checks: ACCEPT, enrolment photo beside the live frame
    for persona, stage, shot in (("male", "sperm_retrieval", "03-sperm-retrieval"),
                                 ("female", "egg_retrieval", "04-egg-retrieval"),
                                 ("female", "embryo_transfer", "05-embryo-transfer")):
        box = _check(page, persona, stage, shot)
        # the stage's subject was shown by name before the check: the partner the policy names, enrolled
        who = page.locator(f"#subject .subject-person[data-partner='{'male' if persona == 'male' else 'female'}']")
        expect(who).to_have_attribute("data-enrolled", "true")
        expect(who.locator(".subject-name")).not_to_have_text("—")
        expect(box).to_have_attribute("data-decision", "accept")
        expect(box.locator(".result-word")).to_have_text(T["decision_banner.accept"])
        enrolment_w, live_w = _photos_loaded(page)
        assert 0 < enrolment_w <= 160 and 0 < live_w <= 320
        assert a11y.problems(page) == []  # the result, the demo panel: labelled, legible
        expect(box.locator("#override-open")).to_have_count(0)  # nothing to override on an ACCEPT
        # factors without a score say why in words; no device paths or raw JSON on the nurse's screen
        expect(box.locator("tr[data-factor='document'] td")).to_have_text(T["document_status.ok"])
        expect(box.locator("tr[data-factor='document_photo'] td")).to_have_text(
            f"{T['factor_status.not_captured']} · {T['result.not_required']}")
        assert "/tmp" not in box.inner_text() and "{" not in box.inner_text()

    # --- an impostor holding the female patient's card at embryo transfer: REJECT with the reasons
    box = _check(page, "impostor", "embryo_transfer", "06-impostor-rejected", card_of="female")
    expect(box).to_have_attribute("data-decision", "reject")
    expect(box.locator(".result-word")).to_have_text(T["decision_banner.reject"])
    reasons = box.locator(".result-reasons li")
    assert reasons.count() >= 1
    shown = {reasons.nth(i).get_attribute("data-reason"): reasons.nth(i).inner_text()
             for i in range(reasons.count())}
    assert {"face_mismatch", "fingerprint_mismatch"} & set(shown), shown
    assert all(T[f"reason.{code}"].split(" (")[0][:20] in text for code, text in shown.items()), shown
    assert _photos_loaded(page)[0] > 0  # the nurse sees whose enrolment the live face was compared with
    assert a11y.problems(page) == []

    # --- override of that reject, confirmed by nurse2 on this screen
    page.click("#override-open")
    page.select_option("#override-reason", "other")
    page.fill("#override-note", "journey test: supervisor decided after checking the paper file")
    page.fill("#override-witness", "nurse2")
    page.fill("#override-witness-password", journey_daemon.passwords["nurse2"])
    page.click("#override-form button[type=submit]")
    expect(page.locator("#override-done")).to_be_visible()
    expect(box).to_have_attribute("data-overridden", "true")
    _shot(page, "07-override")
    _inspector(browser, journey_daemon, cycle_id)


def _inspector(browser: Any, daemon: LiveDaemon, cycle_id: str) -> None:
    with checked_page(browser, daemon, timeout_ms=20_000, locale=WALK["lang"]) as page:
        _login(page, daemon, "inspector", "/inspector/verifications")
        # --- audit browser: the journey's events, newest first
        page.goto("/inspector/audit")
        rows = page.locator("#events tbody tr")
        expect(rows.first).to_be_visible()
        expect(page.locator("#events tbody tr[data-type='verification.completed']")).to_have_count(4)
        expect(page.locator("#events tbody tr[data-type='override.recorded']")).to_have_count(1)
        expect(page.locator("#events tbody tr[data-type='enrollment.complete']")).to_have_count(2)
        _shot(page, "08-audit")
        # filtered to rejects: only the impostor's check
        page.select_option("#a-decision", "reject")
        page.click("#audit-filters button[type=submit]")
        expect(page.locator("#events tbody tr[data-type='verification.completed']")).to_have_count(1)

        # --- exports: JSONL (verifiable ledger lines) and CSV, contents checked
        page.goto("/inspector/audit")
        with page.expect_download() as dl:
            page.click("#export-jsonl")
        lines = [json.loads(line) for line in dl.value.path().read_text(encoding="utf-8").splitlines() if line]
        entries = [line["entry"] for line in lines if line.get("type") == "entry"]
        assert lines[-1] == {"type": "end", "entries": len(entries)}
        checks = [e["event"] for e in entries if e["event"]["type"] == "verification.completed"]
        assert sorted(c["data"]["decision"] for c in checks) == ["accept", "accept", "accept", "reject"]
        assert {c["subject"]["cycle_id"] for c in checks} == {cycle_id}
        assert sum(e["event"]["type"] == "override.recorded" for e in entries) == 1
        with page.expect_download() as dl:
            page.click("#export-csv")
        table = list(csv.DictReader(io.StringIO(dl.value.path().read_text(encoding="utf-8-sig"))))
        # the same ledger, row for row; the JSONL download itself was recorded since (export.created)
        assert [(int(r["index"]), r["type"]) for r in table[:len(entries)]] == \
            [(e["index"], e["event"]["type"]) for e in entries]
        assert [r["type"] for r in table[len(entries):]] == ["export.created"]
        assert [r["type"] for r in table if r["type"] == "verification.completed"] == ["verification.completed"] * 4
        assert all(r["cycle_id"] == cycle_id for r in table if r["type"] == "verification.completed")
        exported = json.dumps(lines, ensure_ascii=False) + dl.value.path().read_text(encoding="utf-8")
        assert not [s for s in daemon.private_strings if s in exported]  # ids only, no names or numbers

        # --- the monthly report: charts and counts equal to the API's
        page.goto("/inspector/reports")
        month = page.input_value("#r-month")
        report = page.request.get(f"/api/v1/reports/monthly?month={month}").json()
        expect(page.locator("#sum-checks")).to_have_text(str(report["checks"]["total"]))
        assert report["checks"]["total"] == 4
        for decision in ("accept", "reject", "retry"):
            expect(page.locator(f"#sum-{decision}")).to_have_text(
                str(report["checks"]["by_decision"].get(decision, 0)))
        expect(page.locator("#sum-overridden")).to_have_text(str(report["checks"]["overridden"]))
        for stage, counts in report["checks"]["by_stage"].items():
            expect(page.locator(f"#stage-chart .bar-row[data-stage='{stage}']")).to_have_attribute(
                "data-total", str(counts["total"]))
        expect(page.locator("#stage-chart .bar-row")).to_have_count(len(report["checks"]["by_stage"]))
        _shot(page, "09-report")


def test_it_admin_tests_each_simulated_device(browser: Any, sim_daemon: LiveDaemon) -> None:
    """The devices page against the simulators: a test per device (card reader, sensor, camera) that says what
    answered and how fast, never an image or whose card it was."""
    people = sim_daemon.app.state.ctx.devices.simulators["people"]
    people.present("male")
    try:
        with checked_page(browser, sim_daemon, timeout_ms=30_000) as page:
            _login(page, sim_daemon, "itadmin", "/admin/devices")
            for kind in ("id_reader", "fingerprint", "camera"):
                card = page.locator(f"#device-cards .card[data-kind='{kind}']")
                expect(card).to_have_attribute("data-status", "ok")
                card.locator(f"button[data-test='{kind}']").click()
                expect(card.locator(".test-outcome")).to_have_attribute("data-outcome", "ok")
            reader = page.locator("#device-cards .card[data-kind='id_reader'] .test-outcome").inner_text()
            assert T["document_type.cn_resident_id"] in reader and T["devices.checks_ok"] in reader
            camera = page.locator("#device-cards .card[data-kind='camera'] .test-outcome").inner_text()
            assert "640×480" in camera and camera.rstrip().endswith(": 1")  # one face in view
            expect(page.locator("#device-cards img")).to_have_count(0)  # IT staff never see a biometric image
            text = page.locator("#device-cards").inner_text()
            assert not [s for s in sim_daemon.private_strings if s in text]
            assert "440305198511120052" not in text and "陈示例" not in text  # the card holder is not shown to IT
            screenshot(page, "journey-10-devices-tested")
    finally:
        people.leave()
