"""The hub's tables. They live in the hub's own database, under their own metadata and migration history
(``hub/migrations``, version table ``hub_alembic_version``), never in a clinic's database.

* ``hub_clinics`` — one row per registered clinic log: its origin and Ed25519 key, the witness state (the latest
  cosigned size and root, which the witness compares-and-swaps atomically) and the feed state (how many entries
  of the log the hub holds, and the left frontier of that prefix).
* ``hub_cosignatures`` — every checkpoint the witness cosigned (append-only history: evidence and the roots that
  feed batches are checked against).
* ``hub_refusals`` — every refused submission that carried a valid clinic signature (evidence of a rewritten or
  forked history), with the request body as received.
* ``hub_alerts`` — alerts with status (open, acknowledged, closed + note) and links to the evidence.
* ``hub_actions`` — the outbox of hub actions, written in the same transaction as the action and appended to
  the hub's own ledger (the ``ledger_*`` tables of :mod:`idverify.ledger`) by :mod:`idverify.hub.audit`.

Ids are opaque; nothing here holds a name, a document number or an image.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from idverify.ledger.merkle import EMPTY_ROOT
from idverify.store.base import NAMING_CONVENTION, new_id, utcnow
from idverify.store.types import UTCDateTime


class HubBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class HubClinic(HubBase):
    __tablename__ = "hub_clinics"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    origin: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    verifier_key: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)  # active / suspended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # witness state: the latest cosigned checkpoint (compare-and-swap on size and root)
    witness_size: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    witness_root: Mapped[bytes] = mapped_column(LargeBinary(32), default=EMPTY_ROOT, nullable=False)
    witness_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # feed state: entries [0, feed_size) are held and proven; feed_frontier = their compact range (32 B per node)
    feed_size: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    feed_frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"", nullable=False)
    feed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HubCosignature(HubBase):
    __tablename__ = "hub_cosignatures"
    __table_args__ = (Index("ix_hub_cosignatures_clinic_size", "clinic_id", "tree_size"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    clinic_id: Mapped[str] = mapped_column(String(36), nullable=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    old_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)  # the checkpoint as submitted (clinic-signed)
    cosignature: Mapped[str] = mapped_column(Text, nullable=False)  # our signature line
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class HubRefusal(HubBase):
    __tablename__ = "hub_refusals"
    __table_args__ = (Index("ix_hub_refusals_clinic", "clinic_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    clinic_id: Mapped[str] = mapped_column(String(36), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    old_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    witness_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    witness_root: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # the request as received: the evidence


class HubAlert(HubBase):
    __tablename__ = "hub_alerts"
    __table_args__ = (Index("ix_hub_alerts_status", "status", "id"), Index("ix_hub_alerts_clinic", "clinic_id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    clinic_id: Mapped[str | None] = mapped_column(String(36))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class HubEntry(HubBase):
    """A clinic's ledger entry as the feed delivered it — exactly the leaf bytes its tree commits to — after the
    hub verified it against a checkpoint its witness cosigned."""

    __tablename__ = "hub_entries"

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    canonical: Mapped[str] = mapped_column(Text, nullable=False)


class HubNonce(HubBase):
    """Nonces of signed clinic requests seen within the clock-skew window (replay protection)."""

    __tablename__ = "hub_nonces"

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


# ------------------------------------------------------------------------ projections of the fed entries
# What the alert rules and the monthly statistics query, derived from accepted feed entries in index order.
# Ids are the clinic's own opaque ids; a person is known across clinics only by the regional pseudonym.


class HubPatient(HubBase):
    """A clinic patient's regional pseudonym under one regional key (from ``patient.registered`` or
    ``patient.pseudonym_assigned``)."""

    __tablename__ = "hub_patients"
    __table_args__ = (Index("ix_hub_patients_pseudonym", "pseudonym", "clinic_id"),
                      Index("ix_hub_patients_recorded", "recorded_at",
                            postgresql_include=["clinic_id", "key_id", "pseudonym"]))

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    entry_index: Mapped[int] = mapped_column(BigInteger, nullable=False)


class HubPerson(HubBase):
    """A regional pseudonym, a clinic that registered it (the first), and whether another clinic did too (the
    pseudonym sweep's matches). Kept by the feed with an upsert on the pseudonym, so two clinics registering one
    person in concurrent transactions still meet here: the second insert waits for the first and marks it shared."""

    __tablename__ = "hub_people"
    __table_args__ = (Index("ix_hub_people_shared", "pseudonym", postgresql_where=text("shared"),
                            sqlite_where=text("shared")),)

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    clinic_id: Mapped[str] = mapped_column(String(36), nullable=False)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class HubCouple(HubBase):
    __tablename__ = "hub_couples"
    __table_args__ = (
        Index("ix_hub_couples_female", "clinic_id", "female_patient_id"),
        Index("ix_hub_couples_male", "clinic_id", "male_patient_id"),
    )

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    couple_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    female_patient_id: Mapped[str | None] = mapped_column(String(64))
    male_patient_id: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    entry_index: Mapped[int] = mapped_column(BigInteger, nullable=False)


class HubCycle(HubBase):
    __tablename__ = "hub_cycles"
    __table_args__ = (Index("ix_hub_cycles_couple", "clinic_id", "couple_id", "closed_at"),)

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    couple_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    opened_index: Mapped[int] = mapped_column(BigInteger, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HubRetrieval(HubBase):
    """An egg retrieval that happened: an accepted (or overridden) egg-retrieval check, one per cycle."""

    __tablename__ = "hub_retrievals"
    __table_args__ = (Index("ix_hub_retrievals_patient", "clinic_id", "patient_id", "occurred_at"),)

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    entry_index: Mapped[int] = mapped_column(BigInteger, nullable=False)


class HubMonthly(HubBase):
    """Stage-check counts per clinic, month (Asia/Shanghai) and staff member (``""`` = the whole clinic)."""

    __tablename__ = "hub_monthly"

    clinic_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    checks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    accepts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rejects: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    retries: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    overrides: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    enrolments: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    registrations: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


# ------------------------------------------------------------------------ the hub's own users
class HubUser(HubBase):
    """A commission user: ``regional_inspector`` (alerts, statistics, exports) or ``hub_admin`` (clinics, users)."""

    __tablename__ = "hub_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(24), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HubSession(HubBase):
    """A browser login; only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "hub_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HubAction(HubBase):
    """Outbox of hub actions; ``ledger_index`` is set once the action is in the hub ledger."""

    __tablename__ = "hub_actions"
    __table_args__ = (Index("ix_hub_actions_pending", "ledger_index", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
