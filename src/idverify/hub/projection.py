"""What an accepted feed batch changes besides the stored entries: the projections (who is whom by regional
pseudonym, couples, cycles, egg retrievals, monthly counts) and the per-person alerts they trigger.

Runs inside the feed's transaction (:func:`idverify.hub.feed.ingest`), so entries, projections and the alerts they
raise commit together. The per-person rules of :mod:`idverify.hub.rules` are applied here, right when the entry
that can trip them arrives; the region-wide rules (rates, silence, key mismatch) run in :mod:`idverify.hub.sweep`.

Event shapes read (the clinic's ledger events; ids only):

* ``patient.registered`` / ``patient.pseudonym_assigned`` — ``data.region_pseudonym``, ``data.region_key_id``
* ``couple.registered`` — ``subject.couple_id``, ``data.female_patient_id``, ``data.male_patient_id``
* ``cycle.opened`` / ``cycle.closed`` — ``subject.couple_id``, ``subject.cycle_id``
* ``verification.completed`` — ``data.stage``, ``data.decision``, ``subject.patient_id``/``cycle_id``, the actor
* ``override.recorded`` — ``data.stage``, ``subject.patient_id``/``cycle_id``, the actor
* ``enrollment.complete``
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from idverify.config import HubSettings
from idverify.hub import alerts, bulk, rules
from idverify.hub import projection_repository as repo
from idverify.hub.feed import FeedItem
from idverify.hub.models import HubClinic
from idverify.store.base import utcnow

PATIENT_COLUMNS = (("clinic_id", "text"), ("patient_id", "text"), ("key_id", "text"), ("pseudonym", "text"),
                   ("recorded_at", "timestamptz"), ("entry_index", "bigint"))
COUPLE_COLUMNS = (("clinic_id", "text"), ("couple_id", "text"), ("female_patient_id", "text"),
                  ("male_patient_id", "text"), ("recorded_at", "timestamptz"), ("entry_index", "bigint"))
CYCLE_COLUMNS = (("clinic_id", "text"), ("cycle_id", "text"), ("couple_id", "text"), ("opened_at", "timestamptz"),
                 ("opened_index", "bigint"))
RETRIEVAL_COLUMNS = (("clinic_id", "text"), ("cycle_id", "text"), ("patient_id", "text"),
                     ("occurred_at", "timestamptz"), ("entry_index", "bigint"))
REGION_TZ = ZoneInfo("Asia/Shanghai")  # months of the statistics, as the clinics' monthly reports
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
EGG_RETRIEVAL = "egg_retrieval"
_DECISIONS = {"accept": "accepts", "reject": "rejects", "retry": "retries"}


def month_of(when: datetime) -> str:
    return when.astimezone(REGION_TZ).strftime("%Y-%m")


def person_ref(pseudonym: str) -> str:
    """How alerts name a person: a prefix of the pseudonym, enough to tell people apart in one region."""
    return pseudonym[:16]


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


class Projector:
    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings

    def __call__(self, session: Session, clinic: HubClinic, items: Sequence[FeedItem]) -> None:
        batch = _Batch(clinic.id)
        for item in items:
            batch.add(item)
        batch.write(session)
        _Checks(session, self.settings, clinic, batch).run()


class _Batch:
    """The rows one batch adds, and which people it touched (for the checks)."""

    def __init__(self, clinic_id: str) -> None:
        self.clinic_id = clinic_id
        self.patients: list[dict[str, Any]] = []
        self.couples: list[dict[str, Any]] = []
        self.cycles: list[dict[str, Any]] = []
        self.closes: list[tuple[str, datetime]] = []
        self.retrievals: list[dict[str, Any]] = []
        self.monthly: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.key_ids: set[str] = set()
        self.new_people: set[str] = set()  # pseudonyms that arrived (check everything about them)
        self.opened_couples: dict[str, datetime] = {}  # couple id -> when a cycle opened
        self.new_couples: dict[str, datetime] = {}  # couple id -> when registered
        self.retrieval_patients: dict[str, datetime] = {}  # patient id -> latest retrieval time
        self._month: tuple[datetime, datetime, str] | None = None  # the last month seen: [start, end), "YYYY-MM"

    def month(self, at: datetime) -> str:
        """:func:`month_of` for entries in ledger order: one timezone conversion per month, not per entry."""
        known = self._month
        if known is not None and known[0] <= at < known[1]:
            return known[2]
        first = at.astimezone(REGION_TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (first + timedelta(days=32)).replace(day=1)
        # bounds in ``at``'s own zone (UTC): aware datetimes with one tzinfo compare field by field, with two
        # different ones each comparison asks the region's zone for its offset (a tenth of the feed's CPU)
        self._month = (first.astimezone(at.tzinfo), end.astimezone(at.tzinfo), first.strftime("%Y-%m"))
        return self._month[2]

    def count(self, month: str, staff: str | None, field: str) -> None:
        self.monthly[(self.clinic_id, month, "")][field] += 1
        if staff:
            self.monthly[(self.clinic_id, month, staff)][field] += 1

    def add(self, item: FeedItem) -> None:
        ev = item.event
        etype = ev.get("type")
        subject: dict[str, Any] = ev["subject"] if isinstance(ev.get("subject"), dict) else {}
        data: dict[str, Any] = ev["data"] if isinstance(ev.get("data"), dict) else {}
        actor: dict[str, Any] = ev["actor"] if isinstance(ev.get("actor"), dict) else {}
        at, month, staff = item.recorded_at, self.month(item.recorded_at), _id(actor.get("staff_id"))
        base = {"clinic_id": self.clinic_id}
        if etype in ("patient.registered", "patient.pseudonym_assigned"):
            if etype == "patient.registered":
                self.count(month, None, "registrations")
            pid, ps, kid = _id(subject.get("patient_id")), data.get("region_pseudonym"), data.get("region_key_id")
            if pid and isinstance(ps, str) and _PSEUDONYM.match(ps) and isinstance(kid, str) and _KEY_ID.match(kid):
                self.patients.append({**base, "patient_id": pid, "key_id": kid, "pseudonym": ps, "recorded_at": at,
                                      "entry_index": item.index})
                self.key_ids.add(kid)
                self.new_people.add(ps)
        elif etype == "couple.registered":
            cid = _id(subject.get("couple_id"))
            if cid:
                self.couples.append({**base, "couple_id": cid, "female_patient_id": _id(data.get("female_patient_id")),
                                     "male_patient_id": _id(data.get("male_patient_id")), "recorded_at": at,
                                     "entry_index": item.index})
                self.new_couples[cid] = at
        elif etype == "cycle.opened":
            cyc, cid = _id(subject.get("cycle_id")), _id(subject.get("couple_id"))
            if cyc:
                self.cycles.append({**base, "cycle_id": cyc, "couple_id": cid, "opened_at": at,
                                    "opened_index": item.index})
                if cid:
                    self.opened_couples[cid] = at
        elif etype == "cycle.closed":
            cyc = _id(subject.get("cycle_id"))
            if cyc:
                self.closes.append((cyc, at))
        elif etype == "verification.completed":
            decision = data.get("decision")
            self.count(month, staff, "checks")
            if decision in _DECISIONS:
                self.count(month, staff, _DECISIONS[decision])
            if data.get("stage") == EGG_RETRIEVAL and decision == "accept":
                self._retrieval(subject, at, item.index)
        elif etype == "override.recorded":
            self.count(month, staff, "overrides")
            if data.get("stage") == EGG_RETRIEVAL:
                self._retrieval(subject, at, item.index)
        elif etype == "enrollment.complete":
            self.count(month, staff, "enrolments")

    def _retrieval(self, subject: dict[str, Any], at: datetime, index: int) -> None:
        pid, cyc = _id(subject.get("patient_id")), _id(subject.get("cycle_id"))
        if pid and cyc:
            self.retrievals.append({"clinic_id": self.clinic_id, "cycle_id": cyc, "patient_id": pid,
                                    "occurred_at": at, "entry_index": index})
            self.retrieval_patients[pid] = at

    def write(self, session: Session) -> None:
        bulk.insert_patients(session, PATIENT_COLUMNS,
                             [tuple(r[c] for c, _t in PATIENT_COLUMNS) for r in self.patients])
        bulk.insert_ignore(session, "hub_couples", COUPLE_COLUMNS,
                           [tuple(r[c] for c, _t in COUPLE_COLUMNS) for r in self.couples])
        bulk.insert_ignore(session, "hub_cycles", CYCLE_COLUMNS,
                           [tuple(r[c] for c, _t in CYCLE_COLUMNS) for r in self.cycles])
        bulk.close_cycles(session, self.clinic_id, self.closes)
        bulk.insert_ignore(session, "hub_retrievals", RETRIEVAL_COLUMNS,
                           [tuple(r[c] for c, _t in RETRIEVAL_COLUMNS) for r in self.retrievals])
        repo.add_monthly(session, self.monthly)


def _span(windows: dict[str, tuple[datetime, datetime]]) -> tuple[datetime, datetime] | None:
    """The window that covers each of ``windows`` (None for none)."""
    if not windows:
        return None
    return min(w[0] for w in windows.values()), max(w[1] for w in windows.values())


class _Checks:
    """The per-person rules for everyone the batch touched."""

    def __init__(self, session: Session, settings: HubSettings, clinic: HubClinic, batch: _Batch) -> None:
        self.session = session
        self.settings = settings
        self.clinic = clinic
        self.batch = batch
        self._origins: dict[str, str] = {clinic.id: clinic.origin}

    def run(self) -> None:
        b, s = self.batch, self.session
        accepted = self.settings.accepted_region_key_ids
        for kid in sorted(b.key_ids):
            if accepted and kid not in accepted:
                alerts.raise_alert(
                    s, "pseudonym_mismatch", key=f"{self.clinic.id}:{kid}", clinic_id=self.clinic.id,
                    summary={"reason": "unknown_key_id", "key_id": kid, "accepted": sorted(accepted)},
                    evidence=[self._entry(self.clinic.id, p["entry_index"], "patient")
                              for p in b.patients if p["key_id"] == kid][:5])
        couples = repo.couple_partners(s, self.clinic.id, [*b.opened_couples, *b.new_couples])
        patients_of_opened = {p for c in b.opened_couples for p in couples.get(c, [])}
        female_of_new = {couples[c][0]: at for c, at in b.new_couples.items() if couples.get(c)}
        people = repo.pseudonyms_of(s, self.clinic.id, {*patients_of_opened, *female_of_new,
                                                        *b.retrieval_patients})
        open_check = {ps for p in patients_of_opened for ps in people.get(p, [])} | b.new_people
        partner_check: dict[str, datetime | None] = {ps: at for p, at in female_of_new.items()
                                                     for ps in people.get(p, [])}
        retrieval_check: dict[str, datetime | None] = {ps: at for p, at in b.retrieval_patients.items()
                                                       for ps in people.get(p, [])}
        for ps in b.new_people:  # a pseudonym that arrives late can connect what was already there
            partner_check.setdefault(ps, None)
            retrieval_check.setdefault(ps, None)
        # one statement for everybody the batch touched and every rule (not one per person or rule): the hot path
        couple_windows = {ps: self._window(at) for ps, at in partner_check.items()}
        retrieval_windows = {ps: self._window(at) for ps, at in retrieval_check.items()}
        found = repo.person_evidence(s, repo.PersonQuery(
            open_cycles=open_check, couples=partner_check, couples_window=_span(couple_windows),
            retrievals=retrieval_check, retrievals_window=_span(retrieval_windows)))
        for ps in sorted(found.open_cycles):
            self.open_cycles(ps, found.open_cycles[ps])
        for rows, windows, rule in ((found.couples, couple_windows, self.partners),
                                    (found.retrievals, retrieval_windows, self.retrievals)):
            for ps in sorted(rows):
                low, high = windows[ps]
                rule(ps, [r for r in rows[ps] if low <= r.at <= high])

    def _origin(self, clinic_id: str) -> str:
        if clinic_id not in self._origins:
            self._origins |= repo.origins(self.session, [clinic_id])
        return self._origins.get(clinic_id, "")

    def _entry(self, clinic_id: str, index: int, what: str) -> dict[str, Any]:
        return {"type": "entry", "clinic_id": clinic_id, "origin": self._origin(clinic_id), "index": index,
                "what": what}

    def open_cycles(self, pseudonym: str, rows: list[repo.EvidenceRow]) -> None:
        clinics = sorted({r.clinic_id for r in rows})
        if len(clinics) < 2:
            return
        alerts.raise_alert(
            self.session, "open_cycles_two_clinics",
            # keyed by the cycles, not the person: a couple treated at two clinics is one alert, not two
            key=",".join(sorted(f"{r.clinic_id[:8]}/{r.ref}" for r in rows)),
            clinic_id=self.clinic.id,
            summary={"person": person_ref(pseudonym), "clinics": clinics, "open_cycles": len(rows)},
            evidence=[self._entry(r.clinic_id, r.index, "cycle.opened") for r in rows],
        )

    @staticmethod
    def _window(at: datetime | None) -> tuple[datetime, datetime]:
        """The 12 months up to ``at`` (the entry that triggered the check), or up to now."""
        until = at or utcnow() + timedelta(days=1)
        return until - rules.YEAR, until

    def partners(self, pseudonym: str, rows: list[repo.EvidenceRow]) -> None:
        partners = rules.different_partners([r.other for r in rows], [f"{r.clinic_id}/{r.ref}" for r in rows])
        if partners < 2:
            return
        alerts.raise_alert(
            self.session, "female_partner_couples",
            key=f"{person_ref(pseudonym)}:" + ",".join(sorted(f"{r.clinic_id[:8]}/{r.ref[:8]}" for r in rows)),
            clinic_id=self.clinic.id,
            summary={"person": person_ref(pseudonym), "couples": len(rows), "different_partners": partners,
                     "clinics": sorted({r.clinic_id for r in rows}), "window_days": rules.YEAR.days},
            evidence=[self._entry(r.clinic_id, r.index, "couple.registered") for r in rows],
        )

    def retrievals(self, pseudonym: str, rows: list[repo.EvidenceRow]) -> None:
        limit = self.settings.egg_retrieval_limit
        if not rules.too_many_retrievals(len(rows), limit):
            return
        last = rows[-1]
        alerts.raise_alert(
            self.session, "egg_retrievals", key=f"{person_ref(pseudonym)}:{last.clinic_id[:8]}/{last.ref}",
            clinic_id=self.clinic.id,
            summary={"person": person_ref(pseudonym), "retrievals": len(rows), "limit": limit,
                     "clinics": sorted({r.clinic_id for r in rows}), "window_days": rules.YEAR.days},
            evidence=[self._entry(r.clinic_id, r.index, "egg_retrieval") for r in rows],
        )
