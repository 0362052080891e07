"""Signed webhooks for integrations (Standard Webhooks scheme), delivered from a transactional outbox.

A check result (``verification.completed``) or an override (``verification.overridden``) is written to
``webhook_deliveries`` in the same transaction as the record it announces, so nothing is announced without being
stored, nor stored without being announced. A background dispatcher POSTs due deliveries with the Standard
Webhooks headers::

    webhook-id: msg_<uuid>    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>

Claim, commit, then send: :func:`deliver_due` claims a batch in one short write transaction (status ``sending``
with a lease; on PostgreSQL ``FOR UPDATE SKIP LOCKED``, on SQLite the claim runs under the write lock), commits,
POSTs with no transaction open, and settles each delivery in its own short transaction. A slow or hanging receiver
therefore never holds the database, several daemons never send one delivery twice, and a delivery claimed by a
daemon that died is claimed again when its lease runs out (at least once, never lost). Failures are retried on
:func:`retry_delay`'s schedule — 1, 2, 4 … minutes, at most 12 h apart, :data:`MAX_ATTEMPTS` attempts over about
29 hours — then the delivery is ``failed`` and an IT administrator can redeliver it (:func:`redeliver`).
Secrets are ``whsec_<base64>``, shown once at creation and stored encrypted. Payloads carry ids, decisions and
scores — never names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from idverify.errors import ConflictError, ErrorCode, NotFoundError
from idverify.periodic import PeriodicJob
from idverify.store.base import Base, new_id, utcnow
from idverify.store.db import read_session
from idverify.store.keys import Keys
from idverify.store.types import UTCDateTime

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 12
RETRY_FIRST = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=12)
SEND_LEASE = timedelta(minutes=5)  # longer than a batch of POSTs can take (BATCH × the client's 5 s timeout)
BATCH = 20
EVENT_TYPES = ("verification.completed", "verification.overridden")
OUTCOMES = ("delivered", "retrying", "failed", "cancelled")


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


def enqueue(db: Session, event_type: str, data: dict[str, Any]) -> int:
    """Queue ``event_type`` for every active endpoint that subscribed to it, in the caller's transaction."""
    endpoints = db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).all()
    count = 0
    for endpoint in endpoints:
        if event_type not in endpoint.events:
            continue
        payload = {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}
        db.add(WebhookDelivery(id=f"msg_{new_id().replace('-', '')}", endpoint_id=endpoint.id,
                               event_type=event_type, payload=payload))
        count += 1
    return count


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 min doubling to at most 12 h (a receiver down for a
    night or a weekend day still gets every event once it is back)."""
    return min(RETRY_CAP, RETRY_FIRST * (1 << min(20, max(0, attempts - 1))))


@dataclass(frozen=True)
class _Claimed:
    id: str
    url: str
    secret: str
    body: bytes
    attempts: int


def _claim(session_factory: sessionmaker[Session], keys: Keys, limit: int,
           on_outcome: Callable[[str], None]) -> list[_Claimed]:
    now = utcnow()
    with session_factory() as db:
        query = (select(WebhookDelivery)
                 .where(WebhookDelivery.status.in_(("pending", "sending")), WebhookDelivery.next_attempt_at <= now)
                 .order_by(WebhookDelivery.next_attempt_at).limit(limit))
        if db.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed: list[_Claimed] = []
        for delivery in db.scalars(query).all():
            endpoint = db.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is None or not endpoint.active:
                delivery.status = "cancelled"
                on_outcome("cancelled")
                continue
            delivery.status, delivery.next_attempt_at = "sending", now + SEND_LEASE
            delivery.attempts += 1
            claimed.append(_Claimed(
                id=delivery.id, url=endpoint.url, attempts=delivery.attempts,
                secret=keys.ring.decrypt(endpoint.secret, f"webhook:{endpoint.id}").decode(),
                body=json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()))
        db.commit()
    return claimed


def _send(client: httpx.Client, claimed: _Claimed) -> int | None:
    """The receiver's status, or None when it could not be reached (or did not answer in time)."""
    ts = int(time.time())
    headers = {"content-type": "application/json", "webhook-id": claimed.id, "webhook-timestamp": str(ts),
               "webhook-signature": sign(claimed.secret, claimed.id, ts, claimed.body)}
    try:
        return client.post(claimed.url, content=claimed.body, headers=headers).status_code
    except httpx.HTTPError as exc:
        log.warning("webhook_failed", delivery=claimed.id, error=type(exc).__name__)
        return None


def _settle(session_factory: sessionmaker[Session], claimed: _Claimed, status: int | None) -> str | None:
    with session_factory() as db:
        delivery = db.get(WebhookDelivery, claimed.id)
        if delivery is None or delivery.status != "sending" or delivery.attempts != claimed.attempts:
            return None  # its lease ran out and another round took it over: that round settles it
        delivery.last_status = status
        if status is not None and 200 <= status < 300:
            delivery.status, delivery.delivered_at = "delivered", utcnow()
        elif delivery.attempts >= MAX_ATTEMPTS:
            # A failed delivery is never due again: its next_attempt_at keeps when it gave up (the IT page's "last
            # failure"); a redelivery sets it anew.
            delivery.status, delivery.next_attempt_at = "failed", utcnow()
        else:
            delivery.status, delivery.next_attempt_at = "pending", utcnow() + retry_delay(delivery.attempts)
        db.commit()
        return "retrying" if delivery.status == "pending" else delivery.status


