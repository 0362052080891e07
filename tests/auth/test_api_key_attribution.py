"""An action done with an API key is the integration's, not the administrator's who issued the key: audit event
actor, event data and FHIR ``agent.who`` (issue 16.1). Entries written before keep verifying."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from idverify.ledger.fhir import to_fhir_audit_event
from idverify.ledger.integrity import verify_stored_tree
from idverify.ledger.models import LedgerEntry

PATIENT = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "接口患者",
           "sex": "F", "birth_date": "1990-03-07"}


def test_key_actions_name_the_integration_and_keep_the_issuer_apart(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    admin, csrf = daemon.login("admin")
    admin_id = admin.get("/api/v1/auth/me").json()["staff"]["id"]
    issued = admin.post("/api/v1/api-keys", json={"name": "HIS bridge", "role": "nurse"},
                        headers={"X-CSRF-Token": csrf}).json()
    key_id = issued["key"]["id"]
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    me = daemon.client().get("/api/v1/auth/me", headers=bearer).json()
    assert me["method"] == "api_key" and me["staff"] is None  # the key is nobody's login
    resp = daemon.client().post("/api/v1/patients", json=PATIENT, headers=bearer)
    assert resp.status_code == 201, resp.text

    with daemon.app.state.ctx.session_factory() as db:
        entry = db.scalar(select(LedgerEntry).where(LedgerEntry.event_type == "patient.registered"))
        assert entry is not None
        event = json.loads(entry.canonical)["event"]
        assert entry.actor_staff_id is None
        assert event["actor"] == {"staff_id": None, "role": "nurse", "workstation": "ws-a", "api_key_id": key_id}
        assert event["data"]["credential"] == f"api_key:{key_id}"
        assert event["data"]["integration"] == "HIS bridge"
        assert event["data"]["key_created_by"] == admin_id
        fhir = to_fhir_audit_event(entry)  # validated against fhir.resources' R5 AuditEvent inside
        (agent,) = fhir["agent"]
        assert agent["who"] == {"identifier": {"system": "urn:idverify:api-key", "value": key_id},
                                "display": "HIS bridge"}
        assert admin_id not in json.dumps(fhir["agent"])
        # the staff login and key issue before it (old actor shape) and this entry verify together
        report = verify_stored_tree(db)
        assert report.ok and report.tree_size >= 3, report.problems


def test_session_actions_still_name_the_nurse(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, csrf = daemon.login("nurse1")
    nurse_id = nurse.get("/api/v1/auth/me").json()["staff"]["id"]
    assert nurse.post("/api/v1/patients", json=PATIENT, headers={"X-CSRF-Token": csrf}).status_code == 201
    with daemon.app.state.ctx.session_factory() as db:
        entry = db.scalar(select(LedgerEntry).where(LedgerEntry.event_type == "patient.registered"))
        assert entry is not None and entry.actor_staff_id == nurse_id
        event = json.loads(entry.canonical)["event"]
        assert "api_key_id" not in event["actor"] and "key_created_by" not in event["data"]
        assert to_fhir_audit_event(entry)["agent"][0]["who"]["identifier"]["value"] == nurse_id
