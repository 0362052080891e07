"""Appending audit events to the ledger: canonical leaves, new tree nodes, one lock for the whole batch.

Owns: :func:`append` and :func:`append_many` — validating and canonicalising events before the lock, then under
it numbering them, keeping ``recorded_at`` monotonic across daemons, and storing each leaf with the interior
nodes it completes. Callers pass their own SQLAlchemy :class:`~sqlalchemy.orm.Session`; nothing here commits. An
audit record is therefore written in the same transaction as the change it records — both or neither — and is
durable when the caller's COMMIT returns (SQLite ``synchronous=FULL``; PostgreSQL's default
``synchronous_commit``). Appends take the ledger lock (:func:`idverify.ledger.repository.lock`) until that commit,
so keep the transaction short after appending.
Must not touch: proofs and checkpoints (:mod:`.proofs`), re-verification (:mod:`.integrity`), and the content
of events beyond the envelope (:mod:`.canonical`): the ledger knows nothing of biometrics or patients beyond ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from idverify.ledger import repository
from idverify.ledger.canonical import canonical_bytes, format_time, leaf_bytes, normalise_event, parse_time
from idverify.ledger.merkle import CompactRange, Node, leaf_hash
from idverify.ledger.models import LedgerDamaged, LedgerEntry
from idverify.ledger.proofs import missing_tail
from idverify.store.base import utcnow


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
    signed = repository.latest_checkpoint(session)
    if signed is not None and signed.tree_size > size:
        # The tail was cut off. Appending would put new events at indices already signed for others — a fork, and
        # restoring the deleted rows from a backup would then collide with genuine records.
        raise missing_tail(size, signed)
    wanted = CompactRange.nodes_for(size)
    stored = repository.node_hashes(session, wanted)
    if len(stored) != len(wanted):
        raise LedgerDamaged(f"the audit ledger is damaged: tree nodes for its {size} entries are missing, so no "
                            "event can be appended; restore it from a backup (`idverify audit check` names the gap)")
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
