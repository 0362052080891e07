"""SQL of the feed's projections: bulk inserts at ingest, and the per-person lookups the alert rules need.

Every lookup is driven by an index (``hub_patients(pseudonym)``, then the clinic-scoped ids), so it costs a few
index probes however many entries the region holds; the bench (``idverify bench hub``) measures them at 5 million.
A person is found only through the regional pseudonym; pseudonyms under different regional keys never collide.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, any_, bindparam, cast, literal_column, null, select, union_all
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


@dataclass(frozen=True)
class PersonQuery:
    """Whom to look up for which rule: open cycles (anywhere, any time), couples as the female partner and egg
    retrievals, each within a window ``(since, until)``."""

    open_cycles: Collection[str] = ()
    couples: Collection[str] = ()
    couples_window: tuple[datetime, datetime] | None = None
    retrievals: Collection[str] = ()
    retrievals_window: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class PersonEvidence:
    open_cycles: dict[str, list[EvidenceRow]]
    couples: dict[str, list[EvidenceRow]]  # ``other``: the male partner's pseudonym
    retrievals: dict[str, list[EvidenceRow]]


_OPEN, _COUPLE, _RETRIEVAL = 0, 1, 2


def person_evidence(session: Session, query: PersonQuery) -> PersonEvidence:
    """Everything the per-person rules read, for everybody a feed batch touched, in one statement per chunk: the
    people's patient rows at every clinic are found once through the pseudonym index (the ``people`` CTE, which
    PostgreSQL materialises since every branch reads it), and each rule's branch joins its projection to them.
    A branch reads everybody of the chunk and the rows of people its rule did not ask about are dropped here: a
    few rows more (most people a batch touches are asked about by every rule) instead of a filter by an array
    parameter in each branch, which a prepared (generic) plan compares with every element of the array."""
    found: dict[int, list[tuple[str, EvidenceRow]]] = {_OPEN: [], _COUPLE: [], _RETRIEVAL: []}
    wanted = {_OPEN: set(query.open_cycles), _COUPLE: set(query.couples) if query.couples_window else set(),
              _RETRIEVAL: set(query.retrievals) if query.retrievals_window else set()}
    for chunk in _chunks(set().union(*wanted.values())):
        people = (select(HubPatient.pseudonym, HubPatient.clinic_id, HubPatient.patient_id, HubPatient.key_id)
                  .where(_among(session, HubPatient.pseudonym, chunk)).cte("people"))
        p, k, c, m = people.c, aliased(HubCouple), aliased(HubCycle), aliased(HubPatient)
        branches: list[Any] = []
        if not wanted[_OPEN].isdisjoint(chunk):
            branches += [
                select(literal_column(str(_OPEN)), p.pseudonym, c.clinic_id, c.cycle_id, c.opened_index, c.opened_at,
                       _null_text()).select_from(people)
                .join(k, and_(k.clinic_id == p.clinic_id, partner == p.patient_id))
                .join(c, and_(c.clinic_id == k.clinic_id, c.couple_id == k.couple_id, c.closed_at.is_(None)))
                for partner in (k.female_patient_id, k.male_patient_id)]
        if query.couples_window and not wanted[_COUPLE].isdisjoint(chunk):
            since, until = query.couples_window
            branches.append(
                select(literal_column(str(_COUPLE)), p.pseudonym, HubCouple.clinic_id, HubCouple.couple_id,
                       HubCouple.entry_index, HubCouple.recorded_at, m.pseudonym).select_from(people)
                .join(HubCouple, and_(HubCouple.clinic_id == p.clinic_id, HubCouple.female_patient_id == p.patient_id))
                .outerjoin(m, and_(m.clinic_id == HubCouple.clinic_id, m.patient_id == HubCouple.male_patient_id,
                                   m.key_id == p.key_id))
                .where(HubCouple.recorded_at >= since, HubCouple.recorded_at <= until))
        if query.retrievals_window and not wanted[_RETRIEVAL].isdisjoint(chunk):
            since, until = query.retrievals_window
            branches.append(
                select(literal_column(str(_RETRIEVAL)), p.pseudonym, HubRetrieval.clinic_id, HubRetrieval.cycle_id,
                       HubRetrieval.entry_index, HubRetrieval.occurred_at, _null_text()).select_from(people)
                .join(HubRetrieval, and_(HubRetrieval.clinic_id == p.clinic_id,
                                         HubRetrieval.patient_id == p.patient_id))
                .where(HubRetrieval.occurred_at >= since, HubRetrieval.occurred_at <= until))
        for r in session.execute(union_all(*branches)).all():
            kind, ps = int(r[0]), str(r[1])
            if ps in wanted[kind]:
                found[kind].append((ps, EvidenceRow(str(r[2]), str(r[3]), int(r[4]), r[5], r[6])))
    return PersonEvidence(_group(found[_OPEN]), _group(found[_COUPLE]), _group(found[_RETRIEVAL]))


def _null_text() -> Any:
    """A NULL text column (the branches without a partner), typed so the UNION's columns agree."""
    return cast(null(), String)


def _order(row: EvidenceRow) -> tuple[datetime, str, int]:
    return (row.at, row.clinic_id, row.index)


def origins(session: Session, clinic_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(clinic_ids))
    return {str(i): str(o) for i, o in session.execute(
        select(HubClinic.id, HubClinic.origin).where(HubClinic.id.in_(ids))).all()} if ids else {}


def registration_entry(session: Session, clinic_id: str, pseudonym: str) -> int | None:
    return session.scalar(select(HubPatient.entry_index).where(
        and_(HubPatient.clinic_id == clinic_id, HubPatient.pseudonym == pseudonym)).limit(1))
