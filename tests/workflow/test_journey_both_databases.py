"""The whole journey through the REST API on SQLite and on PostgreSQL, so that a difference between the two
databases cannot hide again (a face template's 102-character algorithm version once broke every PostgreSQL
enrolment while SQLite, which ignores lengths, passed): enrol two patients with face, fingers and card, the three
stage checks of an IVF cycle, an override with a witness, and an inspector's export verified offline."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.verify import verify_export

FEMALE = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "测试女",
          "sex": "F", "birth_date": "1990-03-07"}
MALE = {"document_type": "cn_resident_id", "document_number": "110101198805061235", "name": "测试男", "sex": "M",
        "birth_date": "1988-05-06"}


@pytest.fixture
def samples(shared_data: Path) -> dict[str, Path]:
    face, finger = shared_data / "face" / "asian_dev", shared_data / "fingerprint" / "FVC2002_DB1_B"
    if not (face.is_dir() and finger.is_dir()):
        pytest.skip("asian_dev faces or FVC2002_DB1_B fingerprints missing")
    return {"face": face, "finger": finger}


def _capture(samples: dict[str, Path], person: dict[str, str], folder: str, faces: list[str],
             fingers: list[tuple[str, str]]) -> dict[str, Any]:
    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return {
        "face_images_base64": [b64(samples["face"] / folder / f) for f in faces],
        "fingerprints": [{"position": pos, "image_base64": b64(samples["finger"] / f"{name}.tif")}
                         for pos, name in fingers],
        "document": {"document_type": person["document_type"], "document_number": person["document_number"]},
    }


def test_enrol_check_override_export(db_url: str, make_app: Any, samples: dict[str, Path], tmp_path: Path) -> None:
    daemon = make_app(db_url)
    nurse, csrf = daemon.login("nurse1")
    h = {"X-CSRF-Token": csrf}
    admin, admin_csrf = daemon.login("admin")
    no_live = {s: {"factors": {"face": {"liveness": False}}} for s in
               ("sperm_retrieval", "egg_retrieval", "embryo_transfer")}  # liveness on web photos is tested apart
    assert admin.put("/api/v1/settings/policy", json={"stages": no_live},
                     headers={"X-CSRF-Token": admin_csrf}).status_code == 200

    ids = {}
    for key, person in (("f", FEMALE), ("m", MALE)):
        created = nurse.post("/api/v1/patients", json=person, headers=h)
        assert created.status_code == 201, created.text
        ids[key] = created.json()["patient"]["id"]
        assert nurse.post(f"/api/v1/patients/{ids[key]}/consent", headers=h,
                          json={"accepted": ["face", "fingerprint", "document_photo"]}).status_code == 201
    enrolments = {
        "f": _capture(samples, FEMALE, "cn_s10", ["10_12.jpg", "10_5.jpg"],
                      [("right_index", "101_1"), ("left_index", "102_1")]),
        "m": _capture(samples, MALE, "cn_s2", ["2_1.jpg", "2_25.jpg"],
                      [("right_index", "103_1"), ("left_index", "104_1")]),
    }
    for key, body in enrolments.items():
        enrolled = nurse.post(f"/api/v1/patients/{ids[key]}/enrolment", headers=h, json=body)
        assert enrolled.status_code == 201 and enrolled.json()["status"] == "complete", enrolled.text
        assert set(nurse.get(f"/api/v1/patients/{ids[key]}").json()["enrolled"]) >= {"face", "fingerprint"}

    couple = nurse.post("/api/v1/couples", json={"female_patient_id": ids["f"], "male_patient_id": ids["m"]},
                        headers=h).json()
    cycle = nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "ivf"}, headers=h).json()
    url = f"/api/v1/cycles/{cycle['id']}/checks"
    stages = [("sperm_retrieval", MALE, "cn_s2", "2_4.jpg", ("right_index", "103_3")),
              ("egg_retrieval", FEMALE, "cn_s10", "0-LEyP4d.jpg", ("left_index", "102_4")),
              ("embryo_transfer", FEMALE, "cn_s10", "10_9.jpg", ("right_index", "101_5"))]
    for stage, person, folder, face, finger in stages:
        checked = nurse.post(url, headers=h, json={"stage": stage, **_capture(samples, person, folder, [face],
                                                                               [finger])})
        assert checked.status_code == 201, checked.text
        assert checked.json()["verification"]["decision"] == "accept", (stage, checked.json())

    # fingers bandaged: face and card pass, the fingerprint is a retry, and a second nurse witnesses an override
    retry = nurse.post(url, headers=h, json={"stage": "embryo_transfer",
                                             **_capture(samples, FEMALE, "cn_s10", ["10_12.jpg"], [])}).json()
    assert retry["verification"]["decision"] == "retry"
    override = nurse.post(f"/api/v1/verifications/{retry['verification']['id']}/override", headers=h, json={
        "reason_code": "injury", "note": "bandaged hands", "witness_username": "nurse2",
        "witness_password": daemon.passwords["nurse2"]})
    assert override.status_code == 201, override.text

    inspector, _ = daemon.login("inspector")
    events = inspector.get("/api/v1/audit/events?limit=500").json()["items"]
    types = [e["type"] for e in events]
    assert types.count("verification.completed") == 4 and "override.recorded" in types
    export = inspector.get("/api/v1/audit/export?format=jsonl")
    assert export.status_code == 200, export.text
    path = tmp_path / "audit.jsonl"
    path.write_bytes(export.content)
    public_key = CheckpointSigner.from_file(daemon.settings.resolved_signing_key_file).public_key
    result = verify_export(path, public_key)
    assert result.entries == result.tree_size >= len(events)
    assert inspector.get("/api/v1/audit/integrity").json()["ok"] is True
