"""SQL of the feed's projections: bulk inserts at ingest, and the per-person lookups the alert rules need.

Every lookup is driven by an index (``hub_patients(pseudonym)``, then the clinic-scoped ids), so it costs a few
index probes however many entries the region holds; the bench (``idverify bench hub``) measures them at 5 million.
A person is found only through the regional pseudonym; pseudonyms under different regional keys never collide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, any_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from idverify.hub import bulk
from idverify.hub.models import HubClinic, HubCouple, HubCycle, HubMonthly, HubPatient, HubRetrieval

MONTHLY_FIELDS = ("checks", "accepts", "rejects", "retries", "overrides", "enrolments", "registrations")


def add_monthly(session: Session, counts: dict[tuple[str, str, str], dict[str, int]]) -> None:
    """Add ``counts`` (by clinic, month, staff) to ``hub_monthly`` (upsert)."""
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        bulk.add_counts(session, "hub_monthly", (("clinic_id", "text"), ("month", "text"), ("staff_id", "text")),
                        MONTHLY_FIELDS, [(c, m, s, *(n.get(f, 0) for f in MONTHLY_FIELDS))
                                         for (c, m, s), n in counts.items()])
        return
    rows = [{"clinic_id": c, "month": m, "staff_id": s, **{f: n.get(f, 0) for f in MONTHLY_FIELDS}}
            for (c, m, s), n in counts.items()]
    table = HubMonthly.__table__
    ins = (postgresql.insert(table) if dialect == "postgresql"  # type: ignore[arg-type]
           else sqlite.insert(table))  # type: ignore[arg-type]
    stmt = ins.on_conflict_do_update(
        index_elements=["clinic_id", "month", "staff_id"],
        set_={f: getattr(table.c, f) + getattr(ins.excluded, f) for f in MONTHLY_FIELDS},
    )
    session.execute(stmt, rows)


def _among(session: Session, column: Any, values: list[str]) -> Any:
    """``column`` is one of ``values``: ``= ANY(array)`` on PostgreSQL — one parameter, so the statement is
    prepared once whatever the count — and an expanding ``IN`` on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(f"{column.key}_any", values, type_=postgresql.ARRAY(String)))
    return column.in_(values)


def pseudonyms_of(session: Session, clinic_id: str, patient_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = sorted(set(patient_ids))
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(HubPatient.patient_id, HubPatient.pseudonym).where(
            HubPatient.clinic_id == clinic_id, _among(session, HubPatient.patient_id, ids[start:start + 500]))).all()
        for pid, ps in rows:
            out.setdefault(str(pid), []).append(str(ps))
    return out


def couple_partners(session: Session, clinic_id: str, couple_ids: Iterable[str]) -> dict[str, list[str]]:
    """Patient ids of each couple (female first)."""
    ids = sorted(set(couple_ids))
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(HubCouple.couple_id, HubCouple.female_patient_id, HubCouple.male_patient_id)
                               .where(HubCouple.clinic_id == clinic_id,
                                      _among(session, HubCouple.couple_id, ids[start:start + 500]))).all()
        for cid, female, male in rows:
            out[str(cid)] = [p for p in (female, male) if p]
    return out


@dataclass(frozen=True)
class EvidenceRow:
    clinic_id: str
    ref: str  # the clinic's cycle or couple id
    index: int  # the ledger entry that shows it
    at: datetime
    other: str | None = None  # the male partner's pseudonym, for couples


_CHUNK = 400


