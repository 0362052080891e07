"""Patients, couples, cycles, consent and HIS import through the REST API — with their audit events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from idverify.ledger.models import LedgerEntry
from idverify.store.models import BiometricTemplate

ZHANG = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "张三丽",
         "sex": "F", "birth_date": "1990-03-07", "address": "北京市朝阳区"}
LI = {"document_type": "cn_resident_id", "document_number": "110101198805061235", "name": "李四", "sex": "M",
      "birth_date": "1988-05-06"}

HL7_A04 = (
    "MSH|^~\\&|HIS|CLINIC|IDV|CLINIC|20261123101500||ADT^A04^ADT_A01|MSG0001|P|2.5\r"
    "EVN|A04|20261123101500\r"
    "PID|1||MRN777^^^HIS^MR~320102199201011229^^^CHN^NNCHN||王^小红||19920101|F|||玄武区^^南京^^210000^CHN\r"
    "PV1|1|O\r"
)


def _events(daemon: Any) -> list[str]:
    with daemon.app.state.ctx.session_factory() as db:
        entries = db.scalars(select(LedgerEntry).order_by(LedgerEntry.index))
        return [e.event_type for e in entries if not e.event_type.startswith("staff.")]


def _nurse(daemon: Any) -> tuple[Any, dict[str, str]]:
    client, csrf = daemon.login("nurse1")
    return client, {"X-CSRF-Token": csrf}


def test_register_is_idempotent_and_identity_is_sealed(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    first = nurse.post("/api/v1/patients", json=ZHANG, headers=h)
    assert first.status_code == 201 and first.json()["created"] is True
    patient = first.json()["patient"]
    assert patient["identity"]["name"] == "张三丽"
    assert patient["identity"]["document_number"] == ZHANG["document_number"]
    again = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()
    assert again["created"] is False and again["patient"]["id"] == patient["id"]
    found = nurse.post("/api/v1/patients/lookup", json={"document_type": "cn_resident_id",
                                                        "document_number": ZHANG["document_number"]}, headers=h)
    assert found.json()["id"] == patient["id"]
    # inspectors see the record, not the identity
    inspector, _ = daemon.login("inspector")
    assert inspector.get(f"/api/v1/patients/{patient['id']}").json()["identity"] is None
    assert _events(daemon) == ["patient.registered"]


def test_identity_never_in_clear_in_sqlite_file(make_app: Any) -> None:
    daemon = make_app()
    nurse, h = _nurse(daemon)
    assert nurse.post("/api/v1/patients", json=ZHANG, headers=h).status_code == 201
    daemon.app.state.ctx.engine.dispose()
    raw = b"".join(p.read_bytes() for p in Path(daemon.settings.data_dir).glob("idverify.db*"))
    assert ZHANG["document_number"].encode() not in raw
    assert "张三丽".encode() not in raw and "北京市朝阳区".encode() not in raw


def test_couple_and_cycle_rules(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    f = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()["patient"]["id"]
    m = nurse.post("/api/v1/patients", json=LI, headers=h).json()["patient"]["id"]
    swapped = nurse.post("/api/v1/couples", json={"female_patient_id": m, "male_patient_id": f}, headers=h)
    assert swapped.status_code == 422 and swapped.json()["error"]["code"] == "sex_mismatch"
    couple = nurse.post("/api/v1/couples", json={"female_patient_id": f, "male_patient_id": m}, headers=h).json()
    cycle = nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "ivf"}, headers=h)
    assert cycle.status_code == 201
    assert cycle.json()["stages"] == ["sperm_retrieval", "egg_retrieval", "embryo_transfer"]
    dup = nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "fet"}, headers=h)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "cycle_open"
    listed = nurse.get("/api/v1/cycles?status=open").json()
    assert [c["id"] for c in listed["items"]] == [cycle.json()["id"]]
    closed = nurse.post(f"/api/v1/cycles/{cycle.json()['id']}/close", headers=h).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    # a woman alone can only have a donor-sperm cycle
    solo = nurse.post("/api/v1/couples", json={"female_patient_id": f}, headers=h).json()
    refused = nurse.post("/api/v1/cycles", json={"couple_id": solo["id"], "kind": "icsi"}, headers=h)
    assert refused.status_code == 422
    donor = nurse.post("/api/v1/cycles", json={"couple_id": solo["id"], "kind": "donor_sperm_ivf",
                                               "extra_stages": ["prenatal_registration"]}, headers=h)
    assert donor.json()["stages"] == ["egg_retrieval", "embryo_transfer", "prenatal_registration"]
    assert _events(daemon).count("cycle.opened") == 2 and "cycle.closed" in _events(daemon)


def test_inspector_and_admin_cannot_register(make_app: Any) -> None:
    daemon = make_app()
    for user in ("inspector", "admin"):
        client, csrf = daemon.login(user)
        resp = client.post("/api/v1/patients", json=ZHANG, headers={"X-CSRF-Token": csrf})
        assert resp.status_code == 403


def test_consent_refusal_and_withdrawal_delete_templates(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    pid = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()["patient"]["id"]
    ctx = daemon.app.state.ctx
    with ctx.session_factory() as db:
        for modality in ("face", "fingerprint"):
            db.add(BiometricTemplate(patient_id=pid, modality=modality, algorithm_version="t",
                                     envelope=ctx.keys.ring.encrypt(b"tpl", "template:x"), kek_id="k"))
        db.commit()
    resp = nurse.post(f"/api/v1/patients/{pid}/consent", headers=h,
                      json={"accepted": ["fingerprint", "document_photo"], "refused": ["face"]})
    assert resp.status_code == 201 and resp.json()["refused"] == ["face"]
    assert nurse.get(f"/api/v1/patients/{pid}").json()["enrolled"] == ["fingerprint"]
    bad = nurse.post(f"/api/v1/patients/{pid}/consent", headers=h, json={"accepted": ["face"], "refused": ["face"]})
    assert bad.status_code == 422
    withdrawn = nurse.post(f"/api/v1/patients/{pid}/consent/withdrawal", headers=h).json()
    assert withdrawn["biometric_records_removed"] == 1
    assert nurse.get(f"/api/v1/patients/{pid}").json()["enrolled"] == []
    assert nurse.get(f"/api/v1/patients/{pid}/consent").status_code == 404
    assert _events(daemon)[-2:] == ["consent.recorded", "consent.withdrawn"]


def test_hl7_and_fhir_import(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    resp = nurse.post("/api/v1/patients/import/hl7v2", json={"message": HL7_A04}, headers=h)
    assert resp.status_code == 201, resp.text
    body = resp.json()["patient"]
    assert body["external_id"] == "MRN777" and body["sex"] == "F" and body["source"] == "his_hl7v2"
    assert body["identity"]["name"] == "王小红" and body["identity"]["birth_date"] == "1992-01-01"
    a08 = HL7_A04.replace("ADT^A04", "ADT^A08").replace("玄武区", "鼓楼区")
    updated = nurse.post("/api/v1/patients/import/hl7v2", json={"message": a08}, headers=h).json()
    assert updated["created"] is False and "鼓楼区" in updated["patient"]["identity"]["address"]
    wrong = nurse.post("/api/v1/patients/import/hl7v2", json={"message": HL7_A04.replace("ADT^A04", "ORU^R01")},
                       headers=h)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "hl7_unsupported"
    garbage = nurse.post("/api/v1/patients/import/hl7v2", json={"message": "this is not hl7 at all"}, headers=h)
    assert garbage.status_code == 422
    fhir = {"resourceType": "Patient", "gender": "male", "birthDate": "1985-02-03",
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "320102198502031237"},
                           {"type": {"coding": [{"code": "MR"}]}, "value": "MRN888"}],
            "name": [{"family": "陈", "given": ["大文"]}]}
    resp = nurse.post("/api/v1/patients/import/fhir", json=fhir, headers=h)
    assert resp.status_code == 201, resp.text
    assert resp.json()["patient"]["identity"]["name"] == "陈大文" and resp.json()["patient"]["sex"] == "M"
    bad = nurse.post("/api/v1/patients/import/fhir", headers=h, json={**fhir, "gender": "robot"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "fhir_invalid"
    no_doc = nurse.post("/api/v1/patients/import/fhir", headers=h, json={**fhir, "identifier": []})
    assert no_doc.status_code == 422 and no_doc.json()["error"]["code"] == "fhir_no_document"
    wrong_type = nurse.post("/api/v1/patients/import/fhir", headers=h, json={"resourceType": "Observation"})
    assert wrong_type.status_code == 422


def test_deletion_really_deletes(make_app: Any) -> None:
    daemon = make_app()
    nurse, h = _nurse(daemon)
    pid = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()["patient"]["id"]
    ctx = daemon.app.state.ctx
    marker = b"MINUTIAE-MARKER-" * 8
    with ctx.session_factory() as db:
        # an unencrypted marker would be a bug elsewhere; here it proves the row's bytes leave the file
        db.add(BiometricTemplate(patient_id=pid, modality="fingerprint", algorithm_version="t", envelope=marker,
                                 kek_id="k"))
        db.commit()
    resp = nurse.post(f"/api/v1/patients/{pid}/deletion", json={"reason": "patient request"}, headers=h)
    assert resp.status_code == 200 and resp.json()["biometric_records_removed"] == 1
    assert nurse.get(f"/api/v1/patients/{pid}").status_code == 404
    again = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()
    assert again["created"] is True and again["patient"]["id"] != pid  # the document can be registered again
    ctx.engine.dispose()
    raw = b"".join(p.read_bytes() for p in Path(daemon.settings.data_dir).glob("idverify.db*"))
    assert marker not in raw
    assert "patient.deleted" in _events(daemon)


class _Reader:
    """This workstation's card reader, answering with one prepared card read."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def read_document_sync(self, _mrz: Any) -> Any:
        return self.document


