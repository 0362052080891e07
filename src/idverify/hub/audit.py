"""The hub's own audit trail: every hub action goes into the hub's ledger, checkpointed and verifiable with the
same offline verifier as a clinic's (``idverify audit verify FILE --public-key <hub ledger key>``).

Actions are written to the ``hub_actions`` outbox in the same transaction as the action itself (:func:`record`),
so an action and its audit record commit together; :func:`drain` moves pending actions into the ledger in one
group append. The indirection keeps the ledger's single writer lock out of the witness's and the feed's hot
paths (thousands of requests per second from many clinics would otherwise queue on it); the hub's scheduler
drains every ``IDVERIFY_HUB_LEDGER_INTERVAL_S`` seconds, and exports drain first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idverify.hub.models import HubAction
from idverify.ledger.append import append_many
from idverify.ledger.canonical import format_time
from idverify.store.base import utcnow

HUB_WORKSTATION = "hub"


def record(session: Session, kind: str, data: dict[str, Any], *, actor: str | None = None,
           role: str = "system") -> None:
    """Queue one hub action (``kind`` such as ``witness.cosigned``) in the caller's transaction.

    ``data`` carries ids, sizes, hashes and alert numbers — never a pseudonym in full (see alerts) nor personal
    data.
    """
    session.add(HubAction(kind=kind, actor=actor, data={"role": role, **data}, created_at=utcnow()))


def drain(session: Session, *, limit: int = 5000) -> int:
    """Append pending actions to the hub ledger (caller commits). Returns how many were appended.

    ``FOR UPDATE SKIP LOCKED`` lets several hub processes drain at once without appending an action twice.
    """
    pending = list(session.scalars(
        select(HubAction).where(HubAction.ledger_index.is_(None)).order_by(HubAction.id).limit(limit)
        .with_for_update(skip_locked=True)
    ))
    if not pending:
        return 0
    events = []
    for action in pending:
        data = dict(action.data)
        role = data.pop("role", "system")
        events.append({
            "type": f"hub.{action.kind}",
            "occurred_at": format_time(action.created_at),
            "actor": {"staff_id": action.actor, "role": role, "workstation": HUB_WORKSTATION},
            "subject": {},
            "data": {"action_id": action.id, **data},
        })
    entries = append_many(session, events)
    for action, entry in zip(pending, entries, strict=True):
        action.ledger_index = entry.index
    session.flush()
    return len(entries)
