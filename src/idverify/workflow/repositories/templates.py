"""Biometric template rows (``biometric_templates``): sealed envelopes with their plain columns (patient,
modality, finger position). Nothing here opens an envelope."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from idverify.store.models import BiometricTemplate

GALLERY_MODALITIES = ("face", "fingerprint")


def add(db: Session, row: BiometricTemplate) -> BiometricTemplate:
    db.add(row)
    return row


def of_patient(db: Session, patient_id: str, modality: str) -> list[BiometricTemplate]:
    return list(db.scalars(select(BiometricTemplate).where(BiometricTemplate.patient_id == patient_id,
                                                           BiometricTemplate.modality == modality)))


def modalities_of(db: Session, patient_id: str) -> list[str]:
    """The modalities the patient has a template of, sorted."""
    return sorted(set(db.scalars(select(BiometricTemplate.modality)
                                 .where(BiometricTemplate.patient_id == patient_id))))


def gallery_index(db: Session) -> dict[str, tuple[str, str]]:
    """Template id → (patient id, modality) of every face and fingerprint template: ids only, no envelope."""
    rows = db.execute(select(BiometricTemplate.id, BiometricTemplate.patient_id, BiometricTemplate.modality)
                      .where(BiometricTemplate.modality.in_(GALLERY_MODALITIES))).all()
    return {r.id: (r.patient_id, r.modality) for r in rows}


def by_ids(db: Session, template_ids: Collection[str]) -> Sequence[BiometricTemplate]:
    return db.scalars(select(BiometricTemplate).where(BiometricTemplate.id.in_(template_ids))).all()


def enrolled_patient_ids(db: Session) -> set[str]:
    return set(db.scalars(select(BiometricTemplate.patient_id).distinct()))


def newest_created_at(db: Session, patient_id: str) -> datetime | None:
    return db.scalar(select(func.max(BiometricTemplate.created_at)).where(BiometricTemplate.patient_id == patient_id))


def delete_of_patient(db: Session, patient_id: str, modalities: Collection[str] | None = None) -> int:
    """Delete the patient's templates (only ``modalities`` when given); returns the rows removed."""
    stmt = delete(BiometricTemplate).where(BiometricTemplate.patient_id == patient_id)
    if modalities is not None:
        stmt = stmt.where(BiometricTemplate.modality.in_(modalities))
    return int(db.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
