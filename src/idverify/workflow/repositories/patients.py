"""Patient rows: by id, by the keyed hash of their document number, and new ones."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idverify.store.models import Patient


def get(db: Session, patient_id: str) -> Patient | None:
    """The row whatever its status (a deleted patient's row stays, ids only)."""
    return db.get(Patient, patient_id)


def by_ids(db: Session, patient_ids: Collection[str]) -> dict[str, Patient]:
    """The rows with these ids, in one query."""
    if not patient_ids:
        return {}
    return {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(set(patient_ids))))}


def active_by_document(db: Session, document_type: str, document_lookup: str) -> Patient | None:
    return db.scalar(select(Patient).where(Patient.document_type == document_type,
                                           Patient.document_lookup == document_lookup, Patient.status == "active"))


def add(db: Session, patient: Patient) -> Patient:
    db.add(patient)
    return patient


def without_region_pseudonym(db: Session, key_id: str, *, limit: int) -> list[Patient]:
    """Active patients with no pseudonym recorded under the regional key ``key_id`` yet (oldest first)."""
    return list(db.scalars(
        select(Patient).where(Patient.status == "active",
                              or_(Patient.region_key_id.is_(None), Patient.region_key_id != key_id))
        .order_by(Patient.created_at, Patient.id).limit(limit)
    ))
