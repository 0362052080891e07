"""The region-wide alert rules, run every ``IDVERIFY_HUB_ALERT_INTERVAL_S`` (and by the bench, which times each
query): monthly override and reject rates per clinic and per staff member, silent clinics, and clinics whose
regional pseudonyms look misconfigured. The decisions are :mod:`idverify.hub.rules`'; the SQL reads the small
projection tables (``hub_monthly``, ``hub_clinics``, ``hub_patients``, ``hub_people``), never the entries themselves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from idverify.config import HubSettings
from idverify.hub import alerts, rules
from idverify.hub.models import HubClinic, HubMonthly, HubPatient, HubPerson
from idverify.hub.projection import REGION_TZ, month_of
from idverify.ledger.canonical import format_time
from idverify.periodic import PeriodicJob
from idverify.store.base import utcnow

RATES = (("override_rate", "overrides"), ("reject_rate", "rejects"))


@dataclass
class SweepReport:
    raised: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _months(now: datetime) -> list[str]:
    local = now.astimezone(REGION_TZ)
    first = local.replace(day=1)
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    return [previous, first.strftime("%Y-%m")]


def rate_alerts(session: Session, settings: HubSettings, month: str) -> list[int]:
    """Clinics and staff members whose monthly override or reject rate is far above the rest of the region's."""
    rows = session.execute(select(HubMonthly.clinic_id, HubMonthly.staff_id, HubMonthly.checks,
                                  HubMonthly.overrides, HubMonthly.rejects).where(HubMonthly.month == month)).all()
    clinics = [r for r in rows if r[1] == ""]
    staff = [r for r in rows if r[1] != ""]
    specs: list[alerts.AlertSpec] = []
    for kind, field_name in RATES:
        pos = 3 if field_name == "overrides" else 4
        total_checks = sum(int(r[2]) for r in clinics)
        total_events = sum(int(r[pos]) for r in clinics)
        for who in (clinics, staff):
            for r in who:
                checks, events = int(r[2]), int(r[pos])
                verdict = rules.rate_outlier(events, checks, total_events - events, total_checks - checks,
                                             min_checks=settings.rate_min_checks, factor=settings.rate_factor,
                                             z=settings.rate_z)
                if verdict is None:
                    continue
                clinic_id, staff_id = str(r[0]), str(r[1]) or None
                specs.append(alerts.AlertSpec(
                    kind, f"{clinic_id}:{staff_id or '-'}:{month}", clinic_id,
                    {"month": month, "staff_id": staff_id, **verdict.as_dict()},
                    [{"type": "monthly", "clinic_id": clinic_id, "month": month, "staff_id": staff_id}],
                ))
    return [a.id for a in alerts.raise_alerts(session, specs)]


def silent_alerts(session: Session, settings: HubSettings, now: datetime) -> list[int]:
    specs: list[alerts.AlertSpec] = []
    cutoff = now - timedelta(hours=settings.silence_hours)
    rows = session.execute(select(HubClinic.id, HubClinic.witness_at, HubClinic.created_at, HubClinic.witness_size)
                           .where(HubClinic.status == "active",
                                  func.coalesce(HubClinic.witness_at, HubClinic.created_at) < cutoff)).all()
    for clinic_id, witness_at, created_at, size in rows:
        last = witness_at or created_at
        hours = (now - last).total_seconds() / 3600
        if not rules.silent(hours, settings.silence_hours):
            continue
        specs.append(alerts.AlertSpec(
            "clinic_silent", f"{clinic_id}:{format_time(last)}", str(clinic_id),
            {"last_cosigned_at": format_time(witness_at) if witness_at else None,
             "hours_silent": round(hours, 1), "limit_hours": settings.silence_hours, "cosigned_size": int(size)},
            [{"type": "clinic", "clinic_id": str(clinic_id)}],
        ))
    return [a.id for a in alerts.raise_alerts(session, specs)]


