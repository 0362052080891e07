"""Patients: register (by hand, from a card read, or from the HIS), look up by document, read, delete; consent.

Document lookups are POSTs so that ID numbers never appear in URLs or access logs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from idverify.api.deps import ContextDep, KeysDep, Nurse, NurseOrInspector, SessionDep, SettingsDep
from idverify.api.schemas.workflow import (
    ConsentIn,
    ConsentOut,
    DeletionRequest,
    DeletionResult,
    DocumentLookup,
    HisMessage,
    PatientIn,
    PatientOut,
    PatientRegistered,
)
from idverify.api.uploads import decode_base64
from idverify.auth.roles import Principal, Role
from idverify.errors import DeviceUnavailable, ErrorCode, IdverifyError, NotFoundError
from idverify.store.db import reclaim_deleted
from idverify.store.keys import Keys
from idverify.store.models import Patient
from idverify.workflow import consent, his, his_import, patients
from idverify.workflow.patients import PatientIdentity

router = APIRouter(prefix="/patients", tags=["patients"])
ERASED_TABLES = ("biometric_templates", "biometric_samples", "patients", "consent_records")


def _out(db: SessionDep, keys: Keys, patient: Patient, principal: Principal) -> PatientOut:
    enrolled = patients.enrolled_modalities(db, patient.id)
    identity = patients.identity_of(keys, patient) if principal.role is Role.NURSE else None
    return PatientOut(id=patient.id, sex=patient.sex, document_type=patient.document_type,
                      external_id=patient.external_id, source=patient.source, status=patient.status,
                      created_at=patient.created_at, identity=identity, enrolled=enrolled)


@router.post("", response_model=PatientRegistered, status_code=201,
             summary="Register a patient from an identity document (idempotent per document)")
def register_patient(body: PatientIn, db: SessionDep, keys: KeysDep, nurse: Nurse) -> PatientRegistered:
    identity = PatientIdentity(**body.model_dump())
    patient, created = patients.register(db, keys, identity, source="manual", actor=nurse)
    db.commit()
    return PatientRegistered(patient=_out(db, keys, patient, nurse), created=created)


@router.post("/from-card", response_model=PatientRegistered, status_code=201,
             summary="Register the holder of the card on this workstation's reader (refused if the card fails its "
                     "checksum or chip signature)")
def register_from_card(db: SessionDep, keys: KeysDep, nurse: Nurse, ctx: ContextDep) -> PatientRegistered:
    if ctx.devices is None:
        raise DeviceUnavailable("no devices are configured on this workstation")
    document = ctx.devices.read_document_sync(None)
    patient, created = patients.register_from_document(db, keys, document, actor=nurse)
    db.commit()
    return PatientRegistered(patient=_out(db, keys, patient, nurse), created=created)


@router.post("/lookup", response_model=PatientOut, summary="Find the patient holding a document")
def lookup_patient(body: DocumentLookup, db: SessionDep, keys: KeysDep, nurse: Nurse) -> PatientOut:
    patient = patients.find_by_document(db, keys, body.document_type, body.document_number)
    if patient is None:
        raise NotFoundError("no patient registered with this document")
    return _out(db, keys, patient, nurse)


ER7_MEDIA_TYPES = frozenset({"x-application/hl7-v2+er7", "text/plain"})
_ER7_SCHEMA = {"type": "string", "maxLength": 64_000, "description": "HL7 v2 ER7 text (ADT^A04/A08)"}


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/import/hl7v2", response_model=PatientRegistered, status_code=201,
    summary="Register or update a patient from an HL7 v2 ADT^A04/A08 message (JSON wrapper, or raw ER7 with an ACK)",
    description="Send `{\"message\": \"MSH|...\"}` as JSON (answer: the patient, errors as the error envelope), "
                "or the ER7 text itself with `Content-Type: x-application/hl7-v2+er7` (or `text/plain`; a "
                "`charset` parameter is honoured, UTF-8 by default). Raw ER7 is answered with an HL7 ACK, status "
                "200: `MSA|AA` accepted, `MSA|AE` refused for its content, `MSA|AR` rejected as a message, with the "
                "sender's MSH-10 control id and the reason in `ERR`.",
    responses={200: {"description": "The HL7 ACK (raw ER7 requests)",
                     "content": {"x-application/hl7-v2+er7": {"schema": {"type": "string"}}}}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": HisMessage.model_json_schema()},
        "x-application/hl7-v2+er7": {"schema": _ER7_SCHEMA}, "text/plain": {"schema": _ER7_SCHEMA}}}},
)
def import_hl7(request: Request, raw: Annotated[bytes, Depends(_raw_body)], db: SessionDep, keys: KeysDep,
               settings: SettingsDep, nurse: Nurse) -> PatientRegistered | Response:
    media, _, params = request.headers.get("content-type", "application/json").partition(";")
    media = media.strip().lower()
    if media in ER7_MEDIA_TYPES:
        ack = his_import.import_er7(db, keys, nurse, raw, _charset(params), sender=settings.workstation_id)
        return Response(ack, media_type="x-application/hl7-v2+er7", status_code=200)
    if media != "application/json" and not media.endswith("+json"):
        raise IdverifyError("send JSON, x-application/hl7-v2+er7 or text/plain", code=ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    try:
        body = HisMessage.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return _import(db, keys, nurse, his.from_hl7v2(body.message), "his_hl7v2")


def _charset(params: str) -> str | None:
    """The media type's ``charset`` parameter; None lets MSH-18 decide (UTF-8 when it names none)."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


