"""Consent records: the active one of a patient (not withdrawn, newest signature), and new ones."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idverify.store.models import ConsentRecord


def active(db: Session, patient_id: str) -> ConsentRecord | None:
    return db.scalar(select(ConsentRecord).where(ConsentRecord.patient_id == patient_id,
                                                 ConsentRecord.withdrawn_at.is_(None))
                     .order_by(ConsentRecord.signed_at.desc()))


def add(db: Session, record: ConsentRecord) -> ConsentRecord:
    db.add(record)
    return record