def pseudonym_alerts(session: Session, settings: HubSettings, now: datetime) -> list[int]:
    """Clinics on another regional key than the region's, and clinics whose pseudonyms never match anyone's."""
    since = now - rules.MISCONFIG_WINDOW
    month = month_of(now)
    specs: list[alerts.AlertSpec] = []
    keys = session.execute(select(HubPatient.clinic_id, HubPatient.key_id, func.count())
                           .where(HubPatient.recorded_at >= since)
                           .group_by(HubPatient.clinic_id, HubPatient.key_id)).all()
    by_clinic: dict[str, set[str]] = defaultdict(set)
    for clinic_id, key_id, _n in keys:
        by_clinic[str(clinic_id)].add(str(key_id))
    accepted = settings.accepted_region_key_ids
    if not accepted and len(by_clinic) >= 2:
        usage = Counter(k for ks in by_clinic.values() for k in ks)
        top, count = usage.most_common(1)[0]
        accepted = frozenset({top}) if count > len(by_clinic) / 2 else frozenset()
    for clinic_id, used in sorted(by_clinic.items()):
        if accepted and not used & accepted:
            specs.append(alerts.AlertSpec(
                "pseudonym_mismatch", f"key:{clinic_id}:{','.join(sorted(used))}", clinic_id,
                {"reason": "other_key_id", "key_ids": sorted(used), "region_key_ids": sorted(accepted)},
                [{"type": "clinic", "clinic_id": clinic_id}],
            ))
    # A patient matches when another clinic registered the same pseudonym: hub_people marks those (few) pseudonyms
    # shared, so this is the 30-day window joined with a small set, not one index probe per patient.
    stats = session.execute(
        select(HubPatient.clinic_id, func.count(), func.count(HubPerson.pseudonym)).select_from(HubPatient)
        .outerjoin(HubPerson, and_(HubPerson.pseudonym == HubPatient.pseudonym, HubPerson.shared))
        .where(HubPatient.recorded_at >= since).group_by(HubPatient.clinic_id)
    ).all()
    counts = {str(c): (int(n), int(m or 0)) for c, n, m in stats}
    all_hits = sum(m for _n, m in counts.values())
    for clinic_id, (registered, hits) in sorted(counts.items()):
        elsewhere = all_hits - hits
        if not rules.pseudonyms_never_match(registered, hits, elsewhere, min_patients=settings.pseudonym_min_patients):
            continue
        specs.append(alerts.AlertSpec(
            "pseudonym_mismatch", f"nomatch:{clinic_id}:{month}", clinic_id,
            {"reason": "never_matches", "registered_30d": registered, "matched": hits,
             "matches_elsewhere": elsewhere, "min_patients": settings.pseudonym_min_patients},
            [{"type": "clinic", "clinic_id": clinic_id}],
        ))
    return [a.id for a in alerts.raise_alerts(session, specs)]


def sweep(session: Session, settings: HubSettings, *, now: datetime | None = None,
          timer: Callable[[], float] | None = None) -> SweepReport:
    """Run every region-wide rule once (caller commits)."""
    import time

    clock = timer or time.perf_counter
    now = now or utcnow()
    report = SweepReport()
    steps: list[tuple[str, Callable[[], list[int]]]] = [
        *((f"rates {m}", (lambda m=m: rate_alerts(session, settings, m))) for m in _months(now)),
        ("silent", lambda: silent_alerts(session, settings, now)),
        ("pseudonyms", lambda: pseudonym_alerts(session, settings, now)),
    ]
    for name, step in steps:
        started = clock()
        report.raised.extend(step())
        report.seconds[name] = clock() - started
    return report


class AlertSweepJob(PeriodicJob):
    name = "alert_sweep"

    def __init__(self, factory: sessionmaker[Session], settings: HubSettings) -> None:
        super().__init__(settings.alert_interval_s)
        self._factory = factory
        self._settings = settings

    def run_once(self) -> SweepReport:
        with self._factory() as session:
            report = sweep(session, self._settings)
            session.commit()
            return report
