"""The shape of an audit event and the exact bytes a ledger leaf commits to.

An event is opaque to the ledger beyond a small envelope (``type``, ``occurred_at``, ``actor``, ``subject``,
``data``); this module checks the envelope and nothing else. The leaf document wraps the event with what the
ledger assigns — its ``index`` and ``recorded_at`` — so that reordering, inserting, removing or back-dating an
entry changes its leaf hash. Bytes are RFC 8785 (JCS) canonical JSON: the same event always hashes the same,
whichever language or JSON library an inspector uses to re-check it.

No database and no biometrics here; :mod:`idverify.ledger.verify` uses it offline.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import rfc8785

from idverify.errors import ValidationFailed

LEAF_VERSION = 1
SUBJECT_KEYS = frozenset({"patient_id", "couple_id", "cycle_id"})
ACTOR_KEYS = frozenset({"staff_id", "role", "workstation"})
EVENT_KEYS = frozenset({"type", "occurred_at", "actor", "subject", "data"})
MAX_TYPE_LEN = 64
MAX_ID_LEN = 64


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``: fixed width, so text order is time order."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries an offset; naive times are refused (ambiguous in an audit)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no UTC offset")
    return parsed.astimezone(UTC)


def _check_ids(name: str, value: Any, allowed: frozenset[str], *, required: frozenset[str] = frozenset()) -> None:
    if not isinstance(value, dict):
        raise ValidationFailed(f"audit event {name} must be an object")
    unknown = set(value) - allowed
    if unknown:
        raise ValidationFailed(f"audit event {name} has unknown keys: {', '.join(sorted(unknown))}")
    for key in required - set(value):
        raise ValidationFailed(f"audit event {name}.{key} is required")
    for key, item in value.items():
        if item is not None and (not isinstance(item, str) or not item or len(item) > MAX_ID_LEN):
            raise ValidationFailed(f"audit event {name}.{key} must be a non-empty string id or null")


def _check_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationFailed("audit event data contains NaN or infinity")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationFailed("audit event data keys must be strings")
            _check_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_finite(item)


def normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    """Check the envelope and return the event as it will be stored (``subject``/``data`` defaulted).

    Raises :class:`ValidationFailed` naming the offending field (never its value: it may be personal data).
    """
    if not isinstance(event, dict):
        raise ValidationFailed("audit event must be an object")
    unknown = set(event) - EVENT_KEYS
    if unknown:
        raise ValidationFailed(f"audit event has unknown keys: {', '.join(sorted(unknown))}")
    etype = event.get("type")
    if not isinstance(etype, str) or not etype or len(etype) > MAX_TYPE_LEN:
        raise ValidationFailed(f"audit event type must be a string of 1..{MAX_TYPE_LEN} characters")
    occurred = event.get("occurred_at")
    if not isinstance(occurred, str):
        raise ValidationFailed("audit event occurred_at must be an RFC 3339 string")
    try:
        parse_time(occurred)
    except ValueError:
        raise ValidationFailed("audit event occurred_at must be RFC 3339 with a UTC offset") from None
    actor = event.get("actor")
    _check_ids("actor", actor, ACTOR_KEYS)
    subject = event.get("subject") or {}
    _check_ids("subject", subject, SUBJECT_KEYS)
    data = event.get("data")
    if data is None:
        data = {}
    _check_finite(data)
    return {"type": etype, "occurred_at": occurred, "actor": actor, "subject": subject, "data": data}


def leaf_document(index: int, recorded_at: str, event: dict[str, Any]) -> dict[str, Any]:
    """What a leaf commits to: version, position, ledger time and the event."""
    return {"v": LEAF_VERSION, "index": index, "recorded_at": recorded_at, "event": event}


def canonical_bytes(document: Any) -> bytes:
    """RFC 8785 canonical JSON. Integers beyond ±2^53 and non-finite floats are refused (not portable)."""
    try:
        return bytes(rfc8785.dumps(document))
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise ValidationFailed(f"audit event cannot be canonicalised: {type(exc).__name__}") from None
