"""``idverify demo --scenario``: one full treatment cycle through the REST API of a live daemon.

It starts the daemon (simulated devices, demo accounts) on a free local port, then, as a nurse would:
reads each partner's ID card on the simulated GA 467 reader, registers the couple, records consent, enrols faces
and fingers (images from the public sample sets beside the checkout, uploaded through the API), opens an IVF cycle,
passes sperm retrieval, egg retrieval and embryo transfer, presents an impostor at embryo transfer (rejected),
records an override with a second nurse as witness, then exports the ledger and verifies the export offline.
The last line of stdout is the JSON summary. It doubles as a smoke test and a demo for clinic IT.
"""

from __future__ import annotations

import base64
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from idverify.config import Settings, sample_data_root
from idverify.errors import ErrorCode, IdverifyError
from idverify.ports import free_port

FEMALE_FACE = ("cn_s10", ["10_12.jpg", "10_5.jpg", "10_9.jpg"], "0-LEyP4d.jpg")
MALE_FACE = ("cn_s2", ["2_1.jpg", "2_25.jpg", "2_8.jpg"], "2_4.jpg")
IMPOSTOR_FACE = ("cn_s3", "3_2.jpg")
FEMALE_FINGERS = ("101", "102")
MALE_FINGERS = ("103", "104")
IMPOSTOR_FINGER = "105"


class ScenarioError(IdverifyError):
    code = ErrorCode.SCENARIO_FAILED


@dataclass
class Samples:
    faces: Path
    fingers: Path

    def face(self, person: str, name: str) -> str:
        return base64.b64encode((self.faces / person / name).read_bytes()).decode()

    def finger(self, finger: str, impression: int) -> str:
        return base64.b64encode((self.fingers / f"{finger}_{impression}.tif").read_bytes()).decode()


def find_samples() -> Samples:
    """:func:`~idverify.config.sample_data_root`'s two sets (never inside the package)."""
    root = sample_data_root()
    faces, fingers = root / "face" / "asian_dev", root / "fingerprint" / "FVC2002_DB1_B"
    if not (faces.is_dir() and fingers.is_dir()):
        raise ScenarioError(f"the scenario needs the public sample sets face/asian_dev and fingerprint/FVC2002_DB1_B "
                            f"under {root} (../shared/data beside the checkout, or set IDVERIFY_SHARED_DATA)",
                            code=ErrorCode.SAMPLE_DATA_MISSING)
    return Samples(faces=faces, fingers=fingers)


class _Api:
    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base + "/api/v1", timeout=120.0)
        self.csrf = ""

    def login(self, username: str, password: str) -> None:
        resp = self.client.post("/auth/login", json={"username": username, "password": password})
        self._ok(resp, "login")
        self.csrf = resp.json()["csrf_token"]

    def call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        resp = self.client.request(method, path, headers={"X-CSRF-Token": self.csrf}, **kwargs)
        self._ok(resp, what)
        return resp.json()

    @staticmethod
    def _ok(resp: httpx.Response, what: str) -> None:
        if resp.status_code >= 400:
            raise ScenarioError(f"{what}: HTTP {resp.status_code} {resp.text[:300]}")


