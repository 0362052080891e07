"""What the IT page reads must be true (issue 17.9): the ledger's sizes are read live, not a cached 0; webhook
health comes from the outbox (failing deliveries degrade it, with counts and the last failure's time); a device
test answers for the device it names only — the PC/SC reader's test never passes by reading the GA 467 card."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from idverify.audit import record, system_actor
from idverify.store.base import utcnow
from idverify.webhooks import MAX_ATTEMPTS, WebhookDelivery, WebhookDispatcher, enqueue

from .test_webhook_delivery import Receiver, _deliveries, _endpoint


def _component(client: Any, kind: str) -> dict[str, Any]:
    body = client.get("/healthz").json()
    (component,) = [c for c in body["components"] if c.get("kind") == kind]
    return dict(component)


def test_ledger_health_reads_the_sizes_live(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    client = daemon.client()
    before = _component(client, "ledger")
    assert before["tree_size"] == 0 and before["checkpoint_size"] is None and before["detail_code"] == "pending"
    with daemon.app.state.ctx.session_factory() as db:
        for _ in range(3):
            record(db, system_actor("ws-a"), "retention.purged", data={"purged": 0})
        db.commit()
    live = _component(client, "ledger")
    assert live["tree_size"] == 3  # no scheduler tick ran: the count is read now
    scheduler = daemon.app.state.ctx.subsystem("ledger")
    assert scheduler.checkpoint_now() == 3
    signed = _component(client, "ledger")
    assert signed["checkpoint_size"] == 3 and signed["checkpoint_at"]
    scheduler.check_now()
    checked = _component(client, "ledger")
    assert checked["detail_code"] == "intact" and checked["verified_size"] == 3 and checked["tree_size"] == 3
    assert None not in (checked["checked_at"], checked["full_check_at"])


def test_webhook_health_comes_from_the_outbox(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    client = daemon.client()
    assert _component(client, "webhooks")["status"] == "ok"
    broken = Receiver(status=500)
    try:
        _endpoint(daemon, broken.url)
        with ctx.session_factory() as db:
            for i in range(2):
                enqueue(db, "verification.completed", {"id": f"v{i}", "decision": "accept"})
            db.commit()
        dispatcher = ctx.subsystem("webhooks")
        assert isinstance(dispatcher, WebhookDispatcher)
        before = utcnow()
        assert dispatcher.run_once() == 2  # the loop itself ran fine…
        assert dispatcher.last_error is None
        hooks = _component(client, "webhooks")  # …but every delivery failed
        assert (hooks["status"], hooks["detail_code"], hooks["retrying"], hooks["failed"]) == \
            ("degraded", "retrying", 2, 0)
        failed_at = hooks["last_failure_at"]
        assert failed_at is not None
        from datetime import datetime

        assert before - timedelta(seconds=5) <= datetime.fromisoformat(failed_at) <= utcnow() + timedelta(seconds=5)
        assert client.get("/healthz").json()["status"] == "degraded"
        first = _deliveries(daemon)[0].id
        with ctx.session_factory() as db:  # one reaches the end of its schedule
            row = db.get(WebhookDelivery, first)
            assert row is not None
            row.attempts, row.next_attempt_at = MAX_ATTEMPTS - 1, utcnow()
            db.commit()
        assert dispatcher.run_once() == 1
        hooks = _component(client, "webhooks")
        assert (hooks["status"], hooks["detail_code"], hooks["failed"], hooks["retrying"]) == \
            ("degraded", "failing", 1, 1)
        broken.status = 204
        admin, csrf = daemon.login("admin")
        assert admin.post(f"/api/v1/webhooks/deliveries/{first}/redeliver",
                          headers={"X-CSRF-Token": csrf}).status_code == 200
        with ctx.session_factory() as db:
            for row in db.query(WebhookDelivery):
                row.next_attempt_at = utcnow()
            db.commit()
        assert dispatcher.run_once() == 2
        hooks = _component(client, "webhooks")
        assert (hooks["status"], hooks["failed"], hooks["retrying"], hooks["delivered"]) == ("ok", 0, 0, 2)
    finally:
        broken.close()


def test_card_reader_test_never_reads_the_ga467_card(make_app: Any) -> None:
    from hardware_fixtures.wiring import SimulationAssets

    daemon = make_app(simulate=True, pcsc_reader="No Such PC/SC Reader 99")
    daemon.app.state.ctx.devices.wiring.assets = SimulationAssets(emrtd=False)
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        login = client.post("/api/v1/auth/login", json={"username": "admin", "password": daemon.passwords["admin"]})
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        devices = {d["kind"]: d for d in client.get("/api/v1/devices").json()["devices"]}
        assert devices["card_reader"]["status"] == "unavailable"
        assert devices["card_reader"]["detail_code"] in {"pcsc_reader_missing", "pcsc_service_unavailable",
                                                         "pcsc_not_installed"}
        daemon.app.state.ctx.devices.simulators["people"].present("female")  # a GA 467 card is on its reader
        pcsc = client.post("/api/v1/devices/card_reader/test", headers=headers)
        assert pcsc.status_code == 503, pcsc.text
        assert pcsc.json()["error"]["code"] == "device_unavailable"
        assert "No Such PC/SC Reader 99" in pcsc.json()["error"]["message"]
        ga467 = client.post("/api/v1/devices/id_reader/test", headers=headers)
        assert ga467.status_code == 200 and ga467.json()["document_type"] == "cn_resident_id"
        assert client.post("/api/v1/devices/card_reader/test").status_code in (401, 403)  # no CSRF token
