"""Patients, couples, cycles and consent at the HTTP edge. Identity is only ever in request/response bodies,
never in URLs or query strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from idverify.api.schemas import RequestModel, ResponseModel
from idverify.api.schemas.verifications import ReasonOut, reasons_out
from idverify.workflow.his_import import HIS_MESSAGE_MAX
from idverify.workflow.stages import CycleKind, Stage

FingerPosition = Literal["right_thumb", "right_index", "right_middle", "right_ring", "right_little", "left_thumb",
                         "left_index", "left_middle", "left_ring", "left_little", "unknown"]
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
    message: str = Field(min_length=10, max_length=HIS_MESSAGE_MAX, description="HL7 v2 ER7 text (ADT^A04/A08)")


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
    names: dict[str, str | None] | None = Field(
        default=None, description="The partners' names by partner (female/male), for nurses' screens only (None "
                                  "for other roles); from the sealed identities, never in a URL")


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


def _default_fingers() -> list[FingerPosition]:
    return ["right_index"]


class FingerprintUpload(RequestModel):
    position: FingerPosition = "unknown"
    image_base64: str = Field(min_length=16, max_length=2_000_000)


class DocumentUpload(RequestModel):
    """A document read elsewhere (e.g. by the HIS kiosk). The daemon computes what it can (the check character of
    an 18-character Chinese ID number); the other checks are recorded as *claimed* by the uploading integration,
    and passive authentication is never recorded as passed from an upload (only a claimed failure counts)."""

    document_type: DocumentType
    document_number: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9<]+$")
    checksum_ok: bool = Field(default=True, description="Claimed by the reader; recorded as a claim")
    expired: bool = Field(default=False, description="Claimed by the reader; recorded as a claim")
    passive_auth: Literal["passed", "failed", "not_verified", "not_applicable"] = Field(
        default="not_applicable", description="Claimed by the reader; recorded as a claim, never as passed")
    photo_base64: str | None = Field(default=None, max_length=500_000, description="JPEG or PNG; must decode")


class BacKeysIn(RequestModel):
    document_number: str = Field(min_length=1, max_length=20)
    birth_date: str = Field(pattern=r"^\d{6}$", description="YYMMDD")
    expiry_date: str = Field(pattern=r"^\d{6}$", description="YYMMDD")


class CaptureIn(RequestModel):
    """Either capture on this workstation's devices (``use_devices``), or upload captures."""

    use_devices: bool = False
    finger_positions: list[FingerPosition] = Field(default_factory=_default_fingers, max_length=10)
    mrz: BacKeysIn | None = Field(default=None, description="BAC keys when the document is an eMRTD passport")
    face_images_base64: list[str] = Field(default_factory=list, max_length=8)
    fingerprints: list[FingerprintUpload] = Field(default_factory=list, max_length=10)
    document: DocumentUpload | None = None


class CheckIn(CaptureIn):
    stage: Stage
    partner: Literal["female", "male"] | None = Field(default=None, description="Only for stages verifying both")
    challenge_id: str | None = Field(
        default=None, max_length=36,
        description="The active liveness challenge this check answers (POST .../checks/challenge first). With "
                    "use_devices the daemon films the patient for a few seconds at the start of the check while "
                    "the screen shows the prompt; otherwise upload the frames in challenge_frames_base64.")
    challenge_frames_base64: list[str] = Field(
        default_factory=list, max_length=60,
        description="Frames filmed while the patient performed the challenge, oldest first (JPEG/PNG, about "
                    "10–15 per second over 2–4 s; ~640×480 is plenty). The face is matched on the frontal ones "
                    "when face_images_base64 is empty.")


class ChallengeIn(RequestModel):
    stage: Stage
    partner: Literal["female", "male"] | None = Field(default=None, description="Only for stages verifying both")


class ChallengeOut(ResponseModel):
    challenge_id: str
    kind: Literal["head_turn", "blink"]
    direction: Literal["left", "right"] | None = Field(description="The patient's own left/right (head turn)")
    prompt_key: str = Field(description="Locale key of the prompt to show, e.g. challenge.turn_left")
    instruction: str = Field(description="The prompt in English, for integrations without the locale files")
    expires_at: datetime
    capture_seconds: float = Field(description="How long the daemon films when the check uses its camera")
    substituted_for: str | None = Field(default=None,
                                        description="'blink' when the policy asked for a blink that this daemon "
                                                    "cannot judge (no face-mesh runtime) and a head turn was issued")


class EnrolmentOut(ResponseModel):
    id: str
    patient_id: str
    status: Literal["complete", "retry", "rejected", "duplicate_suspected"]
    result: dict[str, Any] = Field(description="What each step found; ``reasons`` (why it was refused) and "
                                   "``prompts`` (what to capture again) are reason objects ``{code, params, "
                                   "message}`` — docs/reasons.md")
    created_at: datetime
    workstation_id: str

    @field_validator("result", mode="before")
    @classmethod
    def _reasons(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key in ("reasons", "prompts"):
            if key in out:
                out[key] = [r.model_dump() for r in reasons_out(out[key])]
        return out


class StagePersonOut(ResponseModel):
    partner: Literal["female", "male"]
    patient_id: str
    name: str | None = Field(description="From the sealed identity; shown on the nurse's screen, never in a URL")
    enrolled: bool
    films_face: bool = Field(description="The check uses the camera for this person (false when she refused face "
                                         "capture, or the stage matches no face): the screen shows no camera then")
    challenge: bool = Field(description="The stage's policy asks this person for an active liveness challenge: "
                                        "POST .../checks/challenge before the check (otherwise it answers 409)")
    fingers: list[str] = Field(
        default_factory=list, description="Enrolled finger positions (e.g. left_index), first enrolled first, for "
        "the prompt: a captured finger is compared with the enrolled finger of the same position. Positions only")


class StageSubjectOut(ResponseModel):
    stage: Stage
    subject: Literal["female", "male", "both"]
    people: list[StagePersonOut]


class CheckOut(ResponseModel):
    verification: dict[str, Any]
    alert: ReasonOut | None = Field(default=None, description="The repeated-rejects alert (code "
                                    "``repeated_rejects`` with ``params.rejects_24h``), when this reject raised one")
    timings_ms: dict[str, float] = Field(default_factory=dict)
    images: dict[str, str] = Field(
        default_factory=dict, description="URLs of the enrolment photo and the live frame (this workstation's "
        "nurses; the live frame for a few minutes only), when there are any")


class OverrideIn(RequestModel):
    reason_code: Literal["injury", "worn_fingerprints", "device_failure", "medical_condition",
                         "face_covering_required", "document_unavailable", "other"]
    note: str | None = Field(default=None, max_length=500)
    witness_username: str = Field(min_length=2, max_length=64)
    witness_password: str = Field(min_length=1, max_length=256)


class OverrideOut(ResponseModel):
    id: str
    verification_id: str
    reason_code: str
    requested_by: str
    witness_id: str
    created_at: datetime