def test_register_from_card_refuses_a_card_that_fails_its_checks(db_url: str, make_app: Any) -> None:
    """Enrolment's document step (issue 17.3): a card failing its check digits or chip signature is refused with
    the rule's reason code before anything is registered; a genuine card registers its holder (source "card")."""
    from idverify.documents.model import DocumentChecks, IdentityDocument
    from idverify.store.models import Patient

    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    card = IdentityDocument(document_type="cn_resident_id", document_number=ZHANG["document_number"], name="张三丽",
                            sex="F", source="reader", checks=DocumentChecks(checksum=False, expired=False))
    daemon.app.state.ctx.devices = _Reader(card)
    refused = nurse.post("/api/v1/patients/from-card", headers=h)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "document_checksum_failed"
    daemon.app.state.ctx.devices = _Reader(IdentityDocument(
        document_type="passport", document_number="E12345678", name="TEST", sex="F", source="chip",
        checks=DocumentChecks(checksum=True, expired=False, passive_auth="failed")))
    forged_chip = nurse.post("/api/v1/patients/from-card", headers=h)
    assert forged_chip.status_code == 422 and forged_chip.json()["error"]["code"] == "document_signature_invalid"
    with daemon.app.state.ctx.session_factory() as db:
        assert db.scalars(select(Patient)).all() == []
    assert _events(daemon) == []

    daemon.app.state.ctx.devices = _Reader(IdentityDocument(
        document_type="cn_resident_id", document_number=ZHANG["document_number"], name="张三丽", sex="F",
        source="reader", checks=DocumentChecks(checksum=True, expired=False)))
    registered = nurse.post("/api/v1/patients/from-card", headers=h)
    assert registered.status_code == 201 and registered.json()["created"] is True
    assert registered.json()["patient"]["identity"]["name"] == "张三丽"
    assert registered.json()["patient"]["source"] == "card"
    assert _events(daemon) == ["patient.registered"]


