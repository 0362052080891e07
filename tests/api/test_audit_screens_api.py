"""The inspector's new audit routes (issue 17.10), on SQLite and PostgreSQL: the event types the filter offers, and
a stage check's ledger proof — pending before a checkpoint covers it, then an inclusion proof that the ledger's own
verifier accepts against the signed root, and ``missing`` for a check no entry records."""

from __future__ import annotations

import base64
from typing import Any

from idverify.audit import EVENT_TYPES, record, system_actor
from idverify.ledger.merkle import verify_inclusion
from idverify.store.base import utcnow
from idverify.store.models import Verification


def test_event_types_offers_known_and_stored_types(seeded: Any) -> None:
    with seeded.daemon.app.state.ctx.session_factory() as db:
        record(db, system_actor("ws-a"), "legacy.thing_happened")  # a type an older version recorded
        db.commit()
    client, _ = seeded.daemon.login("inspector")
    resp = client.get("/api/v1/audit/event-types")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(EVENT_TYPES) <= set(body["types"]) and "legacy.thing_happened" in body["types"]
    assert body["types"] == sorted(body["types"])
    assert {"verification", "enrollment", "legacy", "staff"} <= set(body["groups"])
    for who in ("nurse1", "admin"):
        other, _ = seeded.daemon.login(who)
        assert other.get("/api/v1/audit/event-types").status_code == 403


def test_verification_proof_pending_then_included(seeded: Any) -> None:
    client, csrf = seeded.daemon.login("inspector")
    vid = next(iter(seeded.verifications.values()))
    pending = client.get(f"/api/v1/audit/verifications/{vid}/proof")
    assert pending.status_code == 200, pending.text
    body = pending.json()
    assert body["status"] == "pending" and body["index"] is not None and body["hashes"] == []
    made = client.post("/api/v1/audit/checkpoints", headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    included = client.get(f"/api/v1/audit/verifications/{vid}/proof").json()
    assert included["status"] == "included" and included["verified"] is True
    assert included["tree_size"] == made.json()["tree_size"] == included["checkpoint"]["tree_size"]
    assert included["root_hash"] == made.json()["root_hash"]
    event = client.get("/api/v1/audit/events?type=verification.completed&limit=500").json()["items"]
    (entry,) = [e for e in event if e["data"]["verification_id"] == vid]
    assert entry["index"] == included["index"] and entry["leaf_hash"] == included["leaf_hash"]
    verify_inclusion(included["index"], included["tree_size"], base64.b64decode(included["leaf_hash"]),
                     [base64.b64decode(h) for h in included["hashes"]], base64.b64decode(included["root_hash"]))


def test_verification_proof_missing_and_refusals(seeded: Any) -> None:
    with seeded.daemon.app.state.ctx.session_factory() as db:
        v = Verification(cycle_id=seeded.cycle_id, patient_id=seeded.patients["female"], stage="egg_retrieval",
                         decision="accept", reasons=[], factors={}, policy={}, devices={}, workstation_id="ws-a",
                         started_at=utcnow(), decided_at=utcnow())
        db.add(v)
        db.commit()
        unrecorded = v.id
    client, _ = seeded.daemon.login("inspector")
    missing = client.get(f"/api/v1/audit/verifications/{unrecorded}/proof")
    assert missing.status_code == 200 and missing.json()["status"] == "missing"
    assert missing.json()["index"] is None and missing.json()["checkpoint"] is None
    unknown = client.get("/api/v1/audit/verifications/no-such-check/proof")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    too_long = client.get("/api/v1/audit/verifications/" + "x" * 65 + "/proof")
    assert too_long.status_code == 422
    nurse, _ = seeded.daemon.login("nurse1")
    assert nurse.get(f"/api/v1/audit/verifications/{unrecorded}/proof").status_code == 403
