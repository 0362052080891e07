"""Signed webhooks for integrations (Standard Webhooks scheme), delivered from a transactional outbox.

A check result is written to ``webhook_deliveries`` in the same transaction as the verification, so a result
is never announced without being stored, nor stored without being announced. A background dispatcher POSTs
pending deliveries with the Standard Webhooks headers::

    webhook-id: msg_<uuid>    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>

and retries failures with exponential backoff (up to :data:`MAX_ATTEMPTS`). Secrets are ``whsec_<base64>``,
shown once at creation and stored encrypted. Payloads carry ids, decisions and scores — never names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from idverify.errors import NotFoundError
from idverify.periodic import PeriodicJob
from idverify.store.base import Base, new_id, utcnow
from idverify.store.keys import Keys
from idverify.store.types import UTCDateTime

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 8
EVENT_TYPES = ("verification.completed",)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(512), nullable=False)
    secret: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # encrypted envelope
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # msg_<uuid>
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance_s: int = 300) -> bool:
    """What a receiver does (used by the tests and documented for integrators)."""
    msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not ts.isdigit() or abs(time.time() - int(ts)) > tolerance_s:
        return False
    expected = sign(secret, msg_id, int(ts), body).split(",", 1)[1]
    return any(hmac.compare_digest(expected, s.split(",", 1)[1])
               for s in headers.get("webhook-signature", "").split() if s.startswith("v1,"))


def create_endpoint(db: Session, keys: Keys, *, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
    secret = new_secret()
    endpoint_id = new_id()
    endpoint = WebhookEndpoint(id=endpoint_id, url=url, events=events,
                               secret=keys.ring.encrypt(secret.encode(), f"webhook:{endpoint_id}"))
    db.add(endpoint)
    db.flush()
    return endpoint, secret


def list_endpoints(db: Session) -> list[WebhookEndpoint]:
    return list(db.scalars(select(WebhookEndpoint)))


def disable_endpoint(db: Session, endpoint_id: str) -> WebhookEndpoint:
    """Stop delivering to an endpoint (the row stays: deliveries refer to it)."""
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFoundError("no such webhook endpoint")
    endpoint.active = False
    return endpoint


def enqueue_check_result(db: Session, verification: dict[str, Any]) -> int:
    endpoints = db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).all()
    count = 0
    for endpoint in endpoints:
        if "verification.completed" not in endpoint.events:
            continue
        payload = {"type": "verification.completed", "timestamp": utcnow().isoformat(), "data": verification}
        db.add(WebhookDelivery(id=f"msg_{new_id().replace('-', '')}", endpoint_id=endpoint.id,
                               event_type="verification.completed", payload=payload))
        count += 1
    return count


def deliver_due(session_factory: sessionmaker[Session], keys: Keys, *, client: httpx.Client, limit: int = 20) -> int:
    """Try every due delivery once; returns how many were attempted. Runs in a worker thread."""
    attempted = 0
    with session_factory() as db:
        due = db.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                                       WebhookDelivery.next_attempt_at <= utcnow())
                         .order_by(WebhookDelivery.created_at).limit(limit)).all()
        for delivery in due:
            endpoint = db.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is None or not endpoint.active:
                delivery.status = "cancelled"
                continue
            secret = keys.ring.decrypt(endpoint.secret, f"webhook:{endpoint.id}").decode()
            body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
            ts = int(time.time())
            headers = {"content-type": "application/json", "webhook-id": delivery.id,
                       "webhook-timestamp": str(ts), "webhook-signature": sign(secret, delivery.id, ts, body)}
            delivery.attempts += 1
            attempted += 1
            try:
                resp = client.post(endpoint.url, content=body, headers=headers)
                delivery.last_status = resp.status_code
                ok = 200 <= resp.status_code < 300
            except httpx.HTTPError as exc:
                log.warning("webhook_failed", delivery=delivery.id, error=type(exc).__name__)
                ok = False
            if ok:
                delivery.status, delivery.delivered_at = "delivered", utcnow()
            elif delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = utcnow() + timedelta(seconds=min(3600, 2 ** delivery.attempts))
        db.commit()
    return attempted


class WebhookDispatcher(PeriodicJob):
    """Background subsystem polling the outbox."""

    name = "webhooks"

    def __init__(self, session_factory: sessionmaker[Session], keys: Keys, interval_s: float = 2.0) -> None:
        super().__init__(interval_s)
        self._factory = session_factory
        self._keys = keys
        self._client = httpx.Client(timeout=5.0, follow_redirects=False)

    def run_once(self) -> int:
        return deliver_due(self._factory, self._keys, client=self._client)

    async def stop(self) -> None:
        await super().stop()
        self._client.close()
