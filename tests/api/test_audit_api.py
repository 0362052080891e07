"""The audit REST API as an inspector uses it: filtered, paged events; signed checkpoints; proofs checked with
the ledger's own verifier functions; the stored tree re-verified (and a tampered row found); exports that parse
and verify; role refusals and 4xx for bad parameters."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from idverify.biometrics.reasons import render
from idverify.i18n import Translator, catalogue
from idverify.ledger.checkpoint import CheckpointSigner, open_checkpoint
from idverify.ledger.export import CSV_COLUMNS
from idverify.ledger.merkle import verify_consistency, verify_inclusion
from idverify.ledger.models import LedgerEntry
from idverify.ledger.verify import verify_export

from ..reports import seeding

NAMES = [p["name"] for p in (seeding.ZHANG, seeding.LI, seeding.WANG)]
NUMBERS = [p["document_number"] for p in (seeding.ZHANG, seeding.LI, seeding.WANG)]


def _b(text_: str) -> bytes:
    return base64.b64decode(text_)


def _ledger_size(seeded: Any) -> int:
    with seeded.daemon.app.state.ctx.session_factory() as db:
        return int(db.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


def _inspector(seeded: Any) -> tuple[Any, dict[str, str]]:
    client, csrf = seeded.daemon.login("inspector")
    return client, {"X-CSRF-Token": csrf}


def _walk(client: Any, query: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        url = f"/api/v1/audit/events?limit={limit}{query}" + (f"&after={after}" if after is not None else "")
        resp = client.get(url)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        after = page["next_after"]
        if after is None:
            return items
    raise AssertionError("paging did not end")


def test_events_filters_and_paging(seeded: Any) -> None:
    client, _ = _inspector(seeded)
    size = _ledger_size(seeded)
    everything = _walk(client, "", limit=4)
    assert [e["index"] for e in everything] == list(range(size - 1, -1, -1))  # newest first, no gap, no repeat
    checks, n2 = seeding.CHECKS, seeded.staff["nurse2"]

    def count(query: str) -> int:
        return len(_walk(client, query, limit=2))

    egg = sum(c.stage == "egg_retrieval" for c in checks)
    egg_overrides = sum(c.stage == "egg_retrieval" and c.override is not None for c in checks)
    assert count("&stage=egg_retrieval") == egg + egg_overrides
    assert count("&stage=egg_retrieval&decision=reject") == sum(
        c.stage == "egg_retrieval" and c.decision == "reject" for c in checks)
    assert count("&type=verification.completed&decision=accept") == sum(c.decision == "accept" for c in checks)
    assert count("&type=enrollment.*") == len(seeding.ENROLMENTS)
    assert count("&type=enrollment.duplicate_suspected") == 1
    assert count(f"&staff_id={n2}") == (sum(c.staff == "nurse2" for c in checks)
                                        + sum(who == "nurse2" for _, who, _ in seeding.ENROLMENTS))
    male = seeded.patients["male"]
    by_patient = _walk(client, f"&patient_id={male}", limit=50)
    assert {e["subject"]["patient_id"] for e in by_patient} == {male}
    assert len(by_patient) == (1 + sum(c.stage == "sperm_retrieval" for c in checks)
                               + sum(k == "male" for _, _, k in seeding.ENROLMENTS))
    one = client.get("/api/v1/audit/events?type=override.recorded").json()["items"]
    assert len(one) == 1 and one[0]["data"]["reason_code"] == "worn_fingerprints"
    assert one[0]["data"]["verification_id"] == seeded.verifications["c4"]
    # time window on the ledger's recording time
    today = datetime.now(UTC).date()
    assert count(f"&from={today.isoformat()}") == size
    assert count(f"&from={(today + timedelta(days=2)).isoformat()}") == 0
    assert count(f"&to={(today - timedelta(days=2)).isoformat()}") == 0
    # ids only
    body = client.get("/api/v1/audit/events?limit=500").text
    assert not any(x in body for x in NAMES + NUMBERS)


def test_checkpoints_proofs_and_integrity(seeded: Any) -> None:
    client, h = _inspector(seeded)
    public_key = CheckpointSigner.from_file(seeded.daemon.settings.resolved_signing_key_file).public_key
    missing = client.get("/api/v1/audit/checkpoints/latest")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_checkpoint"
    first = client.post("/api/v1/audit/checkpoints", headers=h)
    assert first.status_code == 201, first.text
    cp1 = first.json()
    assert cp1["tree_size"] == _ledger_size(seeded)
    signed = open_checkpoint(cp1["note"], public_key)  # the ledger's own signature check
    assert signed.tree_size == cp1["tree_size"] and signed.root_hash == _b(cp1["root_hash"])
    # more activity, then a second checkpoint
    nurse, csrf = seeded.daemon.login("nurse2")
    more = {"document_type": "cn_resident_id", "document_number": "440101199512121223", "name": "赵六", "sex": "F"}
    assert nurse.post("/api/v1/patients", json=more, headers={"X-CSRF-Token": csrf}).status_code == 201
    cp2 = client.post("/api/v1/audit/checkpoints", headers=h).json()
    assert cp2["tree_size"] == _ledger_size(seeded) > cp1["tree_size"]  # a login and a registration later
    assert client.get("/api/v1/audit/checkpoints/latest").json()["id"] == cp2["id"]
    listed = client.get("/api/v1/audit/checkpoints").json()
    assert listed["total"] == 2 and [c["id"] for c in listed["items"]] == [cp2["id"], cp1["id"]]

    leaves = {e["index"]: e["leaf_hash"] for e in client.get("/api/v1/audit/events?limit=500").json()["items"]}
    for index in (0, cp1["tree_size"] // 2, cp1["tree_size"] - 1):
        resp = client.get(f"/api/v1/audit/proofs/inclusion?index={index}&tree_size={cp1['tree_size']}")
        assert resp.status_code == 200, resp.text
        proof = resp.json()
        assert proof["leaf_hash"] == leaves[index] and proof["checkpoint"]["id"] == cp1["id"]
        verify_inclusion(index, cp1["tree_size"], _b(leaves[index]), [_b(x) for x in proof["hashes"]],
                         _b(cp1["root_hash"]))
    # default tree size: the latest checkpoint's
    latest_proof = client.get("/api/v1/audit/proofs/inclusion?index=3").json()
    assert latest_proof["tree_size"] == cp2["tree_size"]
    verify_inclusion(3, cp2["tree_size"], _b(leaves[3]), [_b(x) for x in latest_proof["hashes"]],
                     _b(cp2["root_hash"]))
    resp = client.get(f"/api/v1/audit/proofs/consistency?old_size={cp1['tree_size']}&new_size={cp2['tree_size']}")
    assert resp.status_code == 200, resp.text
    cons = resp.json()
    assert cons["old_checkpoint"]["id"] == cp1["id"] and cons["new_checkpoint"]["id"] == cp2["id"]
    verify_consistency(cp1["tree_size"], cp2["tree_size"], _b(cp1["root_hash"]), _b(cp2["root_hash"]),
                       [_b(x) for x in cons["hashes"]])
    size = cp2["tree_size"]
    for url, status in ((f"inclusion?index={size}&tree_size={size}", 404),
                        (f"inclusion?index=0&tree_size={size + 5}", 404),
                        (f"consistency?old_size={size + 1}&new_size={size}", 422), ("inclusion?index=-1", 422),
                        ("inclusion?index=abc", 422), ("inclusion", 422), (f"consistency?old_size={2**63}", 422)):
        bad = client.get(f"/api/v1/audit/proofs/{url}")
        assert bad.status_code == status, (url, bad.text)
        assert set(bad.json()["error"]) == {"code", "message", "message_key", "details"}

    # the stored tree re-verified: intact, then a rewritten row is found
    report = client.get("/api/v1/audit/integrity").json()
    assert report["ok"] is True and report["tree_size"] == _ledger_size(seeded) and report["problems"] == []
    assert report["checkpoints_checked"] == 2
    admin, _ = seeded.daemon.login("admin")
    assert admin.get("/api/v1/audit/integrity").json()["ok"] is True
    # Someone with database access bypasses the append-only triggers and rewrites one decision.
    engine = seeded.daemon.app.state.ctx.engine
    with engine.begin() as conn:
        target = conn.execute(text("SELECT idx, canonical FROM ledger_entries WHERE event_type = "
                                   "'verification.completed' ORDER BY idx LIMIT 1")).one()
        forged = target[1].replace('"decision":"accept"', '"decision":"reject"')
        assert forged != target[1]
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_update"))
        else:
            conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE ledger_entries SET canonical = :c WHERE idx = :i"), {"c": forged, "i": target[0]})
    tampered = client.get("/api/v1/audit/integrity").json()
    assert tampered["ok"] is False and tampered["first_bad_index"] == target[0]


def _export(client: Any, query: str) -> Any:
    resp = client.get(f"/api/v1/audit/export?{query}")
    assert resp.status_code == 200, resp.text
    return resp


def test_exports_parse_and_verify(seeded: Any, tmp_path: Path) -> None:
    from fhir.resources.auditevent import AuditEvent
    from fhir.resources.bundle import Bundle

    client, _ = _inspector(seeded)
    public_key = CheckpointSigner.from_file(seeded.daemon.settings.resolved_signing_key_file).public_key
    size_before = _ledger_size(seeded)

    resp = _export(client, "format=jsonl")
    assert resp.headers["content-type"].startswith("application/jsonl")
    path = tmp_path / "audit.jsonl"
    path.write_bytes(resp.content)
    result = verify_export(path, public_key)  # the offline verifier, with the clinic's key
    assert result.entries == size_before + 1 == result.tree_size  # the export covers its own export.created event
    last = json.loads(resp.text.splitlines()[-2])["entry"]["event"]
    assert last["type"] == "export.created" and last["actor"]["role"] == "inspector"
    assert last["data"]["format"] == "jsonl"

    today = datetime.now(UTC).date().isoformat()
    windowed = tmp_path / "today.jsonl"
    windowed.write_bytes(_export(client, f"format=jsonl&from={today}&to={today}").content)
    assert verify_export(windowed, public_key).entries == size_before + 2

    fhir = _export(client, "format=fhir&stage=egg_retrieval")
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(fhir.content)
    egg = [c for c in seeding.CHECKS if c.stage == "egg_retrieval"]
    entries = bundle.entry or []
    assert bundle.type == "collection" and len(entries) == len(egg) + sum(c.override is not None for c in egg)
    assert int(fhir.headers["x-export-entries"]) == len(entries)
    events = [e.resource for e in entries if isinstance(e.resource, AuditEvent)]
    assert len(events) == len(entries)  # every entry is an AuditEvent
    assert {e.patient.reference if e.patient else None for e in events} == {f"Patient/{seeded.patients['female']}"}
    assert not any(x in fhir.text for x in NAMES + NUMBERS)

    table = _export(client, "format=csv")
    assert table.content.startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) - 1 == int(table.headers["x-export-entries"]) == size_before + 4
    assert [r[3] for r in rows[1:]].count("export.created") == 4

    nurse1 = seeded.staff["nurse1"]
    filtered = _export(client, f"format=csv&type=verification.completed&decision=reject&staff_id={nurse1}")
    rows = list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"))))[1:]
    expected = [c for c in seeding.CHECKS if c.decision == "reject" and c.staff == "nurse1"]
    assert len(rows) == len(expected) and {json.loads(r[10])["verification_id"] for r in rows} == {
        seeded.verifications[c.key] for c in expected}
    # the label column says each check's decision and reasons in the reader's language (zh-CN unless lang says)
    zh = catalogue("zh-CN")
    by_id = {json.loads(r[10])["verification_id"]: r[12] for r in rows}
    for c in expected:
        label = by_id[seeded.verifications[c.key]]
        assert zh["decision.reject"] in label and all(render(Translator("zh-CN"), r) in label for r in c.reasons)
        assert not re.search(r"[A-Za-z]{4,}", label), label
    english = _export(client, f"format=csv&type=verification.completed&decision=reject&staff_id={nurse1}&lang=en")
    labels = [r[12] for r in list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))[1:]]
    named = catalogue("en")["inspector.event_type.verification.completed"]  # the event type's name comes first
    assert sorted(labels) == sorted(f"{named}; Reject; " + "; ".join(render(Translator("en"), r) for r in c.reasons)
                                    for c in expected), labels

    # refused requests record nothing
    for query, code in (("format=jsonl&stage=egg_retrieval", "filter_not_verifiable"),
                        ("format=xml", "validation_error"), ("format=csv&from=yesterday", "bad_date")):
        bad = client.get(f"/api/v1/audit/export?{query}")
        assert bad.status_code == 422 and bad.json()["error"]["code"] == code, (query, bad.text)
    exports = client.get("/api/v1/audit/events?type=export.created").json()["items"]
    assert [e["data"]["format"] for e in exports] == ["csv", "csv", "csv", "fhir", "jsonl", "jsonl"]
    assert exports[3]["data"]["filters"] == {"stage": "egg_retrieval"}


def test_audit_refused_to_nurse_and_it_admin_and_bad_parameters_are_4xx(make_app: Any) -> None:
    daemon = make_app()
    for user in ("nurse1", "admin"):
        _refused(daemon, user)
    client, _ = daemon.login("inspector")
    for query, code in (("from=2026-13-01", "bad_date"), ("from=2026-11-03&to=2026-11-01", "bad_date_range"),
                        ("limit=0", "validation_error"), ("limit=100000", "validation_error"),
                        ("after=-1", "validation_error"), ("decision=maybe", "validation_error")):
        resp = client.get(f"/api/v1/audit/events?{query}")
        assert resp.status_code == 422, (query, resp.text)
        assert resp.json()["error"]["code"] == code
    # nothing was exported
    with daemon.app.state.ctx.session_factory() as db:
        assert db.scalar(select(func.count()).select_from(LedgerEntry)
                         .where(LedgerEntry.event_type == "export.created")) == 0


def _refused(daemon: Any, user: str) -> None:
    client, csrf = daemon.login(user)
    for path in ("/api/v1/audit/events", "/api/v1/audit/checkpoints", "/api/v1/audit/checkpoints/latest",
                 "/api/v1/audit/proofs/inclusion?index=0", "/api/v1/audit/proofs/consistency?old_size=0",
                 "/api/v1/audit/export?format=jsonl", "/api/v1/audit/export?format=csv"):
        resp = client.get(path)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden", path
    assert client.post("/api/v1/audit/checkpoints", headers={"X-CSRF-Token": csrf}).status_code == 403
    integrity = client.get("/api/v1/audit/integrity")
    assert integrity.status_code == (200 if user == "admin" else 403)
    assert daemon.client().get("/api/v1/audit/events").status_code == 401
