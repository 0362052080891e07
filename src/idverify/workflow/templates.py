"""Storing and reading a patient's templates (encrypted, one row per template, bound to its row id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from idverify.biometrics.face import FaceTemplate
from idverify.biometrics.fingerprint.template import FingerprintTemplate
from idverify.store.base import new_id
from idverify.store.keys import Keys
from idverify.store.models import BiometricTemplate
from idverify.workflow.galleries import template_aad
from idverify.workflow.repositories import templates as repo


def store(db: Session, keys: Keys, *, patient_id: str, modality: str, plaintext: bytes, algorithm_version: str,
          quality: float | None, position: str | None = None, expires_at: datetime | None = None
          ) -> BiometricTemplate:
    template_id = new_id()
    row = BiometricTemplate(id=template_id, patient_id=patient_id, modality=modality, position=position,
                            algorithm_version=algorithm_version, quality=quality,
                            envelope=keys.ring.encrypt(plaintext, template_aad(template_id)),
                            kek_id=keys.ring.active_id, expires_at=expires_at)
    return repo.add(db, row)


def face_template(db: Session, keys: Keys, patient_id: str) -> FaceTemplate | None:
    rows = repo.of_patient(db, patient_id, "face")
    if not rows:
        return None
    row = max(rows, key=lambda r: r.created_at)
    return FaceTemplate.from_bytes(keys.ring.decrypt(row.envelope, template_aad(row.id)))


def finger_templates(db: Session, keys: Keys, patient_id: str) -> list[tuple[str | None, FingerprintTemplate]]:
    return [(row.position, FingerprintTemplate.from_bytes(keys.ring.decrypt(row.envelope, template_aad(row.id))))
            for row in repo.of_patient(db, patient_id, "fingerprint")]
