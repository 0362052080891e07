"""Webhook endpoints through the admin API, on SQLite and PostgreSQL: listed, disabled (the row stays, inactive),
an unknown id is a 404 in the envelope, and every change is audited."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from idverify.ledger.models import LedgerEntry


def test_list_and_disable_webhooks(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf}
    assert admin.get("/api/v1/webhooks").json() == []
    created = admin.post("/api/v1/webhooks", json={"url": "https://his.example/hook"}, headers=h)
    assert created.status_code == 201, created.text
    endpoint = created.json()["endpoint"]
    listed = admin.get("/api/v1/webhooks").json()
    assert [(e["id"], e["active"]) for e in listed] == [(endpoint["id"], True)]

    gone = admin.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=h)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert [(e["id"], e["active"]) for e in admin.get("/api/v1/webhooks").json()] == [(endpoint["id"], False)]
    missing = admin.delete("/api/v1/webhooks/no-such-endpoint", headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    nurse, _ = daemon.login("nurse1")
    assert nurse.get("/api/v1/webhooks").status_code == 403
    with daemon.app.state.ctx.session_factory() as db:
        events = [json.loads(c)["event"]["data"] for c in db.scalars(
            select(LedgerEntry.canonical).where(LedgerEntry.event_type == "configuration.changed")
            .order_by(LedgerEntry.index))]
    assert [e.get("added") or e.get("disabled") for e in events] == [endpoint["id"], endpoint["id"]]
