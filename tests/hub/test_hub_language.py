"""The regional inspector reads every hub screen in Chinese: no English word on a zh-CN page, for every kind of
alert the hub raises (each with its own facts and evidence), the clinics table, the statistics, the administrator's
page and the error a refused action shows. Same rule as the clinic UI (tests/web/test_reason_language.py): a
Chinese screen contains no run of four ASCII letters outside the machine identifiers an inspector copies (the
clinic's origin, pseudonym references, the proof JSON) and the names of standards (FHIR, AuditEvent).

Real rules raise the alerts: clinics feed ledger entries through the witness and the feed, the sweep runs, and one
clinic rewrites its ledger and re-signs. Run under the suite lock, like the other browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from idverify.store.region import RegionKey, create_region_key

from .clinicsim import SimClinic, now
from .conftest import Hub
from .memlog import MemoryLog
from .test_hub_browser import PASSWORD, serve_with_users

ENGLISH = re.compile(r"[A-Za-z]{4,}")
STANDARDS = {"FHIR", "AuditEvent", "idverify"}  # and the product's name
#: the kinds the fixture below raises: every kind the hub knows
KINDS = {"open_cycles_two_clinics", "egg_retrievals", "female_partner_couples", "override_rate", "reject_rate",
         "clinic_silent", "pseudonym_mismatch", "checkpoint_refused"}
WOMAN, HUSBAND, OTHER_MAN = "11010119900307457X", "110101198805061234", "320102198001011239"
#: visible text of the page, without the identifiers an inspector copies verbatim
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('.mono, pre.json, script, style, [data-locale]').forEach((e) => e.remove());
  document.body.appendChild(copy);
  copy.hidden = false;
  const text = copy.innerText;
  copy.remove();
  return text;
}"""


def _raise_every_kind(hub: Any, region: RegionKey, wrong: RegionKey) -> None:
    """Three clinics whose ledgers trip every rule, then the sweep a day later and one rewritten history."""
    from idverify.hub.sweep import sweep

    a, b = SimClinic(hub, "北京甲医院生殖中心", region), SimClinic(hub, "上海乙医院生殖中心", region)
    c = SimClinic(hub, "广州丙医院生殖中心", region)
    t = now() - timedelta(days=200)
    fa, ma = a.patient(WOMAN, t), a.patient(HUSBAND, t)
    couple_a = a.couple(fa, ma, t)
    first = a.open_cycle(couple_a, t)  # a retrieval in a cycle that is over
    a.check(fa, first, "egg_retrieval", "accept", t + timedelta(days=12))
    a.close_cycle(couple_a, first, t + timedelta(days=30))
    t += timedelta(days=100)
    cyc_a = a.open_cycle(couple_a, t)
    fb, ob = b.patient(WOMAN, t), b.patient(OTHER_MAN, t)
    cyc_b = b.open_cycle(b.couple(fb, ob, t), t)  # open cycles at two clinics, female partner of two couples
    a.check(fa, cyc_a, "egg_retrieval", "accept", t + timedelta(days=12))
    b.check(fb, cyc_b, "egg_retrieval", "accept", t + timedelta(days=14))  # 3 retrievals > limit 2
    recent = now() - timedelta(minutes=30)
    for i in range(30):  # clinic A: a third of its checks rejected and overridden, all by one nurse
        a.check(fa, cyc_a, "embryo_transfer", "reject" if i % 3 == 0 else "accept", recent, staff="nurse-x")
        if i % 3 == 0:
            a.override(fa, cyc_a, "embryo_transfer", recent, staff="nurse-x")
    for i in range(200):
        b.check(fb, cyc_b, "embryo_transfer", "accept", recent, staff=f"nurse-{i % 5}")
    for i in range(6):  # clinic C registers under another key: its pseudonyms never match anyone's
        c.patient(f"1101011990030{i:04d}X", recent, region=wrong)
    for clinic in (a, b, c):
        clinic.sync()
    with hub.session() as s:
        sweep(s, hub.settings, now=now() + timedelta(hours=25))
        s.commit()
    forged = MemoryLog(signer=c.log.signer, leaves=list(c.log.leaves))  # C rewrites entry 3 and re-signs
    forged.leaves[3] = b"\x07" * 32
    forged.grow(4, tag="rewritten")
    refused = hub.client().post("/witness/add-checkpoint", content=forged.body(c.cosigned),
                                headers={"content-type": "text/plain"})
    assert refused.status_code == 422, refused.text


