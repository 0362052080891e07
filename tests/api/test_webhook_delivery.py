"""Webhook delivery under faults, on SQLite and PostgreSQL: a receiver that hangs holds no database lock (a
registration goes through meanwhile), two daemons delivering at once never send one delivery twice, failures are
retried over about a day then given up, an IT administrator can redeliver (audited), and outcomes and the backlog
are in ``/metrics``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from idverify.ledger.models import LedgerEntry
from idverify.store.base import utcnow
from idverify.webhooks import (
    MAX_ATTEMPTS,
    RETRY_CAP,
    WebhookDelivery,
    WebhookDispatcher,
    deliver_due,
    enqueue,
    retry_delay,
)

PATIENT = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "测试女",
           "sex": "F", "birth_date": "1990-03-07"}


class Receiver:
    """A local HTTP receiver: records each webhook-id, answers ``status``; ``hold`` makes it hang until released."""

    def __init__(self, status: int = 204, delay_s: float = 0.0) -> None:
        self.status, self.delay_s = status, delay_s
        self.ids: list[str] = []
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                receiver.ids.append(self.headers["webhook-id"])
                receiver.arrived.set()
                receiver.hold.wait(30)
                time.sleep(receiver.delay_s)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _endpoint(daemon: Any, url: str) -> None:
    admin, csrf = daemon.login("admin")
    assert admin.post("/api/v1/webhooks", json={"url": url}, headers={"X-CSRF-Token": csrf}).status_code == 201


def _enqueue(daemon: Any, n: int) -> None:
    with daemon.app.state.ctx.session_factory() as db:
        for i in range(n):
            assert enqueue(db, "verification.completed", {"id": f"v{i}", "decision": "accept"}) == 1
        db.commit()


def _deliveries(daemon: Any) -> list[WebhookDelivery]:
    with daemon.app.state.ctx.session_factory() as db:
        return list(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def test_a_hanging_receiver_holds_no_lock(db_url: str, make_app: Any, receiver: Receiver) -> None:
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    _endpoint(daemon, receiver.url)
    _enqueue(daemon, 2)
    receiver.hold.clear()  # the receiver accepts the POST and then hangs
    with httpx.Client(timeout=20) as client:
        sender = threading.Thread(target=deliver_due, args=(ctx.session_factory, ctx.keys), kwargs={"client": client})
        sender.start()
        assert receiver.arrived.wait(10)
        nurse, csrf = daemon.login("nurse1")  # a write (the web session) while the POST hangs
        registered = nurse.post("/api/v1/patients", json=PATIENT, headers={"X-CSRF-Token": csrf})
        assert registered.status_code == 201, registered.text
        assert [d.status for d in _deliveries(daemon)] == ["sending", "sending"]  # claimed, committed
        receiver.hold.set()
        sender.join(30)
    assert not sender.is_alive()
    assert [(d.status, d.attempts, d.last_status) for d in _deliveries(daemon)] == [("delivered", 1, 204)] * 2


def test_two_deliverers_never_send_one_twice(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    slow = Receiver(delay_s=0.05)
    try:
        _endpoint(daemon, slow.url)
        _enqueue(daemon, 12)
        start = threading.Barrier(2)

        def deliver() -> None:
            with httpx.Client(timeout=10) as client:
                start.wait()
                while deliver_due(ctx.session_factory, ctx.keys, client=client, limit=3):
                    pass

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        slow.close()
    assert sorted(slow.ids) == sorted(set(slow.ids)) and len(slow.ids) == 12
    assert {d.status for d in _deliveries(daemon)} == {"delivered"}


def test_retry_schedule_spans_about_a_day() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays[0] == timedelta(minutes=1) and delays[1] == timedelta(minutes=2)
    assert max(delays) == RETRY_CAP == timedelta(hours=12)
    assert timedelta(hours=20) <= sum(delays, timedelta()) <= timedelta(hours=36)


def test_failures_retry_then_give_up_and_redeliver(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    broken = Receiver(status=500)
    try:
        _endpoint(daemon, broken.url)
        _enqueue(daemon, 1)
        dispatcher = ctx.subsystem("webhooks")  # the daemon's own, counting into its /metrics
        assert isinstance(dispatcher, WebhookDispatcher)
        before = utcnow()
        assert dispatcher.run_once() == 1
        (delivery,) = _deliveries(daemon)
        assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
        wait = delivery.next_attempt_at - before
        assert timedelta(seconds=55) <= wait <= timedelta(seconds=70)  # a minute, not 2 s
        assert dispatcher.run_once() == 0  # not due yet
        with ctx.session_factory() as db:  # the last attempt of the schedule is due now
            row = db.get(WebhookDelivery, delivery.id)
            assert row is not None
            row.attempts, row.next_attempt_at = MAX_ATTEMPTS - 1, utcnow()
            db.commit()
        assert dispatcher.run_once() == 1
        (delivery,) = _deliveries(daemon)
        assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
        metrics = daemon.client().get("/metrics").text
        assert 'idverify_webhook_deliveries_total{outcome="retrying"} 1.0' in metrics
        assert 'idverify_webhook_deliveries_total{outcome="failed"} 1.0' in metrics
        assert 'idverify_webhook_backlog{status="failed"} 1.0' in metrics

        admin, csrf = daemon.login("admin")
        listed = admin.get("/api/v1/webhooks/deliveries", params={"status": "failed"}).json()
        assert listed["counts"] == {"failed": 1}
        assert [(d["id"], d["last_status"], d["attempts"]) for d in listed["deliveries"]] == \
            [(delivery.id, 500, MAX_ATTEMPTS)]
        nurse, nurse_csrf = daemon.login("nurse1")
        assert nurse.post(f"/api/v1/webhooks/deliveries/{delivery.id}/redeliver",
                          headers={"X-CSRF-Token": nurse_csrf}).status_code == 403
        missing = admin.post("/api/v1/webhooks/deliveries/msg_nope/redeliver", headers={"X-CSRF-Token": csrf})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        again = admin.post(f"/api/v1/webhooks/deliveries/{delivery.id}/redeliver", headers={"X-CSRF-Token": csrf})
        assert again.status_code == 200, again.text
        assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
        broken.status = 200
        assert dispatcher.run_once() == 1
    finally:
        broken.close()
    assert [d.status for d in _deliveries(daemon)] == ["delivered"]
    assert broken.ids == [delivery.id] * (2 + 1)  # the same webhook-id each time: receivers can drop duplicates
    with ctx.session_factory() as db:
        changes = [json.loads(c)["event"]["data"] for c in db.scalars(
            select(LedgerEntry.canonical).where(LedgerEntry.event_type == "configuration.changed"))]
    assert [c["redelivered"] for c in changes if "redelivered" in c] == [delivery.id]
