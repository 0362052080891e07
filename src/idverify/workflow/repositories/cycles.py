"""Couples and treatment cycles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from idverify.store.models import Couple, Cycle


def get_couple(db: Session, couple_id: str) -> Couple | None:
    return db.get(Couple, couple_id)


def couples_by_id(db: Session, couple_ids: Sequence[str]) -> dict[str, Couple]:
    """The couples with these ids, in one query."""
    if not couple_ids:
        return {}
    return {c.id: c for c in db.scalars(select(Couple).where(Couple.id.in_(set(couple_ids))))}


def add_couple(db: Session, couple: Couple) -> Couple:
    db.add(couple)
    return couple


def get_cycle(db: Session, cycle_id: str) -> Cycle | None:
    return db.get(Cycle, cycle_id)


def add_cycle(db: Session, cycle: Cycle) -> Cycle:
    db.add(cycle)
    return cycle


def count_open(db: Session, couple_id: str) -> int:
    return db.scalar(select(func.count()).select_from(Cycle).where(Cycle.couple_id == couple_id,
                                                                    Cycle.status == "open")) or 0


def page(db: Session, *, status: str | None, patient_id: str | None, offset: int, limit: int
         ) -> tuple[Sequence[Cycle], int]:
    """Newest first; ``patient_id``: the cycles of either partner's couples."""
    stmt = select(Cycle)
    if status:
        stmt = stmt.where(Cycle.status == status)
    if patient_id:
        stmt = stmt.join(Couple, Couple.id == Cycle.couple_id).where(
            (Couple.female_patient_id == patient_id) | (Couple.male_patient_id == patient_id))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Cycle.opened_at.desc(), Cycle.id).offset(offset).limit(limit)).all()
    return rows, total


def states_of_patient(db: Session, patient_id: str) -> list[tuple[str, datetime | None]]:
    """(status, closed_at) of every cycle of the patient's couples, as either partner."""
    rows = db.execute(
        select(Cycle.status, Cycle.closed_at).join(Couple, Couple.id == Cycle.couple_id).where(
            or_(Couple.female_patient_id == patient_id, Couple.male_patient_id == patient_id))).all()
    return [(r.status, r.closed_at) for r in rows]
