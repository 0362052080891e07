"""Every SQL statement the ledger runs. Inserts and selects only: there is no update or delete here, by design.

Serialisation: :func:`lock` takes a transaction-scoped PostgreSQL advisory lock, so several daemons sharing one
database append one after another and build a single tree; it is released by the caller's COMMIT/ROLLBACK.
SQLite needs nothing extra: :func:`idverify.store.db.make_engine` starts every transaction with
``BEGIN IMMEDIATE``, which holds the database write lock for the whole transaction. As a last line of defence the
entry index and node keys are primary keys, so a writer that somehow raced would fail, never fork the tree.
:func:`end_read_transaction` is the other side: long readers (integrity check, export) release the lock between
batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from idverify.ledger.merkle import Node
from idverify.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerEntry, LedgerNode

# pg_advisory_xact_lock key: "idvldg" as an integer; any constant works as long as every daemon uses the same.
ADVISORY_LOCK_KEY = 0x6964766C6467
_IN_CHUNK = 200
_MAX_INDEX = text("SELECT max(idx) FROM ledger_entries")


def lock(session: Session) -> None:
    """Serialise ledger writers until the end of the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def end_read_transaction(session: Session) -> None:
    """Commit the session's transaction when it holds no pending changes, releasing its locks.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (the database write lock), so a long read — an
    integrity check or an export of a million entries — would otherwise stop all appends for its duration.
    Reading the ledger across several transactions is safe: rows below a fixed size never change.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


def tree_size(session: Session) -> int:
    last = session.connection().execute(_MAX_INDEX).scalar()
    return 0 if last is None else int(last) + 1


@dataclass(frozen=True)
class LedgerSummary:
    """The ledger as it stands now (for the IT page): entries stored, and the newest signed checkpoint."""

    entries: int
    checkpoint_size: int | None
    checkpoint_at: datetime | None


def summary(session: Session) -> LedgerSummary:
    """Two cheap reads (the index maximum, the newest checkpoint): what the health line shows live, instead of
    the size the last integrity check happened to see."""
    cp = latest_checkpoint(session)
    return LedgerSummary(entries=tree_size(session), checkpoint_size=int(cp.tree_size) if cp is not None else None,
                         checkpoint_at=cp.signed_at if cp is not None else None)


def event_types(session: Session) -> list[str]:
    """The distinct event types stored (the index on ``event_type`` answers it)."""
    return sorted(str(t) for t in session.scalars(select(LedgerEntry.event_type).distinct()))


def last_recorded_at(session: Session) -> datetime | None:
    return session.scalar(select(LedgerEntry.recorded_at).order_by(LedgerEntry.index.desc()).limit(1))


def node_hashes(session: Session, nodes: Sequence[Node]) -> dict[Node, bytes]:
    """Hashes of complete nodes; level 0 comes from the entries' leaf hashes. Missing nodes are absent.

    This is the hot path of every proof: one round trip of plain SQL on the session's connection (ORM
    statement building would cost more than the lookups). Equalities joined by OR, not a row-value IN:
    SQLite answers the former from the primary key index (multi-index OR) but scans the table for the latter.
    """
    out: dict[Node, bytes] = {}
    conn = session.connection()
    for start in range(0, len(nodes), _IN_CHUNK):
        chunk = nodes[start:start + _IN_CHUNK]
        params: dict[str, int] = {}
        leaves: list[str] = []
        interior: list[str] = []
        for n, (level, idx) in enumerate(chunk):
            params[f"i{n}"] = idx
            if level == 0:
                leaves.append(f":i{n}")
            else:
                params[f"l{n}"] = level
                interior.append(f"(level = :l{n} AND idx = :i{n})")
        # Only generated bind-parameter names are interpolated; every value is bound.
        parts = []
        if leaves:
            parts.append(f"SELECT 0 AS level, idx, leaf_hash FROM ledger_entries WHERE idx IN ({', '.join(leaves)})")  # noqa: S608
        if interior:
            parts.append(f"SELECT level, idx, hash FROM ledger_nodes WHERE {' OR '.join(interior)}")  # noqa: S608
        for row in conn.execute(text(" UNION ALL ".join(parts)), params):
            out[(int(row[0]), int(row[1]))] = bytes(row[2])
    return out


def add_entries(session: Session, entries: Sequence[LedgerEntry]) -> None:
    session.add_all(entries)


def insert_nodes(session: Session, nodes: Sequence[tuple[Node, bytes]]) -> None:
    if nodes:
        session.execute(
            insert(LedgerNode), [{"level": level, "index": idx, "hash": h} for (level, idx), h in nodes]
        )


def add_checkpoint(session: Session, checkpoint: LedgerCheckpoint) -> None:
    session.add(checkpoint)


def add_cosignature(session: Session, cosignature: LedgerCosignature) -> None:
    session.add(cosignature)


def cosignature_lines(session: Session, checkpoint_ids: Sequence[int]) -> dict[int, list[str]]:
    """The stored cosignature lines of each checkpoint (by checkpoint id, in the order received)."""
    out: dict[int, list[str]] = {}
    for start in range(0, len(checkpoint_ids), _IN_CHUNK):
        chunk = list(checkpoint_ids[start:start + _IN_CHUNK])
        rows = session.execute(
            select(LedgerCosignature.checkpoint_id, LedgerCosignature.line)
            .where(LedgerCosignature.checkpoint_id.in_(chunk)).order_by(LedgerCosignature.id)
        ).all()
        for cid, line in rows:
            out.setdefault(int(cid), []).append(str(line))
    return out


def latest_cosigned(session: Session, witness: str | None = None, key_id: str | None = None
                    ) -> LedgerCheckpoint | None:
    """The largest checkpoint this witness (name, key id) — or any witness — has cosigned."""
    stmt = select(LedgerCheckpoint).join(LedgerCosignature, LedgerCosignature.checkpoint_id == LedgerCheckpoint.id)
    if witness is not None:
        stmt = stmt.where(LedgerCosignature.witness == witness, LedgerCosignature.key_id == key_id)
    return session.scalar(stmt.order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc()).limit(1))


def has_cosignature(session: Session, checkpoint_id: int, witness: str, key_id: str) -> bool:
    return session.scalar(
        select(LedgerCosignature.id).where(LedgerCosignature.checkpoint_id == checkpoint_id,
                                           LedgerCosignature.witness == witness,
                                           LedgerCosignature.key_id == key_id).limit(1)
    ) is not None


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc()).limit(1)
    )


def checkpoint_at_least(session: Session, tree_size: int) -> LedgerCheckpoint | None:
    """The oldest checkpoint that covers ``tree_size`` entries."""
    return session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.tree_size >= tree_size)
        .order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)
        .limit(1)
    )


def checkpoints(session: Session, *, limit: int | None = None) -> list[LedgerCheckpoint]:
    stmt = select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count_entries(session: Session, start: int, end: int) -> int:
    """How many entries with ``start <= index < end`` are stored (``end - start`` unless rows are missing)."""
    if end <= start:
        return 0
    count = session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.index >= start, LedgerEntry.index < end)
    )
    return int(count or 0)


def index_at_or_after(session: Session, when: datetime) -> int | None:
    """First entry recorded at or after ``when`` (recorded times never decrease along the index)."""
    return session.scalar(select(func.min(LedgerEntry.index)).where(LedgerEntry.recorded_at >= when))


def index_before(session: Session, when: datetime) -> int | None:
    """Last entry recorded strictly before ``when``."""
    return session.scalar(select(func.max(LedgerEntry.index)).where(LedgerEntry.recorded_at < when))


def iter_entry_rows(
    session: Session, start: int, end: int, *, batch: int = 5000, between_batches: Callable[[], None] | None = None
) -> Iterator[tuple[int, datetime, str, bytes]]:
    """(index, recorded_at, canonical, leaf_hash) for ``start <= index < end`` in order, in batches (keyset).

    ``between_batches`` runs before each batch after the first (used to end read transactions, see service).
    """
    pos = start
    while pos < end:
        if between_batches is not None and pos != start:
            between_batches()
        rows = session.execute(
            select(LedgerEntry.index, LedgerEntry.recorded_at, LedgerEntry.canonical, LedgerEntry.leaf_hash)
            .where(LedgerEntry.index >= pos, LedgerEntry.index < end)
            .order_by(LedgerEntry.index)
            .limit(batch)
        ).all()
        if not rows:
            return
        for idx, rec, canonical, lh in rows:
            yield int(idx), rec, canonical, bytes(lh)
        pos = int(rows[-1][0]) + 1


def checkpoints_since(session: Session, tree_size: int, checkpoint_id: int) -> list[LedgerCheckpoint]:
    """Checkpoints over more than ``tree_size`` entries or stored after checkpoint ``checkpoint_id``."""
    stmt = (
        select(LedgerCheckpoint)
        .where((LedgerCheckpoint.tree_size > tree_size) | (LedgerCheckpoint.id > checkpoint_id))
        .order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)
    )
    return list(session.scalars(stmt))


_CHECKED_COLUMNS = (
    LedgerEntry.index, LedgerEntry.recorded_at, LedgerEntry.canonical, LedgerEntry.leaf_hash, LedgerEntry.occurred_at,
    LedgerEntry.event_type, LedgerEntry.actor_staff_id, LedgerEntry.workstation, LedgerEntry.patient_id,
    LedgerEntry.couple_id, LedgerEntry.cycle_id,
)


def iter_stored_entries(
    session: Session, start: int, end: int, *, batch: int = 5000, between_batches: Callable[[], None] | None = None
) -> Iterator[Any]:
    """Every stored column of the entries ``start <= index < end`` in index order, in keyset batches: what the
    integrity check compares with the leaf content (the copies are what searches and screens use).

    Rows carry the index (first, by position), ``recorded_at``, ``canonical``, ``leaf_hash``, ``occurred_at``,
    ``event_type``, ``actor_staff_id``, ``workstation``, ``patient_id``, ``couple_id`` and ``cycle_id``.
    """
    pos = start
    while pos < end:
        if between_batches is not None and pos != start:
            between_batches()
        rows = session.execute(
            select(*_CHECKED_COLUMNS)
            .where(LedgerEntry.index >= pos, LedgerEntry.index < end)
            .order_by(LedgerEntry.index)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        pos = int(rows[-1][0]) + 1


def iter_node_rows(
    session: Session, *, batch: int = 20000, between_batches: Callable[[], None] | None = None
) -> Iterator[tuple[int, int, bytes]]:
    """Every stored interior node ordered by (level, index), in keyset batches."""
    level, idx = 0, -1
    while True:
        if between_batches is not None and idx >= 0:
            between_batches()
        rows = session.execute(
            select(LedgerNode.level, LedgerNode.index, LedgerNode.hash)
            .where(tuple_(LedgerNode.level, LedgerNode.index) > tuple_(level, idx))
            .order_by(LedgerNode.level, LedgerNode.index)
            .limit(batch)
        ).all()
        if not rows:
            return
        for lv, ix, h in rows:
            yield int(lv), int(ix), bytes(h)
        level, idx = int(rows[-1][0]), int(rows[-1][1])


@dataclass(frozen=True)
class EntryFilter:
    """Filters for listing entries; ids only (the ledger holds no names)."""

    event_type: str | None = None
    patient_id: str | None = None
    couple_id: str | None = None
    cycle_id: str | None = None
    staff_id: str | None = None
    workstation: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_entries(
    session: Session, filters: EntryFilter, *, limit: int, after: int | None, descending: bool
) -> list[LedgerEntry]:
    stmt = select(LedgerEntry)
    f = filters
    conditions = [
        (f.event_type, LedgerEntry.event_type),
        (f.patient_id, LedgerEntry.patient_id),
        (f.couple_id, LedgerEntry.couple_id),
        (f.cycle_id, LedgerEntry.cycle_id),
        (f.staff_id, LedgerEntry.actor_staff_id),
        (f.workstation, LedgerEntry.workstation),
    ]
    for value, column in conditions:
        if value is not None:
            stmt = stmt.where(column == value)
    if f.since is not None:
        stmt = stmt.where(LedgerEntry.recorded_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(LedgerEntry.recorded_at < f.until)
    if after is not None:
        stmt = stmt.where(LedgerEntry.index < after if descending else LedgerEntry.index > after)
    stmt = stmt.order_by(LedgerEntry.index.desc() if descending else LedgerEntry.index).limit(limit)
    return list(session.scalars(stmt))


def iter_entries(session: Session, start: int, end: int, *, batch: int = 2000) -> Iterator[LedgerEntry]:
    """ORM entries ``start <= index < end`` in index order, streamed."""
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.index >= start, LedgerEntry.index < end)
        .order_by(LedgerEntry.index)
        .execution_options(yield_per=batch)
    )
    yield from session.scalars(stmt)
