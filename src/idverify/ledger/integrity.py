"""Re-verifying what the database holds: the stored tree recomputed and compared with its nodes and every signed
checkpoint — all of it (:func:`verify_stored_tree`), or only what was appended since the last check that passed
(:func:`verify_new_entries`).

Owns: both checks and their :class:`IntegrityReport` (also the ledger's ``/healthz`` component): leaf hashes
against the canonical content, every stored copy of the content (``event_type``, ``occurred_at``, actor and
subject ids — what searches filter on and screens show) against the leaf, indices contiguous, times never
decreasing, stored interior nodes and every checkpoint's root and signature — with ``public_keys``, also that the
checkpoint was signed by one of those keys, not merely by the key stored beside it. Reads in batches (~32 bytes of
memory per entry) and, by default, ends its read transaction between batches so appends continue during a long
check.
Must not touch: anything it checks — it only reads — and the offline verifier of exports (:mod:`.verify`), which
deliberately shares no database code with it.
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from idverify.ledger import repository
from idverify.ledger.canonical import format_time, parse_time
from idverify.ledger.checkpoint import CheckpointError, open_checkpoint
from idverify.ledger.merkle import CompactRange, Node, fold, leaf_hash, range_nodes
from idverify.ledger.models import LedgerCheckpoint
from idverify.ledger.progress import SILENT, Meter
from idverify.store.base import utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class VerifiedPrefix:
    """What a passed check established: the first ``size`` entries fold to ``frontier`` (the complete nodes of
    :meth:`CompactRange.nodes_for`), the last of them was recorded at ``last_time``, and checkpoints up to id
    ``checkpoint_id`` were checked. The next incremental check starts from here."""

    size: int
    frontier: tuple[bytes, ...]
    last_time: str
    checkpoint_id: int


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
    scope: str = "full"  # "full": the whole tree; "new entries": appended since the last passed check
    verified: VerifiedPrefix | None = None  # set when the check passed

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
            "scope": self.scope,
        }


_MAX_PROBLEMS = 20


def verify_stored_tree(
    session: Session, *, public_keys: Collection[bytes] | None = None, release_between_batches: bool = True,
    progress: Meter = SILENT,
) -> IntegrityReport:
    """Recompute the whole stored tree and compare it with every stored node and checkpoint.

    Checks: indices contiguous from 0; each leaf hash equals SHA-256(0x00‖canonical); the canonical leaf's index,
    times and ids match the row's columns and times never decrease; every stored interior node equals the
    recomputed one; every checkpoint's root equals the recomputed root at its size and its signature verifies —
    with the key stored beside it, which with ``public_keys`` must be one of them. Reads in batches: memory is
    ~32 bytes per entry. With ``release_between_batches`` the session's read transaction is ended between batches
    (:func:`~idverify.ledger.repository.end_read_transaction`), so appends continue during a long check.
    ``progress`` hears the number of entries, then how many were checked.
    """
    started = _time.perf_counter()
    check = _TreeCheck(session, public_keys, release_between_batches, progress=progress)
    check.run()
    return _finish(check, started)


def verify_new_entries(
    session: Session, since: VerifiedPrefix, *, public_keys: Collection[bytes] | None = None
) -> IntegrityReport:
    """Check only what changed since the check that produced ``since``: the stored nodes that prefix folds to are
    still the verified ones, each entry appended after it (content, columns, order, time), the nodes those entries
    completed, and every checkpoint signed since — cheap enough to run before every checkpoint is signed. An edit
    *inside* the verified prefix that leaves its frontier nodes alone is the full check's to find."""
    started = _time.perf_counter()
    check = _TreeCheck(session, public_keys, release=False, start=since)
    check.run()
    return _finish(check, started)


