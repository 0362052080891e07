"""Authenticating a clinic's signed request (the feed): which clinic sent it, that it is fresh and not a replay.

The clinic signs :func:`idverify.ledger.witness_protocol.request_message` with its ledger key — the key whose
verifier key the commission registered, so no second credential needs distributing or rotating. The hub checks,
in order: the origin is a registered, active clinic; the timestamp is within ``IDVERIFY_HUB_REQUEST_SKEW_S`` of
the hub's clock; the Ed25519 signature over method, path, origin, time, nonce and body hash verifies; and (for
requests that change something) the nonce was not seen from this clinic within the window. Every failure is a
401 that names the check but never echoes the request.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idverify.errors import AuthenticationError, ConflictError, ErrorCode
from idverify.hub import repository as repo
from idverify.hub.models import HubClinic, HubNonce
from idverify.ledger.witness_protocol import (
    NONCE_HEADER,
    ORIGIN_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    request_message,
)


def authenticate(session: Session, *, method: str, path: str, headers: Mapping[str, str], body: bytes,
                 skew_s: int, remember_nonce: bool) -> HubClinic:
    origin = headers.get(ORIGIN_HEADER, "")
    nonce = headers.get(NONCE_HEADER, "")
    if not origin or not 16 <= len(nonce) <= 64 or not nonce.isascii():
        raise AuthenticationError("a signed request needs the origin, timestamp, nonce and signature headers",
                                  code=ErrorCode.UNSIGNED_REQUEST)
    try:
        timestamp = int(headers.get(TIMESTAMP_HEADER, ""))
        signature = base64.b64decode(headers.get(SIGNATURE_HEADER, ""), validate=True)
    except (ValueError, binascii.Error):
        raise AuthenticationError("the timestamp or signature header is malformed",
                                  code=ErrorCode.UNSIGNED_REQUEST) from None
    if abs(time.time() - timestamp) > skew_s:
        raise AuthenticationError(f"the request's time is more than {skew_s} s from the hub's clock",
                                  code=ErrorCode.CLOCK_SKEW)
    clinic = repo.clinic_by_origin(session, origin)
    if clinic is None or clinic.status != "active":
        raise AuthenticationError("unknown or suspended clinic origin", code=ErrorCode.BAD_SIGNATURE)
    try:
        Ed25519PublicKey.from_public_bytes(bytes(clinic.public_key)).verify(
            signature, request_message(method, path, origin, timestamp, nonce, body))
    except InvalidSignature:
        raise AuthenticationError("the request signature does not verify with the clinic's key",
                                  code=ErrorCode.BAD_SIGNATURE) from None
    if remember_nonce:
        expires = datetime.fromtimestamp(timestamp, UTC) + timedelta(seconds=skew_s)
        try:
            with session.begin_nested():
                session.execute(insert(HubNonce).values(clinic_id=clinic.id, nonce=nonce, expires_at=expires))
        except IntegrityError:
            raise ConflictError("this signed request was already received (replay)", code=ErrorCode.REPLAYED) from None
    return clinic


def purge_nonces(session: Session, *, skew_s: int) -> int:
    """Forget nonces whose request time is out of the window anyway (they would fail the clock check)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=skew_s)
    result = session.execute(delete(HubNonce).where(HubNonce.expires_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
