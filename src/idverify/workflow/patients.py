"""Patients: registering an identity from a document or the HIS, reading it back, and deleting it for real.

Identity fields are sealed in one encrypted blob bound to the patient id; the clear row keeps sex, document type
and a keyed hash of the document number (see :mod:`idverify.store.models`). Registering the same document twice
returns the existing patient (HIS re-imports are idempotent) instead of creating a second identity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.documents.cn_id import id_number_problems
from idverify.documents.model import IdentityDocument
from idverify.errors import ConflictError, ErrorCode, NotFoundError, ValidationFailed
from idverify.store.base import new_id, utcnow
from idverify.store.keys import Keys
from idverify.store.models import Patient
from idverify.workflow.repositories import patients as repo
from idverify.workflow.repositories import samples, templates
from idverify.workflow.rules import Reason, RuleOutcome, Verdict, document_genuine_rule, document_rule

IDENTITY_FIELDS = ("name", "birth_date", "document_number", "nation", "nationality", "address", "issuer",
                   "valid_from", "valid_to", "phone")


@dataclass(frozen=True)
class PatientIdentity:
    document_type: str
    document_number: str
    name: str
    sex: str
    birth_date: date | None = None
    nation: str | None = None
    nationality: str | None = None
    address: str | None = None
    issuer: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    phone: str | None = None
    external_id: str | None = None

    def sealed_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in IDENTITY_FIELDS:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out


#: Document types whose number is an 18-character GB 11643 number carrying the birth date and sex.
GB11643_TYPES = {"cn_resident_id": False, "cn_hmt_residence_permit": True}  # value: HK/Macau/Taiwan permit


def check_document_number(identity: PatientIdentity) -> None:
    """Refuse a resident-ID number that is wrong (check character) or contradicts the birth date or sex given with
    it — typed by hand or sent by the HIS. Registering it would bind biometrics to a number no card carries, and
    the patient's own card would then be "someone else's" at every check; the person sending it can correct it.
    ``details.problems`` names the rules broken (never the values)."""
    if identity.document_type not in GB11643_TYPES:
        return
    problems = id_number_problems(identity.document_number, birth_date=identity.birth_date, sex=identity.sex,
                                  hmt=GB11643_TYPES[identity.document_type])
    if problems:
        raise ValidationFailed("the ID number is not valid or does not match the birth date and sex given with it "
                               "— check the number against the card", code=ErrorCode.ID_NUMBER_INVALID,
                               details={"problems": problems})


def _aad(patient_id: str) -> str:
    return f"patient:{patient_id}"


def find_by_document(db: Session, keys: Keys, document_type: str, document_number: str) -> Patient | None:
    return repo.active_by_document(db, document_type, keys.lookup.digest(document_number))


def document_verdict(db: Session, keys: Keys, patient: Patient, document: IdentityDocument | None, *,
                     required: bool) -> Verdict:
    """:func:`~idverify.workflow.rules.document_rule` for the card presented for ``patient`` (at enrolment or a
    check), the card's owner looked up only when it is not hers."""

    def owner_of(document_type: str, document_number: str) -> str | None:
        owner = find_by_document(db, keys, document_type, document_number)
        return owner.id if owner is not None else None

    return document_rule(document, patient, required=required, digest=keys.lookup.digest, owner_of=owner_of)


#: The document rule's refusals as the error codes enrolment's document step answers with.
_REFUSED = {Reason.DOCUMENT_CHECKSUM_FAILED: ErrorCode.DOCUMENT_CHECKSUM_FAILED,
            Reason.DOCUMENT_SIGNATURE_INVALID: ErrorCode.DOCUMENT_SIGNATURE_INVALID,
            Reason.DOCUMENT_NUMBER_UNREADABLE: ErrorCode.DOCUMENT_NUMBER_UNREADABLE}


def register_from_document(db: Session, keys: Keys, document: IdentityDocument, *, actor: Principal
                           ) -> tuple[Patient, bool]:
    """Enrolment's document step: the holder of the card just read becomes (or is found as) a patient — unless the
    card fails :func:`~idverify.workflow.rules.document_genuine_rule` (forged chip, wrong check digits, number
    unreadable), which refuses it here with the rule's reason code, before anyone is registered or consents."""
    verdict = document_genuine_rule(document)
    if verdict.outcome is not RuleOutcome.PASS or document.document_number is None:
        raise ValidationFailed(verdict.message or "the document was refused", code=_REFUSED[verdict.reason])
    if document.sex is None or document.name is None:
        raise ValidationFailed("the card gave no name or sex — enter the patient by hand",
                               code=ErrorCode.DOCUMENT_INCOMPLETE)
    identity = PatientIdentity(
        document_type=document.document_type, document_number=document.document_number, name=document.name,
        sex=document.sex, birth_date=document.birth_date, nation=document.nation, nationality=document.nationality,
        address=document.address, issuer=document.issuer, valid_from=document.valid_from,
        valid_to=document.valid_to)
    return register(db, keys, identity, source="card", actor=actor)


