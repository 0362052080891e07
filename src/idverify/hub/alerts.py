"""Alerts: raising them once (by a dedupe key) with links to the evidence, and their status workflow.

Status: ``open`` → ``acknowledged`` → ``closed``, or ``open`` → ``closed``; closing needs a note. A closed alert
stays closed: if the situation recurs, the rule raises a new alert with a new dedupe key. Every raise and every
status change is a hub action (:mod:`idverify.hub.audit`), so the alert history is in the hub's ledger.

The rules that decide *when* to raise live in :mod:`idverify.hub.rules` (pure) and are applied by the feed
(:mod:`idverify.hub.projection`) and the periodic sweep (:mod:`idverify.hub.sweep`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from idverify.errors import ConflictError, ErrorCode, NotFoundError, ValidationFailed
from idverify.hub import alert_repository as repo
from idverify.hub import audit
from idverify.hub.models import HubAlert
from idverify.store.base import utcnow

KINDS = (
    "checkpoint_refused",      # the witness refused a validly signed checkpoint: rewrite or fork
    "open_cycles_two_clinics",  # one person in open cycles at two clinics
    "egg_retrievals",          # more egg retrievals for one person in 12 months than the limit
    "female_partner_couples",  # one person the female partner of different couples within 12 months
    "override_rate",           # a clinic's or staff member's monthly override rate far above the region's
    "reject_rate",             # … reject rate
    "clinic_silent",           # no cosigned checkpoint for longer than the configured interval
    "pseudonym_mismatch",      # a clinic's regional pseudonyms never match anyone's (misconfigured key)
)
STATUSES = ("open", "acknowledged", "closed")
_TRANSITIONS = {("open", "acknowledged"), ("open", "closed"), ("acknowledged", "closed")}
MAX_NOTE = 2000


@dataclass(frozen=True)
class AlertSpec:
    """An alert a rule wants raised (see :func:`raise_alert` for the fields)."""

    kind: str
    key: str
    clinic_id: str | None
    summary: dict[str, Any]
    evidence: list[dict[str, Any]]


def _new(spec: AlertSpec) -> HubAlert:
    if spec.kind not in KINDS:
        raise ValueError(f"unknown alert kind {spec.kind!r}")
    now = utcnow()
    key = spec.key
    if len(key) > 150:  # long keys (many cycles) are hashed, never truncated into a collision
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return HubAlert(kind=spec.kind, dedupe_key=f"{spec.kind}:{key}", status="open", clinic_id=spec.clinic_id,
                    summary=spec.summary, evidence=spec.evidence, created_at=now, updated_at=now)


def raise_alerts(session: Session, specs: list[AlertSpec]) -> list[HubAlert]:
    """Raise each alert whose dedupe key is new, in a few statements whatever their number (the periodic sweep
    can raise hundreds at once: a region where matching never worked); returns the new alerts."""
    raised = repo.insert_all_once(session, [_new(spec) for spec in specs])
    for alert in raised:
        audit.record(session, "alert.raised", {"alert_id": alert.id, "kind": alert.kind, "clinic_id": alert.clinic_id})
    return raised


def raise_alert(
    session: Session,
    kind: str,
    *,
    key: str,
    clinic_id: str | None,
    summary: dict[str, Any],
    evidence: list[dict[str, Any]],
) -> HubAlert | None:
    """Raise an alert unless one with the same dedupe key exists; returns the new alert or None."""
    alert = repo.insert_once(session, _new(AlertSpec(kind, key, clinic_id, summary, evidence)))
    if alert is not None:
        audit.record(session, "alert.raised", {"alert_id": alert.id, "kind": kind, "clinic_id": clinic_id})
    return alert


def change_status(session: Session, alert_id: int, status: str, *, note: str | None, user_id: str,
                  role: str) -> HubAlert:
    alert = repo.get(session, alert_id)
    if alert is None:
        raise NotFoundError("no such alert")
    if status not in STATUSES:
        raise ValidationFailed("status must be acknowledged or closed")
    if (alert.status, status) not in _TRANSITIONS:
        raise ConflictError(f"an alert that is {alert.status} cannot become {status}", code=ErrorCode.ALERT_STATUS)
    note = (note or "").strip() or None
    if status == "closed" and not note:
        raise ValidationFailed("closing an alert needs a note saying what was found", code=ErrorCode.NOTE_REQUIRED)
    if note is not None and len(note) > MAX_NOTE:
        raise ValidationFailed(f"the note is limited to {MAX_NOTE} characters")
    alert.status = status
    alert.updated_at = utcnow()
    alert.updated_by = user_id
    if note is not None:
        alert.note = note
    session.flush()
    audit.record(session, f"alert.{status}", {"alert_id": alert.id, "kind": alert.kind, "has_note": bool(note)},
                 actor=user_id, role=role)
    return alert