class _Camera:
    """Devices whose camera records being asked for frames; no card, no finger needed."""

    def __init__(self) -> None:
        self.filmed = 0

    def frame_mark(self) -> int:
        return 0

    def frames_since(self, _mark: int, _count: int, _wait: float) -> list[Any]:
        self.filmed += 1
        return []

    def read_document_sync(self, _mrz: Any) -> Any:
        from idverify.documents.model import DocumentChecks, IdentityDocument

        return IdentityDocument(document_type="cn_resident_id", document_number=ZHANG["document_number"],
                                source="reader", checks=DocumentChecks(checksum=True, expired=False))


def test_a_patient_who_refused_face_capture_is_not_filmed(db_url: str, make_app: Any) -> None:
    """Issue 17.5: the stage's subject says whether the check films her; with the face refused it does not, and
    the capture taken for the check leaves the camera alone (no frame, no "camera" in the device record)."""
    from idverify.api.captures import from_request
    from idverify.api.schemas.workflow import CaptureIn

    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    f = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()["patient"]["id"]
    couple = nurse.post("/api/v1/couples", json={"female_patient_id": f}, headers=h).json()
    cycle = nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "donor_sperm_ivf"},
                       headers=h).json()
    subject = f"/api/v1/cycles/{cycle['id']}/stages/egg_retrieval/subject"
    assert nurse.get(subject).json()["people"][0]["films_face"] is True  # no consent yet: the default policy
    assert nurse.get(subject).json()["people"][0]["challenge"] is False  # no head turn asked by default
    assert nurse.post(f"/api/v1/patients/{f}/consent", json={"accepted": ["fingerprint"],
                                                              "refused": ["face", "document_photo"]},
                      headers=h).status_code == 201
    assert nurse.get(subject).json()["people"][0]["films_face"] is False

    camera = _Camera()
    refused = from_request(CaptureIn(use_devices=True, finger_positions=[]), camera, claimed_by="test", film_face=False)
    assert camera.filmed == 0 and refused.face_frames == [] and "face" not in refused.devices
    filmed = from_request(CaptureIn(use_devices=True, finger_positions=[]), camera, claimed_by="test")
    assert camera.filmed == 1 and filmed.devices["face"] == "camera"


def test_cycles_carry_the_couples_names_for_nurses_only(db_url: str, make_app: Any) -> None:
    """Issue 17.12: the nurse's cycle list names the couple (from the sealed identities); inspectors get none."""
    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    f = nurse.post("/api/v1/patients", json=ZHANG, headers=h).json()["patient"]["id"]
    m = nurse.post("/api/v1/patients", json=LI, headers=h).json()["patient"]["id"]
    couple = nurse.post("/api/v1/couples", json={"female_patient_id": f, "male_patient_id": m}, headers=h).json()
    assert nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "ivf"}, headers=h).status_code == 201
    listed = nurse.get("/api/v1/cycles?status=open").json()["items"]
    assert [c["names"] for c in listed] == [{"female": "张三丽", "male": "李四"}]
    inspector, _ = daemon.login("inspector")
    assert [c["names"] for c in inspector.get("/api/v1/cycles").json()["items"]] == [None]