def get_patient(db: Session, patient_id: str) -> Patient:
    patient = repo.get(db, patient_id)
    if patient is None or patient.status != "active":
        raise NotFoundError("no such patient")
    return patient


def identity_of(keys: Keys, patient: Patient) -> dict[str, Any]:
    return dict(json.loads(keys.ring.decrypt(patient.identity, _aad(patient.id))))


def register(
    db: Session, keys: Keys, identity: PatientIdentity, *, source: str, actor: Principal,
) -> tuple[Patient, bool]:
    """The patient for this document, created if new. Returns (patient, created)."""
    if identity.sex not in ("F", "M", "X"):
        raise ValidationFailed("sex must be F, M or X")
    check_document_number(identity)
    existing = find_by_document(db, keys, identity.document_type, identity.document_number)
    if existing is not None:
        if existing.sex != identity.sex:
            raise ConflictError("a patient with this document is registered with a different sex",
                                code=ErrorCode.IDENTITY_CONFLICT)
        return existing, False
    patient_id = new_id()
    patient = Patient(
        id=patient_id, sex=identity.sex, document_type=identity.document_type,
        document_lookup=keys.lookup.digest(identity.document_number),
        identity=keys.ring.encrypt(json.dumps(identity.sealed_fields()).encode(), _aad(patient_id)),
        kek_id=keys.ring.active_id, external_id=identity.external_id, source=source,
    )
    data: dict[str, Any] = {"source": source, "document_type": identity.document_type}
    if keys.region is not None:  # the regional pseudonym travels in the event to the hub (store/region.py)
        patient.region_key_id = keys.region.key_id
        data |= {"region_pseudonym": keys.region.pseudonym(identity.document_type, identity.document_number),
                 "region_key_id": keys.region.key_id}
    repo.add(db, patient)
    db.flush()
    audit.record(db, actor, "patient.registered", subject={"patient_id": patient.id}, data=data)
    return patient, True


def update_identity(db: Session, keys: Keys, patient: Patient, identity: PatientIdentity, *, actor: Principal,
                    source: str) -> Patient:
    """Replace the sealed identity (e.g. an HIS A08 update); the document itself may not change here."""
    check_document_number(identity)
    if keys.lookup.digest(identity.document_number) != patient.document_lookup:
        raise ConflictError("the document number differs from the registered one; register a new patient",
                            code=ErrorCode.IDENTITY_CONFLICT)
    changed = sorted(k for k, v in identity.sealed_fields().items() if identity_of(keys, patient).get(k) != v)
    patient.identity = keys.ring.encrypt(json.dumps(identity.sealed_fields()).encode(), _aad(patient.id))
    patient.kek_id = keys.ring.active_id
    if identity.external_id:
        patient.external_id = identity.external_id
    db.flush()
    audit.record(db, actor, "patient.updated", subject={"patient_id": patient.id},
                 data={"source": source, "fields": changed})
    return patient


def enrolled_modalities(db: Session, patient_id: str) -> list[str]:
    """The modalities the patient has a template on file for (sorted; no template is opened)."""
    return templates.modalities_of(db, patient_id)


def erase_biometrics(db: Session, patient_id: str, modalities: list[str] | None = None) -> int:
    """Delete templates (optionally only some modalities) and every raw sample of a patient. Returns rows removed.
    Rows are deleted, not flagged; SQLite runs with ``secure_delete`` so the freed pages are zeroed."""
    return templates.delete_of_patient(db, patient_id, modalities) + samples.delete_of_patient(db, patient_id)


def delete_patient(db: Session, keys: Keys, patient_id: str, *, reason: str, actor: Principal) -> int:
    """A deletion request: biometrics and raw data removed, the identity blob emptied, the document lookup
    released. The row stays (ids only) because audit events and past verifications refer to it."""
    patient = get_patient(db, patient_id)
    removed = erase_biometrics(db, patient.id)
    patient.identity = keys.ring.encrypt(b"{}", _aad(patient.id))
    patient.document_lookup = f"deleted:{patient.id}"
    patient.external_id = None
    patient.status = "deleted"
    patient.deleted_at = utcnow()
    db.flush()
    audit.record(db, actor, "patient.deleted", subject={"patient_id": patient.id},
                 data={"reason": reason, "biometric_records_removed": removed})
    return removed
