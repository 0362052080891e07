"""The ledger's rules: append events, sign checkpoints, serve proofs, re-verify what is stored.

Callers pass their own SQLAlchemy :class:`~sqlalchemy.orm.Session`; nothing here commits. An audit record is
therefore written in the same transaction as the change it records — both or neither — and is durable when the
caller's COMMIT returns (SQLite ``synchronous=FULL``; PostgreSQL's default ``synchronous_commit``). Appends take
the ledger lock (:func:`idverify.ledger.repository.lock`) until that commit, so keep the transaction short after
appending.

The ledger stores events opaquely: it checks the envelope (:mod:`idverify.ledger.canonical`) and knows nothing of
biometrics or patients beyond their ids.
"""

from __future__ import annotations

import base64
import json
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from idverify.errors import NotFoundError, ValidationFailed
from idverify.ledger import repository
from idverify.ledger.canonical import canonical_bytes, format_time, leaf_bytes, normalise_event, parse_time
from idverify.ledger.checkpoint import CheckpointError, CheckpointSigner, open_checkpoint
from idverify.ledger.merkle import (
    CompactRange,
    Node,
    ProofError,
    consistency_ranges,
    fold,
    inclusion_ranges,
    leaf_hash,
    range_nodes,
)
from idverify.ledger.models import LedgerCheckpoint, LedgerEntry
from idverify.ledger.repository import EntryFilter
from idverify.store.base import utcnow

log = structlog.get_logger(__name__)

