"""Raw biometric samples (``biometric_samples``): sealed images such as the enrolment photo, or raw captures kept
under the raw-image retention setting. Nothing here opens an envelope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idverify.store.models import BiometricSample


def add(db: Session, row: BiometricSample) -> BiometricSample:
    db.add(row)
    return row


def latest(db: Session, patient_id: str, kind: str) -> BiometricSample | None:
    return db.scalar(select(BiometricSample).where(BiometricSample.patient_id == patient_id,
                                                   BiometricSample.kind == kind)
                     .order_by(BiometricSample.created_at.desc()))


def exists(db: Session, patient_id: str, kind: str) -> bool:
    return db.scalar(select(BiometricSample.id).where(BiometricSample.patient_id == patient_id,
                                                      BiometricSample.kind == kind).limit(1)) is not None


def delete_of_patient(db: Session, patient_id: str, kind: str | None = None) -> int:
    """Delete the patient's samples (only those of ``kind`` when given); returns the rows removed."""
    stmt = delete(BiometricSample).where(BiometricSample.patient_id == patient_id)
    if kind is not None:
        stmt = stmt.where(BiometricSample.kind == kind)
    return int(db.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def delete_expired(db: Session, now: datetime) -> int:
    """Delete the samples whose ``delete_after`` has passed; returns the rows removed."""
    stmt = delete(BiometricSample).where(BiometricSample.delete_after.is_not(None),
                                         BiometricSample.delete_after <= now)
    return int(db.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
