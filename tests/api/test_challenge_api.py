"""The active liveness challenge through the REST API, against the simulated devices: the daemon films the simulated
camera while it acts out a head turn (hardware_fixtures.performance) and its real detector and challenge code judge
the frames. Also: a held photo and a wrong-direction turn fail (RETRY, recorded in the ledger), a stage that asks
for a challenge refuses an unanswered check with RETRY, and unknown, reused, foreign and expired challenge ids are
refused with their own codes."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from idverify.ledger.models import LedgerEntry

FACE = Path("face/asian_dev/cn_s3")
TURNING = "abff0a46f21fbe09ef4d043d6b600c338744adb9.jpg"  # the photo the simulated turn passes both ways
FINGERS = Path("fingerprint/FVC2002_DB1_B")
STAGE = "egg_retrieval"


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.fixture
def data(shared_data: Path) -> Path:
    if not ((shared_data / FACE / TURNING).is_file() and (shared_data / FINGERS).is_dir()):
        pytest.skip("asian_dev faces or FVC2002_DB1_B fingerprints missing")
    return shared_data


def _find(tree: Any, key: str) -> dict[str, Any]:
    """The first dict value under ``key`` anywhere in a JSON tree ({} when absent)."""
    if isinstance(tree, dict):
        if isinstance(tree.get(key), dict):
            found: dict[str, Any] = tree[key]
            return found
        tree = list(tree.values())
    if isinstance(tree, list):
        for item in tree:
            hit = _find(item, key)
            if hit:
                return hit
    return {}


def _settle(camera: Any, frames: int = 8) -> None:
    """Wait until the camera has served ``frames`` frames of what it shows now (the ring then holds only those)."""
    start, deadline = camera.frames_served, time.monotonic() + 10
    while camera.frames_served < start + frames:
        assert time.monotonic() < deadline, "the simulated camera serves no frames"
        time.sleep(0.05)


def _login(client: TestClient, daemon: Any, username: str) -> dict[str, str]:
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": daemon.passwords[username]})
    assert resp.status_code == 200, resp.text
    return {"X-CSRF-Token": resp.json()["csrf_token"]}


def _setup(client: TestClient, daemon: Any, data: Path, stage_policy: dict[str, Any],
           card: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """Policy set by IT; the card (default: the one on the simulated reader) registered, consented and enrolled; a
    cycle opened."""
    ah = _login(client, daemon, "admin")
    put = client.put("/api/v1/settings/policy", json={"stages": {STAGE: stage_policy}}, headers=ah)
    assert put.status_code == 200, put.text
    client.post("/api/v1/auth/logout", headers=ah)
    h = _login(client, daemon, "nurse1")
    card = card or client.post("/api/v1/devices/document/read", headers=h).json()["document"]
    person = {"document_type": card["document_type"], "document_number": card["document_number"],
              "name": "挑战测试", "sex": "F", "birth_date": "1990-03-07"}
    patient = client.post("/api/v1/patients", json=person, headers=h).json()["patient"]["id"]
    assert client.post(f"/api/v1/patients/{patient}/consent", headers=h,
                       json={"accepted": ["face", "fingerprint", "document_photo"]}).status_code == 201
    enrol = client.post(f"/api/v1/patients/{patient}/enrolment", headers=h, json={
        "face_images_base64": [b64(data / FACE / TURNING), b64(data / FACE / "3_15.jpg")],
        "fingerprints": [{"position": "right_index", "image_base64": b64(data / FINGERS / "101_1.tif")},
                         {"position": "left_index", "image_base64": b64(data / FINGERS / "102_1.tif")}],
        "document": {"document_type": card["document_type"], "document_number": card["document_number"]}})
    assert enrol.json()["status"] == "complete", enrol.text
    couple = client.post("/api/v1/couples", json={"female_patient_id": patient}, headers=h).json()["id"]
    cycle = client.post("/api/v1/cycles", json={"couple_id": couple, "kind": "donor_sperm_ivf"}, headers=h)
    assert cycle.status_code == 201, cycle.text
    return cycle.json()["id"], h


def _challenge(client: TestClient, cycle: str, h: dict[str, str]) -> dict[str, Any]:
    resp = client.post(f"/api/v1/cycles/{cycle}/checks/challenge", json={"stage": STAGE}, headers=h)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _check(client: TestClient, cycle: str, h: dict[str, str], challenge_id: str | None) -> Any:
    body: dict[str, Any] = {"stage": STAGE, "use_devices": True, "finger_positions": []}
    if challenge_id is not None:
        body["challenge_id"] = challenge_id
    return client.post(f"/api/v1/cycles/{cycle}/checks", json=body, headers=h)


HEAD_TURN = {"factors": {"face": {"liveness": False, "active_liveness": "head_turn"},
                         "fingerprint": {"required": False}}}


def test_head_turn_challenge_with_the_simulated_camera(make_app: Any, data: Path) -> None:
    daemon = make_app(simulate=True)
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        cycle, h = _setup(client, daemon, data, HEAD_TURN)
        camera = daemon.app.state.ctx.devices.simulators["camera"]
        camera.show([data / FACE / TURNING])
        _settle(camera)

        # the stage asks for a challenge: a check without one is RETRY with what to do, never an error
        unanswered = _check(client, cycle, h, None)
        assert unanswered.status_code == 201, unanswered.text
        v = unanswered.json()["verification"]
        assert v["decision"] == "retry" and _codes(v) == ["challenge_not_answered"]
        assert v["factors"]["face"]["challenge"] == {"status": "not_answered"}

        # the patient turns the way the screen asked: ACCEPT, the challenge recorded with the face factor
        issued = _challenge(client, cycle, h)
        assert issued["kind"] == "head_turn" and issued["direction"] in ("left", "right")
        assert issued["prompt_key"] == f"challenge.turn_{issued['direction']}" and issued["capture_seconds"] > 2
        camera.perform(f"turn_{issued['direction']}")
        passed = _check(client, cycle, h, issued["challenge_id"])
        assert passed.status_code == 201, passed.text
        v = passed.json()["verification"]
        challenge = v["factors"]["face"]["challenge"]
        assert challenge["passed"] is True and challenge["direction"] == issued["direction"], challenge
        assert challenge["challenge_id"] == issued["challenge_id"] and challenge["frames"] >= 8
        assert challenge["frames_received"] >= challenge["frames"] and challenge["max_yaw_towards"] >= 0.35
        assert v["decision"] == "accept", v["reasons"]
        assert v["factors"]["fingerprint"]["pad"] == "not available"
        assert v["factors"]["face"]["pad"] == "not run: not required by the stage policy"
        assert v["devices"]["challenge"] == "camera"

        # the same answer cannot be replayed
        again = _check(client, cycle, h, issued["challenge_id"])
        assert again.status_code == 409 and again.json()["error"]["code"] == "challenge_used"

        # a photo held up to the camera: no turn, RETRY with the reason
        issued = _challenge(client, cycle, h)
        camera.perform("still")
        still = _check(client, cycle, h, issued["challenge_id"]).json()["verification"]
        assert still["decision"] == "retry"
        assert still["factors"]["face"]["challenge"]["passed"] is False
        assert {"code": "challenge_failed", "params": {"cause": {"code": "turn_not_far_enough", "params": {}}},
                "message": "Liveness challenge failed: Head not turned far enough — repeat the challenge"} \
            in still["reasons"]

        # turning the other way than asked fails too
        issued = _challenge(client, cycle, h)
        other = "right" if issued["direction"] == "left" else "left"
        camera.perform(f"turn_{other}")
        wrong = _check(client, cycle, h, issued["challenge_id"]).json()["verification"]
        assert wrong["decision"] == "retry" and "turn_wrong_way" in _causes(wrong), wrong["reasons"]
        camera.release()

        # every attempt is in the ledger with its challenge record
        with daemon.app.state.ctx.session_factory() as db:
            events = [json.loads(e.canonical) for e in db.scalars(select(LedgerEntry).where(
                LedgerEntry.event_type == "verification.completed").order_by(LedgerEntry.index)).all()]
        assert all("factors" in json.dumps(e) for e in events)
        recorded = [_find(e, "challenge").get("passed") for e in events]
        assert recorded == [None, True, False, False]


def test_challenge_ids_are_single_use_and_bound(make_app: Any, data: Path) -> None:
    daemon = make_app(simulate=True)
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        cycle, h = _setup(client, daemon, data, HEAD_TURN)
        unknown = _check(client, cycle, h, "00000000-0000-4000-8000-000000000000")
        assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "challenge_unknown"

        # issued to nurse1: nurse2 cannot answer it (and it stays answerable by nurse1)
        issued = _challenge(client, cycle, h)
        client.post("/api/v1/auth/logout", headers=h)
        h2 = _login(client, daemon, "nurse2")
        foreign = _check(client, cycle, h2, issued["challenge_id"])
        assert foreign.status_code == 409 and foreign.json()["error"]["code"] == "challenge_mismatch"
        other_stage = client.post(f"/api/v1/cycles/{cycle}/checks", headers=h2, json={
            "stage": "embryo_transfer", "use_devices": True, "finger_positions": [],
            "challenge_id": issued["challenge_id"]})
        assert other_stage.json()["error"]["code"] == "challenge_mismatch"

        # expired: the store's clock moved past the lifetime
        store = daemon.app.state.ctx.challenges
        issued = _challenge(client, cycle, h2)
        real_clock = store.clock
        store.clock = lambda: real_clock() + store.ttl_s + 1
        try:
            expired = _check(client, cycle, h2, issued["challenge_id"])
        finally:
            store.clock = real_clock
        assert expired.status_code == 409 and expired.json()["error"]["code"] == "challenge_expired"
        assert _check(client, cycle, h2, issued["challenge_id"]).json()["error"]["code"] == "challenge_used"


def test_uploaded_frames_and_policy_validation(make_app: Any, data: Path) -> None:
    """REST integrations upload the frames; a stage without a challenge in its policy issues none; the policy
    option is validated before it is stored."""
    import cv2
    import numpy as np
    from hardware_fixtures.performance import Performance

    from idverify.biometrics.face.image import letterbox

    daemon = make_app()
    card = {"document_type": "cn_resident_id", "document_number": "110101199003074565"}
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        ah = _login(client, daemon, "admin")
        for bad in ({"face": {"active_liveness": "nod"}}, {"fingerprint": {"active_liveness": "blink"}}):
            resp = client.put("/api/v1/settings/policy", headers=ah, json={"stages": {STAGE: {"factors": bad}}})
            assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_active_liveness"
        client.post("/api/v1/auth/logout", headers=ah)
        cycle, h = _setup(client, daemon, data, HEAD_TURN, card)

        none = client.post(f"/api/v1/cycles/{cycle}/checks/challenge", json={"stage": "embryo_transfer"}, headers=h)
        assert none.status_code == 409 and none.json()["error"]["code"] == "challenge_not_required"

        issued = _challenge(client, cycle, h)
        raw = cv2.imread(str(data / FACE / TURNING), cv2.IMREAD_COLOR)
        performance = Performance(letterbox(np.asarray(raw, dtype=np.uint8), 640, 480), f"turn_{issued['direction']}")
        frames = [base64.b64encode(cv2.imencode(".jpg", performance.next_frame())[1].tobytes()).decode()
                  for _ in range(34)]
        resp = client.post(f"/api/v1/cycles/{cycle}/checks", headers=h, json={
            "stage": STAGE, "challenge_id": issued["challenge_id"], "challenge_frames_base64": frames,
            "document": card})
        assert resp.status_code == 201, resp.text
        v = resp.json()["verification"]
        assert v["factors"]["face"]["challenge"]["passed"] is True and v["devices"]["challenge"] == "upload"
        assert v["decision"] == "accept", v["reasons"]  # the face was matched on the frontal frames of the burst
        assert v["policy"]["active_liveness"] == "head_turn"
        assert "challenge_ms" in resp.json()["timings_ms"]


def test_blink_challenge_on_uploaded_frames(make_app: Any, data: Path) -> None:
    """A stage asking for a blink issues one (the face-mesh runtime is installed here); the frames of a held photo
    show no blink: RETRY with the reason, the eye-aspect-ratio depth recorded."""
    from idverify.biometrics.pad import blink_available

    if not blink_available():
        pytest.skip("ai-edge-litert not installed: blink challenges fall back to head turns")
    daemon = make_app()
    card = {"document_type": "cn_resident_id", "document_number": "110101199003074565"}
    blink = {"factors": {"face": {"liveness": False, "active_liveness": "blink"}, "fingerprint": {"required": False}}}
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        cycle, h = _setup(client, daemon, data, blink, card)
        issued = _challenge(client, cycle, h)
        assert (issued["kind"], issued["direction"], issued["prompt_key"]) == ("blink", None, "challenge.blink")
        photo = b64(data / FACE / TURNING)
        resp = client.post(f"/api/v1/cycles/{cycle}/checks", headers=h, json={
            "stage": STAGE, "challenge_id": issued["challenge_id"], "challenge_frames_base64": [photo] * 12,
            "face_images_base64": [photo], "document": card})
        assert resp.status_code == 201, resp.text
        v = resp.json()["verification"]
        challenge = v["factors"]["face"]["challenge"]
        assert challenge["kind"] == "blink" and challenge["passed"] is False and challenge["frames"] == 12
        assert v["decision"] == "retry" and "blink_not_seen" in _causes(v), v["reasons"]


def _codes(verification: dict[str, Any]) -> list[str]:
    return [r["code"] for r in verification["reasons"]]


def _causes(verification: dict[str, Any]) -> list[str]:
    """The codes of the reasons' causes (a failed challenge gives the challenge's own reason as its cause)."""
    return [r["params"]["cause"]["code"] for r in verification["reasons"] if "cause" in r["params"]]