__all__ = [
    "ConsistencyProof",
    "EntryFilter",
    "EntryPage",
    "InclusionProof",
    "IntegrityReport",
    "append",
    "append_many",
    "consistency_proof",
    "create_checkpoint",
    "entry_event",
    "inclusion_proof",
    "latest_checkpoint",
    "list_entries",
    "root_at",
    "tree_size",
    "verify_stored_tree",
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ------------------------------------------------------------------------------------------------ appending
def append(session: Session, event: dict[str, Any], *, now: datetime | None = None) -> LedgerEntry:
    """Append one audit event in the caller's transaction (flushed, not committed) and return its entry."""
    return append_many(session, [event], now=now)[0]


def append_many(
    session: Session, events: Sequence[dict[str, Any]], *, now: datetime | None = None
) -> list[LedgerEntry]:
    """Append several events under one lock acquisition (group commit).

    All of them become durable together at the caller's single COMMIT, which is what makes batching cheap; a
    caller may report any of these events as recorded only after that commit returns.
    """
    normalised = [normalise_event(e) for e in events]
    # Canonicalise (and so validate) every event before taking the lock; only concatenation happens under it.
    event_bytes = [canonical_bytes(ev) for ev in normalised]
    if not normalised:
        return []
    repository.lock(session)
    size = repository.tree_size(session)
    wanted = CompactRange.nodes_for(size)
    stored = repository.node_hashes(session, wanted)
    if len(stored) != len(wanted):
        raise ProofError(f"ledger nodes for size {size} are missing; run the integrity check")
    frontier = CompactRange(size, [stored[n] for n in wanted])
    recorded = now or utcnow()
    last = repository.last_recorded_at(session) if size else None
    if last is not None and last > recorded:
        # Another daemon's clock is ahead (or ours went back): keep ledger time monotonic rather than back-date.
        recorded = last
    recorded_text = format_time(recorded)
    recorded_dt = parse_time(recorded_text)
    entries: list[LedgerEntry] = []
    new_nodes: list[tuple[Node, bytes]] = []
    for offset, (ev, ev_bytes) in enumerate(zip(normalised, event_bytes, strict=True)):
        index = size + offset
        canonical = leaf_bytes(index, recorded_text, ev_bytes)
        lh = leaf_hash(canonical)
        new_nodes.extend(frontier.append(lh))
        actor = ev["actor"] or {}
        subject = ev["subject"]
        entries.append(
            LedgerEntry(
                index=index,
                recorded_at=recorded_dt,
                occurred_at=parse_time(ev["occurred_at"]),
                event_type=ev["type"],
                actor_staff_id=actor.get("staff_id"),
                workstation=actor.get("workstation"),
                patient_id=subject.get("patient_id"),
                couple_id=subject.get("couple_id"),
                cycle_id=subject.get("cycle_id"),
                canonical=canonical.decode(),
                leaf_hash=lh,
            )
        )
    repository.add_entries(session, entries)
    repository.insert_nodes(session, new_nodes)
    session.flush()
    return entries


def entry_event(entry: LedgerEntry) -> dict[str, Any]:
    """The event as the workflow recorded it (parsed from the canonical leaf, the source of truth)."""
    event: dict[str, Any] = json.loads(entry.canonical)["event"]
    return event


# ----------------------------------------------------------------------------------------------- tree reads
def tree_size(session: Session) -> int:
    return repository.tree_size(session)


def _range_hashes(session: Session, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    per_range = [range_nodes(s, e) for s, e in ranges]
    wanted = [n for nodes in per_range for n in nodes]
    found = repository.node_hashes(session, wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ProofError(f"ledger is missing {len(missing)} tree node(s); run the integrity check")
    return [fold([found[n] for n in nodes]) for nodes in per_range]


def root_at(session: Session, size: int) -> bytes:
    """Root hash of the first ``size`` entries, from stored complete nodes (O(log n) reads)."""
    current = repository.tree_size(session)
    if not 0 <= size <= current:
        raise NotFoundError(f"the ledger has {current} entries; no tree of size {size}")
    return _range_hashes(session, [(0, size)])[0] if size else fold([])


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]
    root_hash: bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": _b64(self.leaf_hash),
            "hashes": [_b64(h) for h in self.hashes],
            "root_hash": _b64(self.root_hash),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: list[bytes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": _b64(self.old_root),
            "new_root": _b64(self.new_root),
            "hashes": [_b64(h) for h in self.hashes],
        }


def _size_or_current(session: Session, size: int | None) -> int:
    current = repository.tree_size(session)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise NotFoundError(f"the ledger has {current} entries; no tree of size {size}")
    return size


def inclusion_proof(session: Session, index: int, tree_size: int | None = None) -> InclusionProof:
    """Audit path of entry ``index`` in the tree of ``tree_size`` entries (default: the whole ledger)."""
    size = _size_or_current(session, tree_size)
    if not 0 <= index < size:
        raise NotFoundError(f"no entry {index} in a tree of {size} entries")
    ranges = inclusion_ranges(index, size)
    hashes = _range_hashes(session, [*ranges, (index, index + 1), (0, size)])
    return InclusionProof(index, size, hashes[-2], hashes[:-2], hashes[-1])


def consistency_proof(session: Session, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """Proof that the tree of ``old_size`` entries is a prefix of the tree of ``new_size`` entries."""
    size = _size_or_current(session, new_size)
    if not 0 <= old_size <= size:
        raise ValidationFailed(f"old size {old_size} must be between 0 and {size}")
    ranges = consistency_ranges(old_size, size)
    extra = [(0, old_size)] if old_size else []
    hashes = _range_hashes(session, [*ranges, *extra, (0, size)] if size else [*ranges, *extra])
    old_root = (hashes[len(ranges)] if old_size else fold([]))
    new_root = hashes[-1] if size else fold([])
    return ConsistencyProof(old_size, size, old_root, new_root, hashes[: len(ranges)])


# ------------------------------------------------------------------------------------------------ checkpoints
def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return repository.latest_checkpoint(session)


def create_checkpoint(
    session: Session, signer: CheckpointSigner, *, now: datetime | None = None, force: bool = False
) -> LedgerCheckpoint:
    """Sign (size, root, time) of the current tree and store it in the caller's transaction.

    Without ``force`` an unchanged tree keeps its latest checkpoint (the periodic job then writes nothing).
    The checkpoint time is never earlier than the newest entry, so every entry is within its checkpoint's time.
    """
    repository.lock(session)
    size = repository.tree_size(session)
    latest = repository.latest_checkpoint(session)
    if latest is not None and latest.tree_size == size and not force:
        return latest
    signed_at = now or utcnow()
    last = repository.last_recorded_at(session) if size else None
    if last is not None and last > signed_at:
        signed_at = last
    root = root_at(session, size)
    signed = signer.sign(size, root, signed_at)
    row = LedgerCheckpoint(
        tree_size=size,
        root_hash=root,
        signed_at=signed.time,
        origin=signed.origin,
        key_id=signer.key_id.hex(),
        public_key=signer.public_key,
        note=signed.note,
    )
    repository.add_checkpoint(session, row)
    session.flush()
    log.info("ledger.checkpoint", tree_size=size, key_id=row.key_id)
    return row


# ---------------------------------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class EntryPage:
    items: list[LedgerEntry]
    next_after: int | None  # pass as ``after`` for the next page; None when this was the last page


def list_entries(
    session: Session,
    filters: EntryFilter | None = None,
    *,
    limit: int = 50,
    after: int | None = None,
    descending: bool = True,
) -> EntryPage:
    """A page of entries, newest first by default, keyset-paged on the index (stable while appends go on)."""
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000")
    rows = repository.list_entries(
        session, filters or EntryFilter(), limit=limit + 1, after=after, descending=descending
    )
    more = len(rows) > limit
    items = rows[:limit]
    return EntryPage(items, items[-1].index if more and items else None)


# ---------------------------------------------------------------------------------------------------- integrity
@dataclass
class IntegrityReport:
    """Outcome of :func:`verify_stored_tree`; ``ok`` is False as soon as one problem is found."""

    tree_size: int = 0
    checkpoints_checked: int = 0
    nodes_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None
    checked_at: datetime = field(default_factory=utcnow)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, index: int | None = None) -> None:
        self.problems.append(message)
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index

    def as_health(self) -> dict[str, Any]:
        """A ``/healthz`` component (no personal data: indices and counts only)."""
        return {
            "kind": "ledger",
            "name": "audit ledger",
            "status": "ok" if self.ok else "error",
            "detail": "intact" if self.ok else self.problems[0],
            "tree_size": self.tree_size,
            "checkpoints_checked": self.checkpoints_checked,
            "checked_at": format_time(self.checked_at),
        }


_MAX_PROBLEMS = 20


def end_read_transaction(session: Session) -> None:
    """Commit the session's transaction when it holds no pending changes, releasing its locks.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (the database write lock), so a long read — an
    integrity check or an export of a million entries — would otherwise stop all appends for its duration.
    Reading the ledger across several transactions is safe: rows below a fixed size never change.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


def verify_stored_tree(
    session: Session, *, public_key: bytes | None = None, release_between_batches: bool = True
) -> IntegrityReport:
    """Recompute the whole stored tree and compare it with every stored node and checkpoint.

    Checks: indices contiguous from 0; each leaf hash equals SHA-256(0x00‖canonical); the canonical leaf's index
    and time match its row and times never decrease; every stored interior node equals the recomputed one; every
    checkpoint's root equals the recomputed root at its size and its signature verifies (with ``public_key`` when
    given, else with the key stored beside it). Reads in batches: memory is ~32 bytes per entry. With
    ``release_between_batches`` the session's read transaction is ended between batches
    (:func:`end_read_transaction`), so appends continue during a long check.
    """
    started = _time.perf_counter()
    check = _TreeCheck(session, public_key, release_between_batches)
    check.run()
    report = check.report
    report.duration_s = _time.perf_counter() - started
    if not report.ok:
        log.error("ledger.integrity_failed", problems=len(report.problems), first_bad_index=report.first_bad_index)
    return report


class _TreeCheck:
    def __init__(self, session: Session, public_key: bytes | None, release: bool) -> None:
        self.session = session
        self.between: Callable[[], None] | None = (lambda: end_read_transaction(session)) if release else None
        self.public_key = public_key
        self.report = IntegrityReport()
        self.frontier = CompactRange()
        self.levels: list[bytearray] = []  # recomputed interior nodes, 32 bytes each, per level
        self.previous_time = ""
        self.by_size: dict[int, list[LedgerCheckpoint]] = {}

    def run(self) -> None:
        report = self.report
        checkpoints = repository.checkpoints(self.session)  # before the size: each then covers ≤ size entries
        size = repository.tree_size(self.session)
        report.tree_size = size
        for cp in checkpoints:
            self.by_size.setdefault(cp.tree_size, []).append(cp)
            if cp.tree_size > size:
                report.fail(f"checkpoint {cp.id} covers {cp.tree_size} entries but only {size} exist", size)
        self.check_checkpoints(0)
        for expected, (index, recorded_at, canonical, stored_leaf) in enumerate(
            repository.iter_entry_rows(self.session, 0, size, between_batches=self.between)
        ):
            if len(report.problems) >= _MAX_PROBLEMS:
                return
            if index != expected:
                report.fail(f"entries {expected}..{index - 1} are missing", expected)
                return
            self.check_entry(index, recorded_at, canonical, stored_leaf)
            self.check_checkpoints(self.frontier.size)
        if self.frontier.size != size:
            report.fail(f"entries {self.frontier.size}..{size - 1} are missing", self.frontier.size)
        if report.ok:
            _check_nodes(self.session, self.levels, report, size, self.between)

    def check_entry(self, index: int, recorded_at: datetime, canonical: str, stored_leaf: bytes) -> None:
        report = self.report
        data = canonical.encode()
        lh = leaf_hash(data)
        if lh != stored_leaf:
            report.fail(f"entry {index}: leaf hash does not match its content", index)
        try:
            doc = json.loads(data)
            rec = doc["recorded_at"]
            if doc["index"] != index:
                report.fail(f"entry {index}: content claims index {doc['index']}", index)
            if parse_time(rec) != recorded_at.astimezone(UTC):
                report.fail(f"entry {index}: recorded_at column differs from the signed content", index)
            if rec < self.previous_time:
                report.fail(f"entry {index}: recorded before its predecessor", index)
            self.previous_time = rec
        except (ValueError, KeyError, TypeError):
            report.fail(f"entry {index}: content is not a ledger leaf", index)
        for (level, idx), h in self.frontier.append(lh):
            while len(self.levels) < level:
                self.levels.append(bytearray())
            arr = self.levels[level - 1]
            if len(arr) != idx * 32:  # pragma: no cover - CompactRange creates nodes in order
                raise AssertionError("node order")
            arr += h

    def check_checkpoints(self, at: int) -> None:
        report = self.report
        bad = max(at - 1, 0)
        cps = self.by_size.get(at)
        if not cps:
            return
        root = self.frontier.root()
        for cp in cps:
            report.checkpoints_checked += 1
            if bytes(cp.root_hash) != root:
                report.fail(f"checkpoint {cp.id} root differs from the entries (size {at})", bad)
            try:
                signed = open_checkpoint(cp.note, self.public_key or bytes(cp.public_key))
            except CheckpointError as exc:
                report.fail(f"checkpoint {cp.id}: {exc}", bad)
                continue
            if signed.tree_size != cp.tree_size or signed.root_hash != bytes(cp.root_hash):
                report.fail(f"checkpoint {cp.id} note does not match its row", bad)
            elif self.previous_time and format_time(signed.time) < self.previous_time:
                report.fail(f"checkpoint {cp.id} is older than the entries it covers", bad)


def _check_nodes(
    session: Session,
    levels: list[bytearray],
    report: IntegrityReport,
    size: int,
    between: Callable[[], None] | None,
) -> None:
    expected_total = sum(len(a) // 32 for a in levels)
    seen = 0
    for level, idx, h in repository.iter_node_rows(session, between_batches=between):
        if (idx + 1) << level > size:
            continue  # completed by an append after this check began
        arr = levels[level - 1] if 0 < level <= len(levels) else bytearray()
        if (idx + 1) * 32 > len(arr):
            report.fail(f"stored tree node ({level}, {idx}) covers entries that do not exist")
            return
        if arr[idx * 32:(idx + 1) * 32] != h:
            report.fail(f"stored tree node ({level}, {idx}) differs from the entries", idx << level)
            return
        seen += 1
    report.nodes_checked = seen
    if seen != expected_total:
        report.fail(f"{expected_total - seen} stored tree node(s) are missing")

