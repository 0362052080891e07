"""Ledger tables: entries (leaves), complete Merkle nodes, signed checkpoints and the witnesses' cosignatures of
them. All four are append-only.

The application refuses to change them twice over: these ORM classes raise on flush of a modified or deleted
row (:func:`_refuse`), and the migration ``ledger_0001`` installs database triggers that raise on UPDATE/DELETE
(and TRUNCATE on PostgreSQL) for anyone who bypasses the ORM. Columns besides ``canonical`` / ``leaf_hash`` are
copies made for filtering and paging; the leaf bytes are the truth and :func:`verify_stored_tree` checks the
copies against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from idverify.errors import ErrorCode, IdverifyError
from idverify.store.base import Base
from idverify.store.types import UTCDateTime


class LedgerImmutable(IdverifyError):
    """Someone tried to change or delete a ledger row."""

    code = ErrorCode.LEDGER_IMMUTABLE
    status_code = 409


class LedgerDamaged(IdverifyError):
    """The stored tree lacks rows it needs (entries or nodes deleted, a tail cut off): it cannot be extended, signed
    or exported until it is restored. The message names what is missing."""

    code = ErrorCode.LEDGER_DAMAGED
    status_code = 409


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_staff_id: Mapped[str | None] = mapped_column(String(64))
    workstation: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    couple_id: Mapped[str | None] = mapped_column(String(64))
    cycle_id: Mapped[str | None] = mapped_column(String(64))
    canonical: Mapped[str] = mapped_column(Text, nullable=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)

    __table_args__ = (
        Index("ix_ledger_entries_recorded_at", "recorded_at"),
        Index("ix_ledger_entries_event_type", "event_type", "idx"),
        Index("ix_ledger_entries_patient_id", "patient_id"),
        Index("ix_ledger_entries_actor_staff_id", "actor_staff_id"),
        Index("ix_ledger_entries_cycle_id", "cycle_id"),
    )


class LedgerNode(Base):
    """Hash of the complete subtree ``(level ≥ 1, index)``; written once, when its last leaf arrives."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("idx", BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    origin: Mapped[str] = mapped_column(String(100), nullable=False)
    key_id: Mapped[str] = mapped_column(String(8), nullable=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)


class LedgerCosignature(Base):
    """A witness's cosignature/v1 line on one checkpoint, as the witness returned it (verified before storing)."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoints.id"), nullable=False, index=True)
    witness: Mapped[str] = mapped_column(String(255), nullable=False)  # the witness's key name
    key_id: Mapped[str] = mapped_column(String(8), nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the cosignature's POSIX time
    line: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def _refuse(_mapper: Any, _connection: Any, target: Any) -> None:
    raise LedgerImmutable(f"{type(target).__tablename__} rows are append-only and cannot be changed or deleted")


for _model in (LedgerEntry, LedgerNode, LedgerCheckpoint, LedgerCosignature):
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)
