"""Every SQL statement the inspector reports run. Selects only, ids only.

Reads the core tables (verifications, overrides, enrolments) and the ledger's entry index columns for a time
window ``[start, end)``. It never reads identities (names, document numbers) or biometric tables: a report holds
counts and ids, nothing a person could be recognised from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idverify.ledger.models import LedgerCheckpoint, LedgerEntry
from idverify.store.models import Enrollment, Override, Verification


@dataclass(frozen=True)
class CheckRow:
    """What the statistics need of one stage check (no scores beyond the factor records, no identity)."""

    id: str
    stage: str
    decision: str
    reasons: list[Any]  # {"code", "params"} objects (free text on rows older than reason codes)
    factors: dict[str, Any]
    devices: dict[str, Any]
    staff_id: str | None
    workstation_id: str
    overridden: bool


@dataclass(frozen=True)
class OverrideRow:
    id: str
    verification_id: str
    reason_code: str
    requested_by: str
    witness_id: str
    stage: str
    original_decision: str


@dataclass(frozen=True)
class EnrolmentRow:
    id: str
    patient_id: str
    status: str
    staff_id: str | None


def checks_between(db: Session, start: datetime, end: datetime) -> list[CheckRow]:
    """Stage checks decided in ``[start, end)``."""
    rows = db.execute(
        select(Verification.id, Verification.stage, Verification.decision, Verification.reasons,
               Verification.factors, Verification.devices, Verification.staff_id, Verification.workstation_id,
               Verification.overridden)
        .where(Verification.decided_at >= start, Verification.decided_at < end)
        .order_by(Verification.decided_at, Verification.id)
    ).all()
    return [CheckRow(r[0], r[1], r[2], list(r[3] or []), dict(r[4] or {}), dict(r[5] or {}), r[6], r[7], bool(r[8]))
            for r in rows]


def overrides_between(db: Session, start: datetime, end: datetime) -> list[OverrideRow]:
    """Overrides recorded in ``[start, end)``, with the stage and decision of the check they overrode."""
    rows = db.execute(
        select(Override.id, Override.verification_id, Override.reason_code, Override.requested_by,
               Override.witness_id, Verification.stage, Verification.decision)
        .join(Verification, Verification.id == Override.verification_id)
        .where(Override.created_at >= start, Override.created_at < end)
        .order_by(Override.created_at, Override.id)
    ).all()
    return [OverrideRow(*r) for r in rows]


def enrolments_between(db: Session, start: datetime, end: datetime) -> list[EnrolmentRow]:
    rows = db.execute(
        select(Enrollment.id, Enrollment.patient_id, Enrollment.status, Enrollment.staff_id)
        .where(Enrollment.created_at >= start, Enrollment.created_at < end)
        .order_by(Enrollment.created_at, Enrollment.id)
    ).all()
    return [EnrolmentRow(*r) for r in rows]


def event_counts_between(db: Session, start: datetime, end: datetime, types: Sequence[str]) -> dict[str, int]:
    """Ledger events of the given types recorded in ``[start, end)``, counted per type."""
    rows = db.execute(
        select(LedgerEntry.event_type, func.count())
        .where(LedgerEntry.recorded_at >= start, LedgerEntry.recorded_at < end, LedgerEntry.event_type.in_(types))
        .group_by(LedgerEntry.event_type)
    ).all()
    found = {str(t): int(n) for t, n in rows}
    return {t: found.get(t, 0) for t in types}


def checkpoint_page(db: Session, *, offset: int, limit: int) -> tuple[list[LedgerCheckpoint], int]:
    """Signed checkpoints, newest first, with the total count."""
    total = db.scalar(select(func.count()).select_from(LedgerCheckpoint)) or 0
    rows = db.scalars(select(LedgerCheckpoint)
                      .order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc())
                      .offset(offset).limit(limit))
    return list(rows), int(total)


def checkpoint_of_size(db: Session, tree_size: int) -> LedgerCheckpoint | None:
    """The newest signed checkpoint of exactly ``tree_size`` entries, if any."""
    return db.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size == tree_size)
                     .order_by(LedgerCheckpoint.id.desc()).limit(1))


def verification_cycle(db: Session, verification_id: str) -> str | None:
    """The cycle of a stage check (where its ledger entry is indexed), or None when there is no such check."""
    return db.scalar(select(Verification.cycle_id).where(Verification.id == verification_id))


def verification_entries(db: Session, cycle_id: str) -> list[LedgerEntry]:
    """The ``verification.completed`` entries of one cycle, oldest first (a handful: one per stage check)."""
    return list(db.scalars(select(LedgerEntry).where(LedgerEntry.event_type == "verification.completed",
                                                     LedgerEntry.cycle_id == cycle_id)
                           .order_by(LedgerEntry.index)))