def _card_patient(api: _Api, sim: Any, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Insert card ``index`` in the simulated reader, read it through the API, register its holder."""
    sim.insert(index)
    card = api.call("POST", "/devices/document/read", "read ID card")["document"]
    body = {"document_type": card["document_type"], "document_number": card["document_number"],
            "name": card["name"], "sex": card["sex"], "birth_date": card["birth_date"], "nation": card["nation"],
            "nationality": card["nationality"], "address": card["address"], "issuer": card["issuer"]}
    patient = api.call("POST", "/patients", "register patient", json=body)["patient"]
    return patient, {"document_type": card["document_type"], "document_number": card["document_number"]}


def run(settings: Settings, accounts: dict[str, str], *, port: int | None = None) -> dict[str, Any]:
    """Drive the cycle against a daemon on ``port`` (``--port``), or on a free port when none was asked for."""
    from idverify.app import create_app

    samples = find_samples()
    if port is None:
        port = free_port()
    else:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise ScenarioError(f"port {port} is in use: choose another --port or leave it out",
                                    code=ErrorCode.PORT_IN_USE) from None
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise ScenarioError("the daemon did not start")
        time.sleep(0.1)
    try:
        return {**_drive(app, f"http://127.0.0.1:{port}", accounts, samples, settings), "port": port}
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _drive(app: Any, base: str, accounts: dict[str, str], samples: Samples, settings: Settings) -> dict[str, Any]:
    nurse = _Api(base)
    nurse.login("nurse1", accounts["nurse1"])
    sim = app.state.ctx.devices.simulators["ga467"]
    cards = sim.cards  # the simulated reader's cards (made-up records; the impostor's card appended last)
    female_idx = next(i for i, c in enumerate(cards) if c.get("kind") == "resident" and c["sex"] == "2"
                      and c["valid_to"] > time.strftime("%Y%m%d"))
    male_idx = next(i for i, c in enumerate(cards) if c.get("kind") == "resident" and c["sex"] == "1"
                    and c["valid_to"] > time.strftime("%Y%m%d"))
    female, female_doc = _card_patient(nurse, sim, female_idx)
    male, male_doc = _card_patient(nurse, sim, male_idx)
    enrolled = 0
    for patient, doc, (person, faces, _), fingers in ((female, female_doc, FEMALE_FACE, FEMALE_FINGERS),
                                                      (male, male_doc, MALE_FACE, MALE_FINGERS)):
        nurse.call("POST", f"/patients/{patient['id']}/consent", "consent",
                   json={"accepted": ["face", "fingerprint", "document_photo"]})
        result = nurse.call("POST", f"/patients/{patient['id']}/enrolment", "enrol", json={
            "document": doc, "face_images_base64": [samples.face(person, f) for f in faces],
            "fingerprints": [{"position": "right_index", "image_base64": samples.finger(fingers[0], 1)},
                             {"position": "left_index", "image_base64": samples.finger(fingers[1], 1)}]})
        if result["status"] != "complete":
            raise ScenarioError(f"enrolment ended {result['status']}: {result['result']}")
        enrolled += 1
    couple = nurse.call("POST", "/couples", "couple", json={"female_patient_id": female["id"],
                                                            "male_patient_id": male["id"]})
    cycle = nurse.call("POST", "/cycles", "cycle", json={"couple_id": couple["id"], "kind": "ivf"})
    url = f"/cycles/{cycle['id']}/checks"

    def check(stage: str, doc: dict[str, Any], face: tuple[str, str], finger: tuple[str, int],
              position: str) -> dict[str, Any]:
        body = {"stage": stage, "document": doc, "face_images_base64": [samples.face(*face)],
                "fingerprints": [{"position": position, "image_base64": samples.finger(*finger)}]}
        verification: dict[str, Any] = nurse.call("POST", url, f"check {stage}", json=body)["verification"]
        return verification

    checks = [
        check("sperm_retrieval", male_doc, (MALE_FACE[0], MALE_FACE[2]), (MALE_FINGERS[0], 3), "right_index"),
        check("egg_retrieval", female_doc, (FEMALE_FACE[0], FEMALE_FACE[2]), (FEMALE_FINGERS[1], 4), "left_index"),
        check("embryo_transfer", female_doc, (FEMALE_FACE[0], FEMALE_FACE[1][1]), (FEMALE_FINGERS[0], 5),
              "right_index"),
    ]
    impostor = check("embryo_transfer", female_doc, IMPOSTOR_FACE, (IMPOSTOR_FINGER, 1), "right_index")
    # the patient again with bandaged fingers: face and card only -> retry -> override with a witness
    body = {"stage": "embryo_transfer", "document": female_doc,
            "face_images_base64": [samples.face(FEMALE_FACE[0], FEMALE_FACE[1][0])]}
    retry = nurse.call("POST", url, "check without finger", json=body)["verification"]
    override = nurse.call("POST", f"/verifications/{retry['id']}/override", "override", json={
        "reason_code": "injury", "note": "bandaged hands", "witness_username": "nurse2",
        "witness_password": accounts["nurse2"]})
    return {
        "enrolled": enrolled,
        "checks": [{"stage": c["stage"], "decision": c["decision"],
                    "factors": {k: {"score": v.get("score"), "passed": v.get("passed", v.get("status") == "ok")}
                                for k, v in c["factors"].items()}} for c in checks],
        "impostor_decision": impostor["decision"],
        "impostor_reasons": impostor["reasons"],
        "override_recorded": bool(override.get("id")),
        "ledger_verified": _verify_ledger(app, settings),
        "data_dir": str(settings.data_dir),
    }


def _verify_ledger(app: Any, settings: Settings) -> bool:
    from idverify.ledger.checkpoint import CheckpointSigner
    from idverify.ledger.export import export_jsonl
    from idverify.ledger.proofs import create_checkpoint
    from idverify.ledger.verify import ExportInvalid, verify_export

    signer = CheckpointSigner.from_file(settings.resolved_signing_key_file)
    with app.state.ctx.session_factory() as db:
        checkpoint = create_checkpoint(db, signer)
        db.commit()
        out = Path(tempfile.mkdtemp(prefix="idverify-scenario-")) / "ledger.jsonl"
        with out.open("w", encoding="utf-8") as fh:
            export_jsonl(db, fh, clinic=settings.clinic_name, checkpoint=checkpoint)
    try:
        result = verify_export(out, signer.public_key)
    except ExportInvalid:
        return False
    return result.entries > 0
