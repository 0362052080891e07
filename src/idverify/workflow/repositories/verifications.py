"""Stage-check results (``verifications``). Workstation scoping is applied here, in one place, so no route can
forget it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from idverify.store.models import Verification


def _scoped(stmt: Select[Verification], workstation_id: str | None) -> Select[Verification]:
    return stmt if workstation_id is None else stmt.where(Verification.workstation_id == workstation_id)


def get_verification(db: Session, verification_id: str, *, workstation_id: str | None) -> Verification | None:
    """``workstation_id=None`` means clinic-wide (inspectors); otherwise only that workstation's record."""
    stmt = _scoped(select(Verification).where(Verification.id == verification_id), workstation_id)
    return db.scalar(stmt)


def list_verifications(
    db: Session, *, workstation_id: str | None, stage: str | None = None, decision: str | None = None,
    since: datetime | None = None, until: datetime | None = None, offset: int = 0, limit: int = 50,
) -> tuple[Sequence[Verification], int]:
    stmt = _scoped(select(Verification), workstation_id)
    if stage:
        stmt = stmt.where(Verification.stage == stage)
    if decision:
        stmt = stmt.where(Verification.decision == decision)
    if since:
        stmt = stmt.where(Verification.decided_at >= since)
    if until:
        stmt = stmt.where(Verification.decided_at < until)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Verification.decided_at.desc(), Verification.id).offset(offset).limit(limit))
    return rows.all(), total


def add(db: Session, verification: Verification) -> Verification:
    db.add(verification)
    return verification


def count_rejects(db: Session, patient_id: str, *, since: datetime) -> int:
    """The patient's rejected checks decided at or after ``since`` (every workstation)."""
    return db.scalar(select(func.count()).select_from(Verification).where(
        Verification.patient_id == patient_id, Verification.decision == "reject",
        Verification.decided_at >= since)) or 0
