"""Core tables: staff and credentials, patients, couples, cycles, consent, enrolments, biometric data,
verification events, overrides and settings.

Privacy layout (PIPL): a patient row holds only what policy and lookups need in clear — sex (which partner a
stage verifies), the document type and a keyed hash of the document number (to find a returning patient without
storing the number in clear). Name, birth date, address and the number itself are an encrypted identity blob.
Biometric templates and raw samples live in their own tables, each value an encrypted envelope bound to its row
(see :mod:`idverify.store.crypto`), so a dump of the identity tables holds no biometrics and vice versa.

Ledger tables belong to :mod:`idverify.ledger`; they share :class:`~idverify.store.base.Base`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idverify.store.base import Base, new_id, utcnow
from idverify.store.types import UTCDateTime

ROLES = ("nurse", "it_admin", "inspector")


def _id() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


# --------------------------------------------------------------------------------------------- staff & auth
class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[str] = _id()
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """Bearer token for integrations. Only a SHA-256 of the secret is stored; ``prefix`` identifies the key in
    lists and logs without revealing it. A key is bound to one role and (optionally) one workstation."""

    __tablename__ = "api_keys"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    workstation_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A browser login. The cookie carries a random token; only its hash is stored, so a database dump cannot be
    replayed. ``csrf_token`` is echoed by the UI in a header on every state-changing request."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = _id()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), nullable=False)
    workstation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------------------------- patients
class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("document_type", "document_lookup"),)

    id: Mapped[str] = _id()
    sex: Mapped[str] = mapped_column(String(1), nullable=False)  # F / M / X
    document_type: Mapped[str] = mapped_column(String(40), nullable=False)
    document_lookup: Mapped[str] = mapped_column(String(64), nullable=False)  # HMAC-SHA256, hex
    identity: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # encrypted JSON envelope
    kek_id: Mapped[str] = mapped_column(String(16), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)  # HIS medical record number
    region_key_id: Mapped[str | None] = mapped_column(String(16))  # regional key its pseudonym was recorded under
    source: Mapped[str] = mapped_column(String(16), default="manual", nullable=False)  # manual/card/his
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)  # active/deleted
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Couple(Base):
    __tablename__ = "couples"

    id: Mapped[str] = _id()
    female_patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"))
    male_patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = _created()
    created_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))

    female: Mapped[Patient | None] = relationship(foreign_keys=[female_patient_id])
    male: Mapped[Patient | None] = relationship(foreign_keys=[male_patient_id])


class Cycle(Base):
    """One treatment with the stages it will pass (``stages``: ordered list of stage names)."""

    __tablename__ = "cycles"

    id: Mapped[str] = _id()
    couple_id: Mapped[str] = mapped_column(ForeignKey("couples.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    stages: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    opened_at: Mapped[datetime] = _created()
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))

    couple: Mapped[Couple] = relationship()


class ConsentRecord(Base):
    """Separate biometric consent (PIPL art. 29): what is collected, why, how long, who may see it."""

    __tablename__ = "consent_records"

    id: Mapped[str] = _id()
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    text_version: Mapped[str] = mapped_column(String(32), nullable=False)
    modalities: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # e.g. ["fingerprint", "document"]
    refused: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)  # e.g. ["face"]
    purposes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    retention_days: Mapped[int] = mapped_column(Integer, nullable=False)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted envelope of the signature image
    signed_at: Mapped[datetime] = _created()
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    workstation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Enrollment(Base):
    __tablename__ = "enrollments"

    id: Mapped[str] = _id()
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consent_records.id"))
    status: Mapped[str] = mapped_column(String(24), default="in_progress", nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)  # scores, checks, dup hits
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    workstation_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = _created()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------------------------- biometrics
class BiometricTemplate(Base):
    """A template (never an image), encrypted; ``envelope`` is bound to this row's id (AAD)."""

    __tablename__ = "biometric_templates"
    __table_args__ = (Index("ix_biometric_templates_patient_modality", "patient_id", "modality"),)

    id: Mapped[str] = _id()
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False)
    modality: Mapped[str] = mapped_column(String(24), nullable=False)  # face / fingerprint / document_face
    position: Mapped[str | None] = mapped_column(String(24))  # finger position (ISO 19794-2 code name)
    algorithm_version: Mapped[str] = mapped_column(String(255), nullable=False)
    quality: Mapped[float | None] = mapped_column(Float)
    envelope: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    kek_id: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BiometricSample(Base):
    """A raw capture kept only as long as the retention setting allows (default: not at all)."""

    __tablename__ = "biometric_samples"

    id: Mapped[str] = _id()
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)  # face_frame / finger_image / document_photo
    media_type: Mapped[str] = mapped_column(String(32), nullable=False)
    envelope: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    kek_id: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    created_at: Mapped[datetime] = _created()
    delete_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


# --------------------------------------------------------------------------------------------- verification
class Verification(Base):
    """One stage check and its decision, with everything an inspector needs to judge it (ids, not names)."""

    __tablename__ = "verifications"

    id: Mapped[str] = _id()
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), nullable=False, index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(32), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # accept / reject / retry
    # reason codes {"code", "params"} (biometrics/reasons.py); rows older than the codes hold English strings
    reasons: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    factors: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    devices: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    workstation_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    started_at: Mapped[datetime] = _created()
    decided_at: Mapped[datetime] = _created()
    overridden: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class Override(Base):
    __tablename__ = "overrides"

    id: Mapped[str] = _id()
    verification_id: Mapped[str] = mapped_column(ForeignKey("verifications.id"), nullable=False, index=True)
    reason_code: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(ForeignKey("staff.id"), nullable=False)
    witness_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), nullable=False)
    workstation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _created()


# --------------------------------------------------------------------------------------------- settings
class Setting(Base):
    """Clinic-wide configuration changed at run time (policies, thresholds overrides, webhooks …)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
