"""The regional inspector's API: roles, clinics table, alert drill-down with verifiable proofs, status changes,
monthly statistics and exports (CSV with BOM, FHIR R5 bundle, PDF) — each export recorded in the hub ledger."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.auditevent import AuditEvent
from fhir.resources.bundle import Bundle
from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent
from fhir.resources.R4B.bundle import Bundle as R4Bundle
from sqlalchemy import select

from idverify.hub.models import HubAction
from idverify.ledger.checkpoint import open_checkpoint
from idverify.ledger.cosignature import verify_cosignatures
from idverify.ledger.merkle import leaf_hash, verify_inclusion
from idverify.store.region import create_region_key

from .clinicsim import SimClinic, now

PASSWORD = "correct-horse-battery"


def _user(hub: Any, username: str, role: str) -> Any:
    from idverify.hub.users import create_user

    with hub.session() as s:
        create_user(s, username=username, display_name=username.title(), role=role, password=PASSWORD)
        s.commit()
    client = hub.client()
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    client.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
    return client


@pytest.fixture
def seeded(make_hub: Any, hub_db_url: str, tmp_path: Path) -> tuple[Any, SimClinic, SimClinic]:
    hub = make_hub(hub_db_url)
    region = create_region_key(tmp_path / "region.key")
    a, b = SimClinic(hub, "北京甲医院生殖中心", region), SimClinic(hub, "Clinic B", region)
    t = now() - timedelta(days=3)
    fa, ma = a.patient("11010119900307457X", t), a.patient("110101198805061234", t)
    ca = a.open_cycle(a.couple(fa, ma, t), t)
    a.check(fa, ca, "egg_retrieval", "accept", t)
    fb, mb = b.patient("11010119900307457X", t), b.patient("110101198805061234", t)  # the same couple at B
    b.open_cycle(b.couple(fb, mb, t), t)
    a.sync()
    b.sync()
    return hub, a, b


def test_roles_and_the_clinics_table(seeded: Any) -> None:
    hub, a, _b = seeded
    anonymous = hub.client()
    assert anonymous.get("/api/v1/clinics").status_code == 401
    admin = _user(hub, "admin1", "hub_admin")
    inspector = _user(hub, "insp1", "regional_inspector")
    assert admin.get("/api/v1/alerts").status_code == 403  # the administrator reads no alerts
    assert inspector.post("/api/v1/clinics", json={"name": "x", "verifier_key": "y" * 20}).status_code == 403
    rows = {c["name"]: c for c in admin.get("/api/v1/clinics").json()["items"]}
    assert rows["北京甲医院生殖中心"]["cosigned_size"] == len(a.log.leaves) == rows["北京甲医院生殖中心"]["feed_size"]
    assert rows["Clinic B"]["integrity"] == "consistent" and rows["Clinic B"]["backlog"] == 0
    # without the CSRF token a change is refused
    bare = hub.client()
    bare.cookies = admin.cookies
    assert bare.post("/api/v1/users", json={"username": "x1", "role": "hub_admin",
                                             "password": "0123456789"}).status_code == 403
    made = admin.post("/api/v1/users", json={"username": "insp2", "role": "regional_inspector",
                                              "password": "0123456789ab"})
    assert made.status_code == 201
    wrong = hub.client().post("/api/v1/auth/login", json={"username": "insp2", "password": "nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_credentials")


def test_alert_drill_down_proof_status_and_exports(seeded: Any) -> None:
    hub, a, b = seeded
    inspector = _user(hub, "insp", "regional_inspector")
    listing = inspector.get("/api/v1/alerts", params={"status": "open"}).json()
    assert [x["kind"] for x in listing["items"]] == ["open_cycles_two_clinics"]
    alert_id = listing["items"][0]["id"]
    detail = inspector.get(f"/api/v1/alerts/{alert_id}").json()
    evidence = [e for e in detail["evidence"] if e["type"] == "entry"]
    assert {e["clinic_name"] for e in evidence} == {"北京甲医院生殖中心", "Clinic B"}
    assert all(e["event_type"] == "cycle.opened" for e in evidence)

    # the proof of each piece of evidence checks offline: clinic signature, witness cosignature, audit path
    for item in evidence:
        proof = inspector.get(item["proof_path"]).json()
        clinic = a if item["clinic_id"] == a.clinic_id else b
        assert proof["entry"]["event"]["type"] == "cycle.opened"
        leaf = leaf_hash(json.dumps(proof["entry"], ensure_ascii=False, separators=(",", ":"), sort_keys=True)
                         .encode())
        assert base64.b64encode(leaf).decode() == proof["leaf_hash"]
        note = proof["proof"]["checkpoint"]
        signed = open_checkpoint(note, clinic.log.signer.public_key)
        assert verify_cosignatures(note, [hub.ctx.witness.key])
        verify_inclusion(proof["index"], signed.tree_size, leaf,
                         [base64.b64decode(h) for h in proof["proof"]["hashes"]], signed.root_hash)
    assert inspector.get(f"/api/v1/clinics/{a.clinic_id}/entries/99999").status_code == 404

    no_note = inspector.post(f"/api/v1/alerts/{alert_id}/status", json={"status": "closed"})
    assert (no_note.status_code, no_note.json()["error"]["code"]) == (422, "note_required")
    assert inspector.post(f"/api/v1/alerts/{alert_id}/status", json={"status": "acknowledged"}).json()[
        "status"] == "acknowledged"
    closed = inspector.post(f"/api/v1/alerts/{alert_id}/status",
                            json={"status": "closed", "note": "both clinics visited"}).json()
    assert closed["status"] == "closed" and closed["note"] == "both clinics visited"

    csv_text = inspector.get("/api/v1/exports/alerts", params={"format": "csv"}).content.decode("utf-8")
    assert csv_text.startswith("\ufeffid,kind,status") and "open_cycles_two_clinics" in csv_text
    bundle = inspector.get("/api/v1/exports/alerts", params={"format": "fhir"}).json()
    assert bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["resourceType"] == "AuditEvent"
    alert_event = bundle["entry"][0]["resource"]
    assert len(alert_event["entity"]) == 2  # one alert for the couple's two open cycles
    assert alert_event["category"][0]["coding"][0]["code"] == "110113"  # DICOM Security Alert (issue 16.13)
    assert [c["code"] for c in alert_event["code"]["coding"]] == ["110113", "open_cycles_two_clinics"]
    assert isinstance(Bundle.model_validate(bundle).entry[0].resource, AuditEvent)  # type: ignore[index]
    r4 = inspector.get("/api/v1/exports/alerts", params={"format": "fhir", "fhir_version": "r4"})
    assert r4.headers["content-type"] == "application/fhir+json; fhirVersion=4.0"
    r4_event = R4Bundle.model_validate_json(r4.content).entry[0].resource  # type: ignore[index]
    assert isinstance(r4_event, R4AuditEvent) and r4_event.type.code == "110113"
    assert [c.code for c in r4_event.subtype or []] == ["open_cycles_two_clinics"]
    assert inspector.get("/api/v1/exports/alerts", params={"format": "fhir", "fhir_version": "r3"}
                         ).status_code == 422

    stats = inspector.get("/api/v1/stats/monthly").json()
    by_name = {c["name"]: c for c in stats["clinics"]}
    assert by_name["北京甲医院生殖中心"]["checks"] in (0, 1)  # the check's month may be the previous one
    assert stats["region"]["clinics"] == 2
    month = (now() - timedelta(days=3)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    figures = inspector.get("/api/v1/stats/monthly", params={"month": month}).json()
    assert sum(c["checks"] for c in figures["clinics"]) == figures["region"]["checks"] == 1
    monthly_csv = inspector.get("/api/v1/exports/monthly", params={"month": month, "format": "csv"})
    assert monthly_csv.content.decode("utf-8").startswith("\ufeffclinic_id") and "北京甲医院" in monthly_csv.text
    pdf = inspector.get("/api/v1/exports/monthly", params={"month": month, "format": "pdf"})
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    assert b"/FontFile2" in pdf.content and b"/BaseFont /Helvetica" not in pdf.content  # the CJK font travels
    _assert_pdf_language(pdf.content, "zh-CN", month, list(by_name))  # Chinese unless asked otherwise
    english = inspector.get("/api/v1/exports/monthly", params={"month": month, "format": "pdf", "lang": "en"})
    _assert_pdf_language(english.content, "en", month, list(by_name))
    assert inspector.get("/api/v1/exports/monthly", params={"month": month, "format": "pdf", "lang": "fr"}
                         ).status_code == 422
    assert inspector.get("/api/v1/stats/monthly", params={"month": "2026-13"}).status_code == 422
    with hub.session() as s:
        kinds = [a.kind for a in s.scalars(select(HubAction).order_by(HubAction.id))]
    assert kinds.count("export.created") == 6 and "alert.closed" in kinds and "alert.acknowledged" in kinds


def _assert_pdf_language(pdf: bytes, locale: str, month: str, clinic_names: list[str]) -> None:
    """The PDF's text (poppler's pdftotext) is the catalogue's in ``locale``: title, headings, region row, footer;
    a Chinese report holds no English word besides the data (clinic names as registered, the witness's name)."""
    import re
    import shutil
    import subprocess

    from idverify.hub.web.i18n import HubTranslator

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: text of the PDF not checked")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    words = " ".join(text.decode("utf-8").split())
    t = HubTranslator(locale)
    for expected in (t("pdf.title", month=month), t("stats.region", clinics=2), t("pdf.page", page=1)):
        assert "".join(expected.split()) in "".join(words.split()), (expected, words[:400])  # CJK: spacing varies
    for heading in (t("stats.checks"), t("stats.override_rate")):  # a narrow column wraps a heading's words
        assert all(word in words for word in heading.split()), (heading, words[:400])
    if locale == "zh-CN":
        for name in clinic_names:
            words = words.replace(name, "")
        assert not re.findall(r"[A-Za-z]{4,}", re.sub(r"idverify-hub/[0-9a-f]+", "", words)), words