def deliver_due(session_factory: sessionmaker[Session], keys: Keys, *, client: httpx.Client, limit: int = BATCH,
                on_outcome: Callable[[str], None] | None = None) -> int:
    """Claim up to ``limit`` due deliveries, send them with no transaction open, settle each; returns how many were
    attempted. Runs in a worker thread. ``on_outcome`` hears each result (one of :data:`OUTCOMES`)."""
    hear = on_outcome or (lambda _outcome: None)
    claimed = _claim(session_factory, keys, limit, hear)
    for item in claimed:
        outcome = _settle(session_factory, item, _send(client, item))
        if outcome is not None:
            hear(outcome)
    return len(claimed)


def list_deliveries(db: Session, *, status: str | None, limit: int) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return list(db.scalars(query))


def counts_by_status(db: Session) -> dict[str, int]:
    rows = db.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
    return {status: count for status, count in rows}


@dataclass(frozen=True)
class OutboxHealth:
    """The outbox as the IT page needs it: what is failing, and since when.

    ``retrying``: pending deliveries whose last attempt failed; ``failed``: deliveries that gave up, to endpoints
    still active (a disabled endpoint's are no longer anyone's concern); ``last_failure_at``: the newest failed
    attempt of either, recovered exactly from the schedule (a retrying delivery failed ``retry_delay(attempts)``
    before it is due again; a failed one keeps the time it gave up)."""

    pending: int
    retrying: int
    failed: int
    delivered: int
    last_failure_at: datetime | None

    @property
    def status(self) -> str:
        return "degraded" if self.retrying or self.failed else "ok"


def outbox_health(db: Session) -> OutboxHealth:
    active = select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))
    counts = counts_by_status(db)
    retrying_rows = db.execute(
        select(WebhookDelivery.attempts, WebhookDelivery.next_attempt_at)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.attempts > 0)
    ).all()
    failed = db.scalar(select(func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.status == "failed", WebhookDelivery.endpoint_id.in_(active))) or 0
    last_failed = db.scalar(select(func.max(WebhookDelivery.next_attempt_at)).where(
        WebhookDelivery.status == "failed", WebhookDelivery.endpoint_id.in_(active)))
    times = [due - retry_delay(attempts) for attempts, due in retrying_rows]
    if last_failed is not None:
        times.append(last_failed)
    return OutboxHealth(pending=counts.get("pending", 0) - len(retrying_rows), retrying=len(retrying_rows),
                        failed=failed, delivered=counts.get("delivered", 0),
                        last_failure_at=max(times) if times else None)


def redeliver(db: Session, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again from the first attempt of the schedule (a failed one, or a delivered one the
    receiver lost); the same ``webhook-id``, so a receiver that keeps ids drops a duplicate."""
    delivery = db.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFoundError("no such webhook delivery")
    if delivery.status == "sending":
        raise ConflictError("this delivery is being sent now", code=ErrorCode.DELIVERY_IN_PROGRESS)
    endpoint = db.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise ConflictError("the endpoint of this delivery is disabled", code=ErrorCode.ENDPOINT_DISABLED)
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
    db.flush()
    return delivery


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter("idverify_webhook_deliveries", "Webhook delivery attempts by outcome "
                                  "(retrying: failed, will be retried; failed: gave up)", ["outcome"],
                                  registry=registry)
        for outcome in OUTCOMES:
            self.deliveries.labels(outcome=outcome)
        self.backlog = Gauge("idverify_webhook_backlog", "Webhook deliveries not yet delivered, by status",
                             ["status"], registry=registry)


class WebhookDispatcher(PeriodicJob):
    """Background subsystem polling the outbox; counts outcomes and the backlog into ``/metrics``."""

    name = "webhooks"

    def __init__(self, session_factory: sessionmaker[Session], keys: Keys, interval_s: float = 2.0,
                 registry: CollectorRegistry | None = None) -> None:
        super().__init__(interval_s)
        self._factory = session_factory
        self._keys = keys
        self._client = httpx.Client(timeout=5.0, follow_redirects=False)
        self._metrics = _Metrics(registry) if registry is not None else None

    def run_once(self) -> int:
        metrics = self._metrics
        if metrics is None:
            return deliver_due(self._factory, self._keys, client=self._client)
        attempted = deliver_due(self._factory, self._keys, client=self._client,
                                on_outcome=lambda outcome: metrics.deliveries.labels(outcome=outcome).inc())
        with read_session(self._factory) as db:
            counts = counts_by_status(db)
        for status in ("pending", "sending", "failed"):
            metrics.backlog.labels(status=status).set(counts.get(status, 0))
        return attempted

    async def stop(self) -> None:
        await super().stop()
        self._client.close()

    def health(self) -> list[dict[str, Any]]:
        """Computed from the outbox, not from whether the loop ran: a dispatcher that runs fine while every
        delivery is refused is ``degraded``, with the counts and the time of the last failure. The loop's own
        failure (the database does not answer) is ``error``."""
        component: dict[str, Any] = {"kind": "webhooks", "name": "webhook outbox"}
        if self.last_error:
            return [component | {"status": "error", "detail": self.last_error, "detail_code": "job_failed"}]
        try:
            with read_session(self._factory) as db:
                outbox = outbox_health(db)
        except SQLAlchemyError as exc:
            return [component | {"status": "error", "detail": type(exc).__name__, "detail_code": "job_failed"}]
        detail_code = "failing" if outbox.failed else "retrying" if outbox.retrying else "delivering"
        detail = (f"{outbox.failed} failed, {outbox.retrying} retrying" if outbox.status != "ok"
                  else "all deliveries succeeded or are queued")
        return [component | {
            "status": outbox.status, "detail": detail, "detail_code": detail_code, "failed": outbox.failed,
            "retrying": outbox.retrying, "pending": outbox.pending, "delivered": outbox.delivered,
            "last_failure_at": outbox.last_failure_at.isoformat() if outbox.last_failure_at else None,
        }]
