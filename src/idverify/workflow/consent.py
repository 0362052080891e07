"""Separate biometric consent (PIPL art. 28–29): recorded before any capture, refusable per modality, and
withdrawable — withdrawal deletes the templates of the withdrawn modalities at once.

A patient who refuses face capture is verified by document + fingerprint instead (the stage policy adapts, see
:mod:`idverify.workflow.policy`). The consent text version is recorded so an inspector can see what was shown.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.errors import NotFoundError, ValidationFailed
from idverify.store.base import utcnow
from idverify.store.keys import Keys
from idverify.store.models import ConsentRecord
from idverify.workflow.patients import erase_biometrics, get_patient
from idverify.workflow.repositories import consent as repo

MODALITIES = ("face", "fingerprint", "document_photo")
PURPOSES = ("identity_verification_at_procedure_stages", "duplicate_identity_check")
CONSENT_TEXT_VERSION = "2026-11-v1"


def record_consent(
    db: Session, keys: Keys, *, patient_id: str, accepted: list[str], refused: list[str], retention_days: int,
    signature_png: bytes | None, actor: Principal,
) -> ConsentRecord:
    get_patient(db, patient_id)
    unknown = sorted((set(accepted) | set(refused)) - set(MODALITIES))
    if unknown:
        raise ValidationFailed(f"unknown modalities: {', '.join(unknown)}; use {', '.join(MODALITIES)}")
    if set(accepted) & set(refused):
        raise ValidationFailed("a modality cannot be both accepted and refused")
    if "fingerprint" not in accepted and "face" not in accepted:
        raise ValidationFailed("at least one biometric (face or fingerprint) is needed for stage checks; "
                               "without it, every check needs an override")
    current = active_consent(db, patient_id)
    if current is not None:
        current.withdrawn_at = utcnow()  # superseded
    record = ConsentRecord(
        patient_id=patient_id, text_version=CONSENT_TEXT_VERSION, modalities=sorted(accepted),
        refused=sorted(refused), purposes=list(PURPOSES), retention_days=retention_days,
        recorded_by=actor.staff_id, workstation_id=actor.workstation_id,
    )
    repo.add(db, record)
    db.flush()
    if signature_png:
        record.signature = keys.ring.encrypt(signature_png, f"consent:{record.id}")
    removed = erase_biometrics(db, patient_id, modalities=[m for m in refused if m != "document_photo"]) \
        if refused else 0
    db.flush()
    audit.record(db, actor, "consent.recorded", subject={"patient_id": patient_id},
                 data={"consent_id": record.id, "accepted": sorted(accepted), "refused": sorted(refused),
                       "text_version": CONSENT_TEXT_VERSION, "retention_days": retention_days,
                       "signed": signature_png is not None, "templates_removed": removed})
    return record


def active_consent(db: Session, patient_id: str) -> ConsentRecord | None:
    return repo.active(db, patient_id)


def face_consented(db: Session, patient_id: str) -> bool:
    """The patient's active consent covers face capture: without it the camera is not used for her at all."""
    record = active_consent(db, patient_id)
    return record is not None and "face" in record.modalities


def withdraw_consent(db: Session, patient_id: str, *, actor: Principal) -> int:
    """Withdraw all biometric consent: every template and raw sample of the patient is deleted."""
    current = active_consent(db, patient_id)
    if current is None:
        raise NotFoundError("no active consent for this patient")
    current.withdrawn_at = utcnow()
    removed = erase_biometrics(db, patient_id)
    db.flush()
    audit.record(db, actor, "consent.withdrawn", subject={"patient_id": patient_id},
                 data={"consent_id": current.id, "templates_removed": removed})
    return removed
