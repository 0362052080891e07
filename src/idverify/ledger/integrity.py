"""Re-verifying what the database holds: the whole stored tree recomputed and compared with every node and every
signed checkpoint.

Owns: :func:`verify_stored_tree` and its :class:`IntegrityReport` (also the ledger's ``/healthz`` component): leaf
hashes against the canonical content, indices contiguous, times never decreasing, every stored interior node and
every checkpoint's root and signature. Reads in batches (~32 bytes of memory per entry) and, by default, ends its
read transaction between batches so appends continue during a long check.
Must not touch: anything it checks — it only reads — and the offline verifier of exports (:mod:`.verify`), which
deliberately shares no database code with it.
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from idverify.ledger import repository
from idverify.ledger.canonical import format_time, parse_time
from idverify.ledger.checkpoint import CheckpointError, open_checkpoint
from idverify.ledger.merkle import CompactRange, leaf_hash
from idverify.ledger.models import LedgerCheckpoint
from idverify.store.base import utcnow

log = structlog.get_logger(__name__)


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


def verify_stored_tree(
    session: Session, *, public_key: bytes | None = None, release_between_batches: bool = True
) -> IntegrityReport:
    """Recompute the whole stored tree and compare it with every stored node and checkpoint.

    Checks: indices contiguous from 0; each leaf hash equals SHA-256(0x00‖canonical); the canonical leaf's index
    and time match its row and times never decrease; every stored interior node equals the recomputed one; every
    checkpoint's root equals the recomputed root at its size and its signature verifies (with ``public_key`` when
    given, else with the key stored beside it). Reads in batches: memory is ~32 bytes per entry. With
    ``release_between_batches`` the session's read transaction is ended between batches
    (:func:`~idverify.ledger.repository.end_read_transaction`), so appends continue during a long check.
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
        self.between: Callable[[], None] | None = (
            (lambda: repository.end_read_transaction(session)) if release else None
        )
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
