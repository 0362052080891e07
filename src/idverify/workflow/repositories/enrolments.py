"""Enrolment attempts (``enrollments``): one row per attempt, whatever its outcome."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idverify.store.models import Enrollment


def has_completed(db: Session, patient_id: str) -> bool:
    return db.scalar(select(Enrollment.id).where(Enrollment.patient_id == patient_id,
                                                 Enrollment.status == "complete").limit(1)) is not None


def add(db: Session, enrollment: Enrollment) -> Enrollment:
    db.add(enrollment)
    return enrollment
