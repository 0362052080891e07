"""Patients, couples, cycles and consent at the HTTP edge. Identity is only ever in request/response bodies,
never in URLs or query strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from idverify.api.schemas import RequestModel, ResponseModel
from idverify.workflow.stages import CycleKind, Stage

DocumentType = Literal["cn_resident_id", "cn_foreigner_permanent_residence", "cn_hmt_residence_permit", "passport",
                       "travel_permit", "other"]


class PatientIn(RequestModel):
    document_type: DocumentType
    document_number: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9<]+$")
    name: str = Field(min_length=1, max_length=128)
    sex: Literal["F", "M", "X"]
    birth_date: date | None = None
    nation: str | None = Field(default=None, max_length=32)
    nationality: str | None = Field(default=None, min_length=3, max_length=3)
    address: str | None = Field(default=None, max_length=256)
    issuer: str | None = Field(default=None, max_length=128)
    valid_from: date | None = None
    valid_to: date | None = None
    phone: str | None = Field(default=None, max_length=32)
    external_id: str | None = Field(default=None, max_length=64, description="HIS medical record number")


class DocumentLookup(RequestModel):
    document_type: DocumentType
    document_number: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9<]+$")


class PatientOut(ResponseModel):
    id: str
    sex: str
    document_type: str
    external_id: str | None
    source: str
    status: str
    created_at: datetime
    identity: dict[str, Any] | None = Field(default=None, description="Decrypted identity (nurses only).")
    enrolled: list[str] = Field(default_factory=list, description="Modalities with a template on file.")


class PatientRegistered(ResponseModel):
    patient: PatientOut
    created: bool


class HisMessage(RequestModel):
    message: str = Field(min_length=10, max_length=64_000, description="HL7 v2 ER7 text (ADT^A04/A08)")


class DeletionRequest(RequestModel):
    reason: str = Field(min_length=3, max_length=256)


class DeletionResult(ResponseModel):
    patient_id: str
    biometric_records_removed: int


class CoupleIn(RequestModel):
    female_patient_id: str | None = Field(default=None, max_length=36)
    male_patient_id: str | None = Field(default=None, max_length=36)


class CoupleOut(ResponseModel):
    id: str
    female_patient_id: str | None
    male_patient_id: str | None
    created_at: datetime


class CycleIn(RequestModel):
    couple_id: str = Field(max_length=36)
    kind: CycleKind
    extra_stages: list[Stage] = Field(default_factory=list, max_length=2)


class CycleOut(ResponseModel):
    id: str
    couple_id: str
    kind: str
    stages: list[str]
    status: str
    opened_at: datetime
    closed_at: datetime | None


class ConsentIn(RequestModel):
    accepted: list[Literal["face", "fingerprint", "document_photo"]] = Field(min_length=1, max_length=3)
    refused: list[Literal["face", "fingerprint", "document_photo"]] = Field(default_factory=list, max_length=3)
    retention_days: int = Field(default=365, ge=1, le=3650)
    signature_png_base64: str | None = Field(default=None, max_length=2_000_000)


class ConsentOut(ResponseModel):
    id: str
    patient_id: str
    text_version: str
    modalities: list[str]
    refused: list[str]
    purposes: list[str]
    retention_days: int
    signed_at: datetime
    withdrawn_at: datetime | None
    workstation_id: str
