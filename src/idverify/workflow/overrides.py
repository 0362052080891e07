"""Overrides: when a factor cannot be captured (injury, worn fingerprints, device failure) a nurse may let the
procedure go ahead, but only with a reason code and a second staff member who confirms with their own
credentials. The verification is flagged ``overridden`` and every report counts it.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal, Role
from idverify.auth.service import check_credentials
from idverify.errors import ConflictError, ErrorCode, NotFoundError, PermissionDenied
from idverify.store.models import Override, Verification
from idverify.workflow.repositories import overrides as repo
from idverify.workflow.repositories.verifications import get_verification


class OverrideReason(StrEnum):
    INJURY = "injury"
    WORN_FINGERPRINTS = "worn_fingerprints"
    DEVICE_FAILURE = "device_failure"
    MEDICAL_CONDITION = "medical_condition"
    FACE_COVERING = "face_covering_required"
    DOCUMENT_UNAVAILABLE = "document_unavailable"
    OTHER = "other"


def record_override(db: Session, *, verification_id: str, reason: OverrideReason, note: str | None,
                    witness_username: str, witness_password: str, actor: Principal) -> Override:
    verification = get_verification(db, verification_id, workstation_id=actor.workstation_id)
    if verification is None:
        raise NotFoundError("no such verification at this workstation")
    if verification.decision == "accept":
        raise ConflictError("an accepted check needs no override", code=ErrorCode.OVERRIDE_NOT_NEEDED)
    if verification.overridden:
        raise ConflictError("this check was already overridden", code=ErrorCode.ALREADY_OVERRIDDEN)
    if reason is OverrideReason.OTHER and not (note and note.strip()):
        raise ConflictError("reason 'other' needs a note", code=ErrorCode.NOTE_REQUIRED, status_code=409)
    if actor.method != "session" or actor.staff_id is None:
        raise PermissionDenied("an override must be made by a logged-in nurse, not an API key",
                               code=ErrorCode.OVERRIDE_NEEDS_PERSON)
    witness = check_credentials(db, witness_username, witness_password)
    if witness.id == actor.staff_id:
        raise PermissionDenied("the witness must be a second staff member", code=ErrorCode.WITNESS_SAME_PERSON)
    if witness.role != Role.NURSE.value:
        raise PermissionDenied("the witness must be clinical staff (nurse role)", code=ErrorCode.WITNESS_NOT_CLINICAL)
    override = Override(verification_id=verification.id, reason_code=reason.value, note=note,
                        requested_by=actor.staff_id or "", witness_id=witness.id,
                        workstation_id=actor.workstation_id)
    repo.add(db, override)
    verification.overridden = True
    db.flush()
    audit.record(db, actor, "override.recorded",
                 subject={"patient_id": verification.patient_id, "cycle_id": verification.cycle_id},
                 data={"override_id": override.id, "verification_id": verification.id, "stage": verification.stage,
                       "original_decision": verification.decision, "reason_code": reason.value,
                       "witness_staff_id": witness.id, "has_note": bool(note)})
    return override


def overrides_for(db: Session, verification: Verification) -> list[Override]:
    return repo.for_verification(db, verification.id)