@router.post("/import/fhir", response_model=PatientRegistered, status_code=201,
             summary="Register a patient from a FHIR R5 Patient resource")
def import_fhir(body: dict[str, object], db: SessionDep, keys: KeysDep, nurse: Nurse) -> PatientRegistered:
    parsed = his.from_fhir(body)
    return _import(db, keys, nurse, parsed, "his_fhir")


def _import(db: SessionDep, keys: Keys, actor: Principal, parsed: his.HisPatient, source: str) -> PatientRegistered:
    imported = his_import.import_patient(db, keys, actor, parsed, source)
    return PatientRegistered(patient=_out(db, keys, imported.patient, actor), created=imported.created)



@router.get("/{patient_id}", response_model=PatientOut, summary="A patient (identity for nurses only)")
def get_patient(patient_id: str, db: SessionDep, keys: KeysDep, principal: NurseOrInspector) -> PatientOut:
    return _out(db, keys, patients.get_patient(db, patient_id), principal)


@router.post("/{patient_id}/deletion", response_model=DeletionResult,
             summary="Deletion request: remove biometrics and identity for real")
def delete_patient(patient_id: str, body: DeletionRequest, db: SessionDep, keys: KeysDep, nurse: Nurse,
                   ctx: ContextDep) -> DeletionResult:
    removed = patients.delete_patient(db, keys, patient_id, reason=body.reason, actor=nurse)
    db.commit()
    reclaim_deleted(ctx.engine, ERASED_TABLES)
    return DeletionResult(patient_id=patient_id, biometric_records_removed=removed)


@router.post("/{patient_id}/consent", response_model=ConsentOut, status_code=201,
             summary="Record separate biometric consent (refusals allowed per modality)")
def record_consent(patient_id: str, body: ConsentIn, db: SessionDep, keys: KeysDep, nurse: Nurse) -> ConsentOut:
    signature = decode_base64(body.signature_png_base64, ("signature_png_base64",)) \
        if body.signature_png_base64 else None
    record = consent.record_consent(db, keys, patient_id=patient_id, accepted=list(body.accepted),
                                    refused=list(body.refused), retention_days=body.retention_days,
                                    signature_png=signature, actor=nurse)
    db.commit()
    return ConsentOut.model_validate(record)


@router.get("/{patient_id}/consent", response_model=ConsentOut, summary="The patient's active consent")
def get_consent(patient_id: str, db: SessionDep, _principal: NurseOrInspector) -> ConsentOut:
    patients.get_patient(db, patient_id)
    record = consent.active_consent(db, patient_id)
    if record is None:
        raise NotFoundError("no active consent for this patient")
    return ConsentOut.model_validate(record)


@router.post("/{patient_id}/consent/withdrawal", response_model=DeletionResult,
             summary="Withdraw biometric consent: deletes every template and raw sample")
def withdraw_consent(patient_id: str, db: SessionDep, nurse: Nurse, ctx: ContextDep) -> DeletionResult:
    removed = consent.withdraw_consent(db, patient_id, actor=nurse)
    db.commit()
    reclaim_deleted(ctx.engine, ERASED_TABLES)
    return DeletionResult(patient_id=patient_id, biometric_records_removed=removed)
