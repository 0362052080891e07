"""The shape of an audit event and the exact bytes a ledger leaf commits to.

An event is opaque to the ledger beyond a small envelope (``type``, ``occurred_at``, ``actor``, ``subject``,
``data``); this module checks the envelope and nothing else. The leaf document wraps the event with what the
ledger assigns — its ``index`` and ``recorded_at`` — so that reordering, inserting, removing or back-dating an
entry changes its leaf hash. Bytes are RFC 8785 (JCS) canonical JSON: the same event always hashes the same,
whichever language or JSON library an inspector uses to re-check it.

No database and no biometrics here; :mod:`idverify.ledger.verify` uses it offline.
"""

from __future__ import annotations

import json
import math
import secrets
from datetime import UTC, datetime
from typing import Any

import rfc8785

from idverify.errors import ValidationFailed

LEAF_VERSION = 1
SUBJECT_KEYS = frozenset({"patient_id", "couple_id", "cycle_id"})
ACTOR_KEYS = frozenset({"staff_id", "role", "workstation", "api_key_id"})  # api_key_id: since issue 16.1
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
    return {"type": etype, "occurred_at": occurred, "actor": actor, "subject": subject, "data": data}


def leaf_document(index: int, recorded_at: str, event: dict[str, Any]) -> dict[str, Any]:
    """What a leaf commits to: version, position, ledger time and the event."""
    return {"v": LEAF_VERSION, "index": index, "recorded_at": recorded_at, "event": event}


def leaf_bytes(index: int, recorded_at: str, event_canonical: bytes) -> bytes:
    """``canonical_bytes(leaf_document(...))`` from the event's canonical bytes.

    JCS is compositional and the leaf's keys sort as event < index < recorded_at < v, so the event can be
    canonicalised (and validated) before the ledger lock is taken, leaving only this concatenation under it.
    ``recorded_at`` comes from :func:`format_time` (digits, ``-:.TZ``: nothing to escape).
    """
    return b"".join((
        b'{"event":', event_canonical, b',"index":', str(index).encode(), b',"recorded_at":"',
        recorded_at.encode(), b'","v":', str(LEAF_VERSION).encode(), b"}",
    ))


_MAX_SAFE_INT = 2**53 - 1
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode


class _NeedsReference(Exception):
    """The fast path cannot vouch for this document; use the reference implementation."""


def es6_number(value: float) -> str:
    """ECMAScript Number::toString of a finite double — the RFC 8785 number format.

    Python's ``repr`` already yields the shortest round-tripping digits; only their placement differs.
    """
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))
    mantissa, _, exp_text = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + (int(exp_text) if exp_text else 0)  # position of the decimal point in whole+frac
    point -= len(whole + frac) - len((whole + frac).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + out


def _prepare(value: Any, floats: list[float], nonce: str) -> Any:
    """Copy ``value`` with each float replaced by a placeholder string, checking what JCS forbids."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise ValidationFailed("audit event cannot be canonicalised: integer beyond ±2^53")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationFailed("audit event data contains NaN or infinity")
        floats.append(value)
        return f"{nonce}{len(floats) - 1}\x00"
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationFailed("audit event keys must be strings")
            if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                raise _NeedsReference  # UTF-16 key order differs from code point order only here
            out[key] = _prepare(item, floats, nonce)
        return out
    if isinstance(value, list | tuple):
        return [_prepare(item, floats, nonce) for item in value]
    raise ValidationFailed(f"audit event cannot be canonicalised: unsupported type {type(value).__name__}")


def canonical_bytes(document: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes. Integers beyond ±2^53 and non-finite floats are refused.

    Fast path: the C JSON encoder with sorted keys and minimal separators produces JCS for everything except
    numbers with a fraction or exponent (formatted here by :func:`es6_number`) and keys outside the BMP (handed
    to the ``rfc8785`` reference implementation). A property test checks the two agree.
    """
    floats: list[float] = []
    nonce = "\x00" + secrets.token_hex(8) + ":"
    try:
        prepared = _prepare(document, floats, nonce)
        text = _dumps(prepared)
    except _NeedsReference:
        return _reference(document)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValidationFailed(f"audit event cannot be canonicalised: {type(exc).__name__}") from None
    if floats:
        escaped = json.dumps(nonce, ensure_ascii=False)[1:-1]  # how the encoder wrote the placeholder prefix
        parts = text.split(f'"{escaped}')
        rebuilt = [parts[0]]
        for part in parts[1:]:
            number, _, rest = part.partition('\\u0000"')
            rebuilt.append(es6_number(floats[int(number)]) + rest)
        text = "".join(rebuilt)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: JCS refuses them too
        raise ValidationFailed("audit event cannot be canonicalised: invalid Unicode") from None


def _reference(document: Any) -> bytes:
    try:
        return bytes(rfc8785.dumps(document))
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise ValidationFailed(f"audit event cannot be canonicalised: {type(exc).__name__}") from None
