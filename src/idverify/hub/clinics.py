"""The clinic registry: which logs the witness trusts, under which key, and their state for the clinics table.

A clinic is registered by the commission with the verifier key the clinic prints (``idverify audit public-key``);
the log's origin is the key's name (``idverify/<hex>``), so one key names one log. Registration is a hub action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from idverify.errors import ConflictError, ErrorCode, ValidationFailed
from idverify.hub import audit
from idverify.hub import repository as repo
from idverify.hub.models import HubClinic
from idverify.ledger.canonical import format_time
from idverify.ledger.checkpoint import CheckpointError, parse_verifier_key, verifier_key
from idverify.ledger.merkle import EMPTY_ROOT
from idverify.store.base import utcnow


def add_clinic(session: Session, *, name: str, verifier: str, actor: str | None = None,
               role: str = "hub_admin") -> HubClinic:
    """Register a clinic log (caller commits). Raises on a malformed key or an origin already registered."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("a clinic name has 1 to 200 characters")
    try:
        origin, public_key = parse_verifier_key(verifier)
    except CheckpointError as exc:
        raise ValidationFailed(f"--verifier-key: {exc}") from None
    if len(origin) > 255:
        raise ValidationFailed("the verifier key's name (the log origin) is too long")
    if repo.clinic_by_origin(session, origin) is not None:
        raise ConflictError(f"a clinic with origin {origin} is already registered", code=ErrorCode.ORIGIN_REGISTERED)
    clinic = HubClinic(
        name=name, origin=origin, public_key=public_key, verifier_key=verifier_key(origin, public_key),
        status="active", created_at=utcnow(), witness_size=0, witness_root=EMPTY_ROOT, feed_size=0,
        feed_frontier=b"",
    )
    repo.add_clinic(session, clinic)
    audit.record(session, "clinic.registered", {"clinic_id": clinic.id, "origin": origin}, actor=actor, role=role)
    return clinic


@dataclass(frozen=True)
class ClinicView:
    """One row of the clinics table (no personal data: a log's sizes, times and counts)."""

    clinic: HubClinic
    open_alerts: int
    refusals: int

    def as_dict(self) -> dict[str, Any]:
        c = self.clinic
        return {
            "clinic_id": c.id,
            "name": c.name,
            "origin": c.origin,
            "status": c.status,
            "registered_at": format_time(c.created_at),
            "cosigned_size": int(c.witness_size),
            "cosigned_at": _time(c.witness_at),
            "feed_size": int(c.feed_size),
            "feed_at": _time(c.feed_at),
            "backlog": max(int(c.witness_size) - int(c.feed_size), 0),
            "refusals": self.refusals,
            "open_alerts": self.open_alerts,
            "integrity": "refused_checkpoints" if self.refusals_alerting else "consistent",
        }

    @property
    def refusals_alerting(self) -> bool:
        return self.open_alerts > 0 and self.refusals > 0


def _time(value: datetime | None) -> str | None:
    return format_time(value) if value is not None else None
