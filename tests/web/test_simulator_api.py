"""The demo's simulated people: the persona desk drives card reader, camera and sensor together, and its REST
switch exists only while the daemon simulates devices (404 otherwise: a clinic daemon has no such switch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hardware_fixtures.ga467 import load_cards
from hardware_fixtures.personas import FINGER_ORDER, IMPOSTOR_CARD, PersonaDesk, build_personas
from hardware_fixtures.wiring import SimulationAssets


class _Reader:
    def __init__(self) -> None:
        self.card: int | None = None

    def insert(self, index: int) -> None:
        self.card = index

    def remove(self) -> None:
        self.card = None


def test_personas_carry_their_card_face_and_fingers(tmp_path: Path) -> None:
    """Without the public samples the personas fall back to synthetic images; the wiring is the same."""
    from hardware_fixtures.camera import SimulatedCamera
    from hardware_fixtures.zhiantec import ZhianTecSimulator

    personas, cards = build_personas(load_cards(), faces_root=None, fingers_root=None, scratch=tmp_path)
    assert cards[-1] == IMPOSTOR_CARD and cards[:-1] == load_cards()
    by_key = {p.key: p for p in personas}
    assert cards[by_key["female"].card_index]["sex"] == "2" and cards[by_key["male"].card_index]["sex"] == "1"
    fingers = {path for p in personas for f in p.fingers.values() for path in f}
    assert len(fingers) == 4 * len(FINGER_ORDER) * len(personas)  # four impressions each, nobody shares one
    sensor = ZhianTecSimulator(tmp_path / "synthetic-fingerprint")
    camera = SimulatedCamera(tmp_path / "synthetic-face")
    reader = _Reader()
    desk = PersonaDesk(personas, reader=reader, sensor=sensor, camera=camera)

    def nobody_on_camera() -> bool:  # issue 17.12: "nobody" at the desk, nobody on camera (one flat frame)
        frame = camera.read()
        return frame is not None and int(frame.max()) == int(frame.min())

    assert nobody_on_camera()
    desk.present("impostor", card_of="female")
    assert not nobody_on_camera()
    assert reader.card == by_key["female"].card_index
    assert desk.state()["current"] == "impostor" and desk.state()["card_of"] == "female"
    shots = [sensor._person_finger() for _ in range(4)]  # right, left, right, left
    impostor = by_key["impostor"].fingers
    assert shots == [impostor["right_index"][0], impostor["left_index"][0],
                     impostor["right_index"][1], impostor["left_index"][1]]  # a new impression each time
    desk.present("female")  # the order restarts: a check's first capture is the right index
    assert sensor._person_finger() == by_key["female"].fingers["right_index"][0]
    with pytest.raises(KeyError):
        desk.present("nobody")
    desk.leave()
    assert reader.card is None and sensor._person_finger() is None and desk.state()["current"] is None
    assert nobody_on_camera()


def _login(client: Any, password: str, username: str = "nurse1") -> dict[str, str]:
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200
    return {"X-CSRF-Token": resp.json()["csrf_token"]}


def test_the_switch_is_absent_unless_simulating(make_app: Any) -> None:
    daemon = make_app()
    client, csrf = daemon.login("nurse1")
    assert client.get("/api/v1/simulator").status_code == 404
    resp = client.post("/api/v1/simulator/present", json={"persona": "female"}, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    page = client.get("/nurse/check")
    assert page.status_code == 200 and "sim-panel" not in page.text and "simulator.js" not in page.text


def test_presenting_a_persona_puts_their_card_on_the_reader(make_app: Any) -> None:
    daemon = make_app(simulate=True)
    daemon.app.state.ctx.devices.wiring.assets = SimulationAssets(emrtd=False)
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        h = _login(client, daemon.passwords["nurse1"])
        assert 'id="sim-panel"' in client.get("/nurse/enrol").text
        state = client.get("/api/v1/simulator").json()
        assert [p["key"] for p in state["personas"]] == ["female", "male", "impostor"]
        assert state["current"] is None
        state = client.post("/api/v1/simulator/present", json={"persona": "impostor", "card_of": "male"},
                            headers=h).json()
        assert (state["current"], state["card_of"]) == ("impostor", "male")
        doc = client.post("/api/v1/devices/document/read", headers=h).json()["document"]
        male_card = next(c for c in load_cards() if c["sex"] == "1" and c.get("kind") == "resident")
        assert doc["document_number"] == male_card["id_number"]
        # a liveness challenge acted out by the person at the desk: the camera renders the head turn
        camera = daemon.app.state.ctx.devices.simulators["camera"]
        acted = client.post("/api/v1/simulator/act", json={"action": "turn_left"}, headers=h)
        if state["faces_missing"]:  # a clone without the sample photos: no face to turn, and the demo says why
            assert acted.status_code == 409 and acted.json()["error"]["code"] == "simulator_cannot_act"
            assert camera._performance is None
        else:
            assert acted.status_code == 200 and camera._performance is not None
            assert client.post("/api/v1/simulator/act", json={"action": "release"}, headers=h).status_code == 200
            assert camera._performance is None
        assert client.post("/api/v1/simulator/act", json={"action": "blink"}, headers=h).status_code == 422
        bad = client.post("/api/v1/simulator/present", json={"persona": "nobody"}, headers=h)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_persona"
        # issue 17.7: a device's cable pulled and plugged back in, for the screens' device state
        pulled = client.post("/api/v1/simulator/plug", json={"device": "fingerprint", "plugged": False}, headers=h)
        assert pulled.json()["unplugged"] == ["fingerprint"]
        assert daemon.app.state.ctx.devices.simulators["zhiantec"].plugged is False
        back = client.post("/api/v1/simulator/plug", json={"device": "fingerprint", "plugged": True}, headers=h)
        assert back.json()["unplugged"] == []
        assert client.post("/api/v1/simulator/plug", json={"device": "printer", "plugged": False},
                           headers=h).status_code == 422
        assert client.post("/api/v1/simulator/leave", headers=h).json()["current"] is None
        nobody = client.post("/api/v1/simulator/act", json={"action": "turn_left"}, headers=h)
        assert nobody.status_code == 409 and nobody.json()["error"]["code"] == "simulator_cannot_act"
        assert client.post("/api/v1/devices/document/read", headers=h).status_code >= 400  # no card now
        inspector = _login(client, daemon.passwords["inspector"], "inspector")
        assert client.get("/api/v1/simulator", headers=inspector).status_code == 403
        assert 'id="sim-panel"' not in client.get("/inspector/audit").text
