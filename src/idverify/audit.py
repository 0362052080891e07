"""The one way domain code writes an audit event: ``record(db, actor, type, subject=…, data=…)``.

The event goes into the ledger inside the caller's transaction, so the change and its audit record commit
together or not at all — an accepted check can never exist without its ledger entry, and a failed commit leaves
neither. Events carry ids, decisions, scores and device ids; never names, document numbers or biometric data. An action
done with an API key is the integration's: the actor is the key (``actor.api_key_id``, ``data.integration`` — the
name IT gave the key, not a person's), and ``data.key_created_by`` keeps who issued it as a separate fact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from idverify.auth.roles import Principal
from idverify.ledger.canonical import format_time
from idverify.store.base import utcnow

#: Every event type the daemon records (``enrollment.*`` has one per enrolment outcome). The inspector's event filter
#: offers these, translated (``inspector.event_type.<type>``); ``tests/test_audit_event_types.py`` keeps the list
#: complete against the sources, and the filter also offers any other type found in the ledger (an older version's).
EVENT_TYPES: tuple[str, ...] = (
    "alert.repeated_rejects",
    "api_key.issued", "api_key.revoked", "api_key.rotated",
    "auth.repeated_failures",
    "configuration.changed",
    "consent.recorded", "consent.withdrawn",
    "couple.registered",
    "cycle.closed", "cycle.opened",
    "enrollment.complete", "enrollment.duplicate_suspected", "enrollment.rejected", "enrollment.retry",
    "export.created",
    "override.recorded",
    "patient.deleted", "patient.pseudonym_assigned", "patient.registered", "patient.updated",
    "retention.purged",
    "staff.created", "staff.login", "staff.login_failed", "staff.logout", "staff.updated",
    "verification.completed",
)


def system_actor(workstation: str) -> dict[str, str | None]:
    """The actor of events the daemon causes itself (start-up, integrity checks, retention purges)."""
    return {"staff_id": None, "role": "system", "workstation": workstation}


def record(
    db: Session,
    actor: Principal | dict[str, str | None],
    event_type: str,
    *,
    subject: dict[str, str | None] | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append one event to the ledger (same transaction as ``db``); returns its ledger index."""
    from idverify.ledger.append import append

    payload = dict(data or {})
    if isinstance(actor, Principal):
        for key, value in actor.attribution().items():
            payload.setdefault(key, value)
        actor_ids = actor.actor
    else:
        actor_ids = actor
    event = {
        "type": event_type,
        "occurred_at": format_time(utcnow()),
        "actor": actor_ids,
        "subject": {k: v for k, v in (subject or {}).items() if v is not None},
        "data": payload,
    }
    entry = append(db, event)
    return int(entry.index)
