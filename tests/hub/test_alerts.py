"""Cross-clinic alerts from regional pseudonyms (no identity data at the hub), and the region-wide sweep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from idverify.errors import ConflictError, ValidationFailed
from idverify.hub import alerts
from idverify.hub.models import HubAction, HubAlert
from idverify.hub.sweep import sweep
from idverify.store.region import RegionKey, create_region_key

from .clinicsim import SimClinic, now

WOMAN, HUSBAND, OTHER_MAN = "11010119900307457X", "110101198805061234", "320102198001011239"


@pytest.fixture
def region(tmp_path: Path) -> RegionKey:
    return create_region_key(tmp_path / "region.key")


def _alerts(hub: Any, kind: str | None = None) -> list[HubAlert]:
    with hub.session() as s:
        stmt = select(HubAlert).order_by(HubAlert.id)
        if kind:
            stmt = stmt.where(HubAlert.kind == kind)
        return list(s.scalars(stmt))


def test_one_woman_in_open_cycles_at_two_clinics(make_hub: Any, hub_db_url: str, region: RegionKey) -> None:
    hub = make_hub(hub_db_url)
    a, b = SimClinic(hub, "A", region), SimClinic(hub, "B", region)
    t = now() - timedelta(days=20)
    fa, ma = a.patient(WOMAN, t), a.patient(HUSBAND, t)
    cycle_a = a.open_cycle(a.couple(fa, ma, t), t)
    a.sync()
    fb = b.patient(WOMAN, t + timedelta(days=1))  # the same woman registers at clinic B
    b.open_cycle(b.couple(fb, None, t + timedelta(days=1)), t + timedelta(days=1))
    b.sync()
    found = _alerts(hub, "open_cycles_two_clinics")
    assert len(found) == 1
    alert = found[0]
    assert alert.status == "open" and sorted(alert.summary["clinics"]) == sorted([a.clinic_id, b.clinic_id])
    assert {e["origin"] for e in alert.evidence} == {a.log.origin, b.log.origin}
    assert all(e["what"] == "cycle.opened" for e in alert.evidence)
    # the pseudonym itself is not in the alert, only a reference prefix; no document number anywhere
    assert region.pseudonym("cn_resident_id", WOMAN) not in str(alert.summary) + str(alert.evidence)
    assert WOMAN not in str(alert.summary)
    # feeding the same entries again raises nothing new
    b.sync()
    assert len(_alerts(hub, "open_cycles_two_clinics")) == 1
    del cycle_a


def test_sequential_cycles_and_different_people_raise_nothing(make_hub: Any, region: RegionKey) -> None:
    hub = make_hub()
    a, b = SimClinic(hub, "A", region), SimClinic(hub, "B", region)
    t = now() - timedelta(days=60)
    fa = a.patient(WOMAN, t)
    ka = a.couple(fa, a.patient(HUSBAND, t), t)
    a.close_cycle(ka, a.open_cycle(ka, t), t + timedelta(days=10))
    fb = b.patient(WOMAN, t + timedelta(days=20))  # she moved to clinic B with her husband
    kb = b.couple(fb, b.patient(HUSBAND, t + timedelta(days=20)), t + timedelta(days=20))
    b.open_cycle(kb, t + timedelta(days=20))
    b.patient(OTHER_MAN, t + timedelta(days=21))
    a.sync()
    b.sync()
    assert _alerts(hub) == []


def test_egg_retrievals_above_the_limit_within_twelve_months(make_hub: Any, region: RegionKey) -> None:
    hub = make_hub(egg_retrieval_limit=2)
    a, b = SimClinic(hub, "A", region), SimClinic(hub, "B", region)
    start = now() - timedelta(days=700)

    def retrieve(clinic: SimClinic, at: Any) -> None:
        f = clinic.patient(WOMAN, at)
        k = clinic.couple(f, None, at)
        c = clinic.open_cycle(k, at)
        clinic.check(f, c, "egg_retrieval", "accept", at + timedelta(days=12))
        clinic.close_cycle(k, c, at + timedelta(days=30))

    retrieve(a, start)                       # two years ago: outside any 12-month window with the later ones
    retrieve(b, start + timedelta(days=400))
    retrieve(a, start + timedelta(days=520))
    a.sync()
    b.sync()
    assert _alerts(hub, "egg_retrievals") == []  # 2 in the last 12 months: at the limit, not above
    retrieve(b, start + timedelta(days=640))
    b.sync()
    found = _alerts(hub, "egg_retrievals")
    assert len(found) == 1
    assert found[0].summary["retrievals"] == 3 and found[0].summary["limit"] == 2
    assert len({e["clinic_id"] for e in found[0].evidence}) == 2


def test_female_partner_of_different_couples(make_hub: Any, region: RegionKey) -> None:
    hub = make_hub()
    a, b = SimClinic(hub, "A", region), SimClinic(hub, "B", region)
    t = now() - timedelta(days=100)
    a.couple(a.patient(WOMAN, t), a.patient(HUSBAND, t), t)
    b.couple(b.patient(WOMAN, t + timedelta(days=5)), b.patient(HUSBAND, t + timedelta(days=5)), t + timedelta(days=5))
    a.sync()
    b.sync()
    assert _alerts(hub, "female_partner_couples") == []  # the same couple at two clinics
    b.couple(b.patient(WOMAN, t + timedelta(days=9)), b.patient(OTHER_MAN, t + timedelta(days=9)),
             t + timedelta(days=9))
    b.sync()
    found = _alerts(hub, "female_partner_couples")
    assert len(found) == 1 and found[0].summary["different_partners"] == 2


def test_a_pseudonym_that_arrives_late_connects_what_was_there(make_hub: Any, region: RegionKey) -> None:
    hub = make_hub()
    a, b = SimClinic(hub, "A", region), SimClinic(hub, "B", None)  # B has no regional key yet
    t = now() - timedelta(days=10)
    a.open_cycle(a.couple(a.patient(WOMAN, t), None, t), t)
    fb = b.patient(WOMAN, t)
    b.open_cycle(b.couple(fb, None, t), t)
    a.sync()
    b.sync()
    assert _alerts(hub) == []
    b.assign(fb, WOMAN, t + timedelta(days=1), region)  # B installs the key: backfill
    b.sync()
    assert len(_alerts(hub, "open_cycles_two_clinics")) == 1


def test_an_unknown_regional_key_is_flagged_at_once(make_hub: Any, region: RegionKey, tmp_path: Path) -> None:
    hub = make_hub(region_key_ids=region.key_id)
    wrong = create_region_key(tmp_path / "wrong.key")
    a, b = SimClinic(hub, "A", region), SimClinic(hub, "B", wrong)
    a.patient(WOMAN, now())
    b.patient(WOMAN, now())
    a.sync()
    b.sync()
    found = _alerts(hub, "pseudonym_mismatch")
    assert [f.clinic_id for f in found] == [b.clinic_id]
    assert found[0].summary["reason"] == "unknown_key_id"


def test_sweep_rates_silence_and_pseudonyms_that_never_match(make_hub: Any, hub_db_url: str, region: RegionKey,
                                                              tmp_path: Path) -> None:
    hub = make_hub(hub_db_url, pseudonym_min_patients=5, rate_min_checks=20)
    a, b, c = SimClinic(hub, "A", region), SimClinic(hub, "B", region), SimClinic(hub, "C", region)
    t = now() - timedelta(minutes=30)
    pa, pb = a.patient(WOMAN, t), b.patient(WOMAN, t)
    cyc_a, cyc_b = a.open_cycle(a.couple(pa, None, t), t), b.open_cycle(b.couple(pb, None, t), t)
    for i in range(30):  # clinic A: 30 checks, 10 overridden, 10 by nurse-x
        a.check(pa, cyc_a, "embryo_transfer", "reject" if i % 3 == 0 else "accept", t, staff="nurse-x")
        if i % 3 == 0:
            a.override(pa, cyc_a, "embryo_transfer", t, staff="nurse-x")
    for i in range(200):  # clinic B: 200 checks, 2 overrides
        b.check(pb, cyc_b, "embryo_transfer", "reject" if i < 2 else "accept", t, staff=f"nurse-{i % 5}")
        if i < 2:
            b.override(pb, cyc_b, "embryo_transfer", t)
    wrong = create_region_key(tmp_path / "wrong.key")
    for i in range(6):  # clinic C registers under another key: none of its pseudonyms matches anyone's
        c.patient(f"1101011990030{i:04d}X", t, region=wrong)
    for clinic in (a, b, c):
        clinic.sync()
    with hub.session() as s:
        report = sweep(s, hub.settings, now=now())
        s.commit()
    kinds = {(x.kind, x.clinic_id, x.summary.get("staff_id"), x.summary.get("reason")) for x in _alerts(hub)}
    assert ("override_rate", a.clinic_id, None, None) in kinds
    assert ("override_rate", a.clinic_id, "nurse-x", None) in kinds
    assert ("reject_rate", a.clinic_id, None, None) in kinds
    assert not any(k[1] == b.clinic_id and k[0].endswith("_rate") for k in kinds)
    assert ("pseudonym_mismatch", c.clinic_id, None, "other_key_id") in kinds
    assert ("pseudonym_mismatch", c.clinic_id, None, "never_matches") in kinds
    assert not any(k[0] == "clinic_silent" for k in kinds)
    assert set(report.seconds) >= {"silent", "pseudonyms"}
    # a day later without a cosigned checkpoint, everyone is silent; the sweep is idempotent otherwise
    with hub.session() as s:
        again = sweep(s, hub.settings, now=now() + timedelta(hours=25))
        s.commit()
    assert {x.clinic_id for x in _alerts(hub, "clinic_silent")} == {a.clinic_id, b.clinic_id, c.clinic_id}
    assert len(again.raised) == 3


def test_alert_status_workflow(make_hub: Any, region: RegionKey) -> None:
    hub = make_hub()
    with hub.session() as s:
        alert = alerts.raise_alert(s, "clinic_silent", key="x", clinic_id=None, summary={}, evidence=[])
        assert alert is not None
        assert alerts.raise_alert(s, "clinic_silent", key="x", clinic_id=None, summary={}, evidence=[]) is None
        alerts.change_status(s, alert.id, "acknowledged", note=None, user_id="u1", role="regional_inspector")
        with pytest.raises(ValidationFailed, match="note"):
            alerts.change_status(s, alert.id, "closed", note=" ", user_id="u1", role="regional_inspector")
        closed = alerts.change_status(s, alert.id, "closed", note="clinic visited; explained",
                                      user_id="u1", role="regional_inspector")
        assert closed.status == "closed" and closed.note == "clinic visited; explained"
        with pytest.raises(ConflictError):
            alerts.change_status(s, alert.id, "acknowledged", note=None, user_id="u1", role="regional_inspector")
        s.commit()


def test_raising_many_alerts_at_once_raises_each_new_key_once(make_hub: Any, hub_db_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from idverify.hub import alert_repository

    hub = make_hub(hub_db_url)

    def spec(key: str) -> alerts.AlertSpec:
        return alerts.AlertSpec("clinic_silent", key, None, {"k": key}, [])

    with hub.session() as s:
        assert alerts.raise_alert(s, "clinic_silent", key="old", clinic_id=None, summary={}, evidence=[]) is not None
        raised = alerts.raise_alerts(s, [spec("a"), spec("old"), spec("b"), spec("a")])
        assert [a.dedupe_key for a in raised] == ["clinic_silent:a", "clinic_silent:b"]
        assert all(a.id is not None for a in raised)
        s.commit()
        # another process inserted a key between the check and the INSERT: each alert is then inserted alone
        monkeypatch.setattr(alert_repository, "_known_keys", lambda _s, _k: set())
        again = alerts.raise_alerts(s, [spec("b"), spec("c")])
        assert [a.dedupe_key for a in again] == ["clinic_silent:c"]
        s.commit()
    assert sorted(a.dedupe_key for a in _alerts(hub)) == [f"clinic_silent:{k}" for k in ("a", "b", "c", "old")]
    with hub.session() as s:
        kinds = [k for (k,) in s.execute(select(HubAction.kind).where(HubAction.kind == "alert.raised"))]
    assert len(kinds) == 4