def _chunks(pseudonyms: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(set(pseudonyms))
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _group(rows: Iterable[tuple[str, EvidenceRow]]) -> dict[str, list[EvidenceRow]]:
    out: dict[str, set[EvidenceRow]] = {}
    for ps, row in rows:
        out.setdefault(ps, set()).add(row)
    return {ps: sorted(found, key=_order) for ps, found in out.items()}


def open_cycles_of(session: Session, pseudonyms: Iterable[str]) -> dict[str, list[EvidenceRow]]:
    """Each person's open cycles at every clinic (as the female or the male partner), in one query per chunk."""
    p, k, c = aliased(HubPatient), aliased(HubCouple), aliased(HubCycle)
    found: list[tuple[str, EvidenceRow]] = []
    for chunk in _chunks(pseudonyms):
        for partner in (k.female_patient_id, k.male_patient_id):
            stmt = (select(p.pseudonym, c.clinic_id, c.cycle_id, c.opened_index, c.opened_at).select_from(p)
                    .join(k, and_(k.clinic_id == p.clinic_id, partner == p.patient_id))
                    .join(c, and_(c.clinic_id == k.clinic_id, c.couple_id == k.couple_id, c.closed_at.is_(None)))
                    .where(_among(session, p.pseudonym, chunk)))
            found += [(str(r[0]), EvidenceRow(str(r[1]), str(r[2]), int(r[3]), r[4]))
                      for r in session.execute(stmt).all()]
    return _group(found)


def retrievals_of(session: Session, pseudonyms: Iterable[str], since: datetime, until: datetime
                  ) -> dict[str, list[EvidenceRow]]:
    """Each person's egg retrievals between ``since`` and ``until``."""
    found: list[tuple[str, EvidenceRow]] = []
    for chunk in _chunks(pseudonyms):
        rows = session.execute(
            select(HubPatient.pseudonym, HubRetrieval.clinic_id, HubRetrieval.cycle_id, HubRetrieval.entry_index,
                   HubRetrieval.occurred_at)
            .select_from(HubRetrieval).join(HubPatient, and_(HubPatient.clinic_id == HubRetrieval.clinic_id,
                                                             HubPatient.patient_id == HubRetrieval.patient_id))
            .where(_among(session, HubPatient.pseudonym, chunk), HubRetrieval.occurred_at >= since,
                   HubRetrieval.occurred_at <= until)
        ).all()
        found += [(str(r[0]), EvidenceRow(str(r[1]), str(r[2]), int(r[3]), r[4])) for r in rows]
    return _group(found)


def couples_of_female(session: Session, pseudonyms: Iterable[str], since: datetime, until: datetime
                      ) -> dict[str, list[EvidenceRow]]:
    """Couples registered in the window with each person as the female partner, with the male's pseudonym."""
    p, m = aliased(HubPatient), aliased(HubPatient)
    found: list[tuple[str, EvidenceRow]] = []
    for chunk in _chunks(pseudonyms):
        rows = session.execute(
            select(p.pseudonym, HubCouple.clinic_id, HubCouple.couple_id, HubCouple.entry_index,
                   HubCouple.recorded_at, m.pseudonym)
            .select_from(HubCouple)
            .join(p, and_(p.clinic_id == HubCouple.clinic_id, p.patient_id == HubCouple.female_patient_id))
            .outerjoin(m, and_(m.clinic_id == HubCouple.clinic_id, m.patient_id == HubCouple.male_patient_id,
                               m.key_id == p.key_id))
            .where(_among(session, p.pseudonym, chunk), HubCouple.recorded_at >= since,
                   HubCouple.recorded_at <= until)
        ).all()
        found += [(str(r[0]), EvidenceRow(str(r[1]), str(r[2]), int(r[3]), r[4], r[5])) for r in rows]
    return _group(found)


def _order(row: EvidenceRow) -> tuple[datetime, str, int]:
    return (row.at, row.clinic_id, row.index)


def origins(session: Session, clinic_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(clinic_ids))
    return {str(i): str(o) for i, o in session.execute(
        select(HubClinic.id, HubClinic.origin).where(HubClinic.id.in_(ids))).all()} if ids else {}


def registration_entry(session: Session, clinic_id: str, pseudonym: str) -> int | None:
    return session.scalar(select(HubPatient.entry_index).where(
        and_(HubPatient.clinic_id == clinic_id, HubPatient.pseudonym == pseudonym)).limit(1))