def _finish(check: _TreeCheck, started: float) -> IntegrityReport:
    report = check.report
    report.duration_s = _time.perf_counter() - started
    if report.ok:
        report.verified = VerifiedPrefix(check.frontier.size, tuple(check.frontier.hashes), check.previous_time,
                                         check.max_checkpoint_id)
    else:
        log.error("ledger.integrity_failed", scope=report.scope, problems=len(report.problems),
                  first_bad_index=report.first_bad_index)
    return report


_COLUMNS = ("event_type", "actor_staff_id", "workstation", "patient_id", "couple_id", "cycle_id")


class _TreeCheck:
    def __init__(self, session: Session, public_keys: Collection[bytes] | None, release: bool,
                 start: VerifiedPrefix | None = None, progress: Meter = SILENT) -> None:
        self.session = session
        self.progress = progress
        self.between: Callable[[], None] | None = (
            (lambda: repository.end_read_transaction(session)) if release else None
        )
        self.public_keys = None if public_keys is None else set(public_keys)
        self.report = IntegrityReport(scope="full" if start is None else "new entries")
        self.start = start
        self.frontier = CompactRange() if start is None else CompactRange(start.size, list(start.frontier))
        self.levels: list[bytearray] = []  # full check: recomputed interior nodes, 32 bytes each, per level
        self.created: list[tuple[Node, bytes]] = []  # incremental check: the nodes the new entries completed
        self.previous_time = "" if start is None else start.last_time
        self.max_checkpoint_id = 0 if start is None else start.checkpoint_id
        self.by_size: dict[int, list[LedgerCheckpoint]] = {}

    def run(self) -> None:
        report = self.report
        first = 0 if self.start is None else self.start.size
        # checkpoints before the size: each then covers ≤ size entries
        checkpoints = (repository.checkpoints(self.session) if self.start is None
                       else repository.checkpoints_since(self.session, self.start.size, self.start.checkpoint_id))
        size = repository.tree_size(self.session)
        report.tree_size = size
        if size < first:
            report.fail(f"entries {size}..{first - 1} are missing (the ledger had {first} entries)", size)
            return
        if self.start is not None and not self._prefix_unchanged(first):
            return
        for cp in checkpoints:
            self.max_checkpoint_id = max(self.max_checkpoint_id, int(cp.id))
            if cp.tree_size > size:
                report.fail(f"checkpoint {cp.id} covers {cp.tree_size} entries but only {size} exist", size)
            elif cp.tree_size < first:
                self._check_signature(cp, self._stored_root(int(cp.tree_size)), max(int(cp.tree_size) - 1, 0))
            else:
                self.by_size.setdefault(int(cp.tree_size), []).append(cp)
        self.check_checkpoints(first)
        progress = self.progress
        progress.start(size - first)
        for expected, row in enumerate(
            repository.iter_stored_entries(self.session, first, size, between_batches=self.between), start=first
        ):
            if len(report.problems) >= _MAX_PROBLEMS:
                return
            index = int(row[0])
            if index != expected:
                report.fail(f"entries {expected}..{index - 1} are missing", expected)
                return
            self.check_entry(index, row)
            self.check_checkpoints(self.frontier.size)
            if not index & 0x3FF:
                progress.update(index + 1 - first)
        progress.update(self.frontier.size - first)
        if self.frontier.size != size:
            report.fail(f"entries {self.frontier.size}..{size - 1} are missing", self.frontier.size)
        if not report.ok:
            return
        if self.start is None:
            _check_nodes(self.session, self.levels, report, size, self.between)
        else:
            self._check_created_nodes()

    def _prefix_unchanged(self, size: int) -> bool:
        """The stored nodes the verified prefix folds to are the ones the last check computed (appends build on
        them, so a changed one would fork the tree from here on)."""
        assert self.start is not None
        if not size:
            return True
        nodes = CompactRange.nodes_for(size)
        stored = repository.node_hashes(self.session, nodes)
        for node, verified in zip(nodes, self.start.frontier, strict=True):
            if stored.get(node) != verified:
                self.report.fail(f"stored tree node {node} changed since the last check", node[1] << node[0])
                return False
        return True

    def _stored_root(self, size: int) -> bytes:
        nodes = range_nodes(0, size) if size else []
        stored = repository.node_hashes(self.session, nodes)
        return fold([stored.get(n, b"") for n in nodes])

    def check_entry(self, index: int, row: Any) -> None:
        report = self.report
        canonical: str = row.canonical
        data = canonical.encode()
        lh = leaf_hash(data)
        if lh != bytes(row.leaf_hash):
            report.fail(f"entry {index}: leaf hash does not match its content", index)
        try:
            doc = json.loads(data)
            rec = doc["recorded_at"]
            event = doc["event"]
            if doc["index"] != index:
                report.fail(f"entry {index}: content claims index {doc['index']}", index)
            if parse_time(rec) != row.recorded_at.astimezone(UTC):
                report.fail(f"entry {index}: recorded_at column differs from the signed content", index)
            if parse_time(event["occurred_at"]) != row.occurred_at.astimezone(UTC):
                report.fail(f"entry {index}: occurred_at column differs from the signed content", index)
            actor, subject = event.get("actor") or {}, event.get("subject") or {}
            signed = (event["type"], actor.get("staff_id"), actor.get("workstation"), subject.get("patient_id"),
                      subject.get("couple_id"), subject.get("cycle_id"))
            differ = [name for name, want in zip(_COLUMNS, signed, strict=True) if getattr(row, name) != want]
            if differ:
                report.fail(f"entry {index}: {', '.join(differ)} column(s) differ from the signed content", index)
            if rec < self.previous_time:
                report.fail(f"entry {index}: recorded before its predecessor", index)
            self.previous_time = rec
        except (ValueError, KeyError, TypeError, AttributeError):
            report.fail(f"entry {index}: content is not a ledger leaf", index)
        created = self.frontier.append(lh)
        if self.start is not None:
            self.created.extend(created)
            return
        for (level, idx), h in created:
            while len(self.levels) < level:
                self.levels.append(bytearray())
            arr = self.levels[level - 1]
            if len(arr) != idx * 32:  # pragma: no cover - CompactRange creates nodes in order
                raise AssertionError("node order")
            arr += h

    def check_checkpoints(self, at: int) -> None:
        cps = self.by_size.get(at)
        if not cps:
            return
        root = self.frontier.root()
        for cp in cps:
            self._check_signature(cp, root, max(at - 1, 0))

    def _check_signature(self, cp: LedgerCheckpoint, root: bytes, bad: int) -> None:
        report = self.report
        report.checkpoints_checked += 1
        if bytes(cp.root_hash) != root:
            report.fail(f"checkpoint {cp.id} root differs from the entries (size {cp.tree_size})", bad)
        key = bytes(cp.public_key)
        if self.public_keys is not None and key not in self.public_keys:
            report.fail(f"checkpoint {cp.id} is signed by a key that is not this clinic's", bad)
            return
        try:
            signed = open_checkpoint(cp.note, key)
        except CheckpointError as exc:
            report.fail(f"checkpoint {cp.id}: {exc}", bad)
            return
        if signed.tree_size != cp.tree_size or signed.root_hash != bytes(cp.root_hash):
            report.fail(f"checkpoint {cp.id} note does not match its row", bad)
        elif self.previous_time and int(cp.tree_size) == self.frontier.size \
                and format_time(signed.time) < self.previous_time:
            report.fail(f"checkpoint {cp.id} is older than the entries it covers", bad)

    def _check_created_nodes(self) -> None:
        created: Sequence[tuple[Node, bytes]] = self.created
        stored = repository.node_hashes(self.session, [node for node, _ in created])
        for node, h in created:
            if stored.get(node) != h:
                what = "is missing" if node not in stored else "differs from the entries"
                self.report.fail(f"stored tree node {node} {what}", node[1] << node[0])
                return


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