@pytest.fixture(scope="module")
def busy_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    from idverify.config import load_hub_settings
    from idverify.hub.app import create_hub_app
    from idverify.hub.db import upgrade_hub_database

    data = tmp_path_factory.mktemp("hub-language")
    url = f"sqlite:///{data / 'hub.db'}"
    region, wrong = create_region_key(data / "region.key"), create_region_key(data / "wrong.key")
    upgrade_hub_database(url)
    settings = load_hub_settings(data_dir=data, database_url=url, pseudonym_min_patients=5, rate_min_checks=20,
                                 egg_retrieval_limit=2,
                                 region_key_ids=region.key_id)
    app = create_hub_app(settings)
    hub = Hub(app, settings, url)
    _raise_every_kind(hub, region, wrong)
    with serve_with_users(hub, admin_name="平台管理员") as base:
        yield base, app


def _chinese_tab(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.goto("/login")
    tab.fill("#login-username", username)
    tab.fill("#login-password", PASSWORD)
    tab.click("#login-submit")
    tab.wait_for_load_state("networkidle")
    return tab


def _english_words(tab: Any) -> list[str]:
    return sorted({w for w in ENGLISH.findall(tab.evaluate(VISIBLE_TEXT)) if w not in STANDARDS})


def test_every_hub_screen_reads_in_chinese(browser: Any, busy_hub: tuple[str, Any]) -> None:
    base, _app = busy_hub
    tab = _chinese_tab(browser, base, "insp")
    tab.goto("/alerts")
    tab.select_option("#filter-status", "")
    tab.click("#alert-filters button[type=submit]")
    tab.locator("#alerts-body tr[data-kind='checkpoint_refused']").wait_for()
    kinds = set(tab.eval_on_selector_all("#alerts-body tr[data-kind]", "rows => rows.map(r => r.dataset.kind)"))
    assert kinds == KINDS  # the fixture raised every kind of alert
    found: dict[str, list[str]] = {"/alerts": _english_words(tab)}
    links = tab.eval_on_selector_all("#alerts-body tr[data-kind] a", "as => as.map(a => a.getAttribute('href'))")
    assert len(links) >= len(KINDS)
    for href in links:
        tab.goto(href)
        tab.locator("#evidence-body tr").first.wait_for()
        tab.locator("#alert-facts dt").first.wait_for()
        if tab.locator(".proof-button").count():
            tab.locator(".proof-button").first.click()
            tab.locator("#proof-verified").wait_for()
        found[href] = _english_words(tab)
    tab.click("#close-button")  # closing without a note is refused: the error is Chinese too
    tab.locator("#status-error[data-code='note_required']").wait_for()
    found["note_required"] = _english_words(tab)
    tab.goto("/clinics")
    tab.locator("#clinics-body tr[data-clinic-id]").nth(2).wait_for()
    found["/clinics"] = _english_words(tab)
    tab.goto("/stats")
    tab.locator("#stats-body tr[data-region]").wait_for()
    found["/stats"] = _english_words(tab)
    admin = _chinese_tab(browser, base, "hubadmin")
    admin.goto("/admin")
    admin.wait_for_load_state("networkidle")
    found["/admin"] = _english_words(admin)
    forbidden = admin.goto("/alerts")
    assert forbidden is not None and forbidden.status == 403
    found["forbidden"] = _english_words(admin)
    assert {page: words for page, words in found.items() if words} == {}
