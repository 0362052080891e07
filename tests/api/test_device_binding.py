"""A credential bound to one workstation may not use another workstation's devices: live camera frame, device
tests, reads and device captures for checks (issue 16.3)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_key_of_another_workstation_cannot_touch_these_devices(make_app: Any) -> None:
    daemon = make_app(simulate=True)  # this daemon is workstation "ws-a"
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        login = client.post("/api/v1/auth/login", json={"username": "admin", "password": daemon.passwords["admin"]})
        h = {"X-CSRF-Token": login.json()["csrf_token"]}

        def key(role: str, workstation: str | None) -> dict[str, str]:
            body: dict[str, Any] = {"name": f"{role}@{workstation}", "role": role, "workstation_id": workstation}
            resp = client.post("/api/v1/api-keys", json=body, headers=h)
            assert resp.status_code == 201, resp.text
            return {"Authorization": f"Bearer {resp.json()['token']}"}

        nurse_b, it_b = key("nurse", "ws-b"), key("it_admin", "ws-b")
        nurse_a, nurse_any = key("nurse", "ws-a"), key("nurse", None)
        client.cookies.clear()
        refused = [
            ("GET", "/api/v1/devices/camera/preview.jpg", nurse_b, None),
            ("GET", "/api/v1/devices", nurse_b, None),
            ("POST", "/api/v1/devices/document/read", nurse_b, None),
            ("POST", "/api/v1/devices/fingerprint/test", it_b, None),
            ("POST", "/api/v1/devices/document/test", it_b, None),
            ("POST", "/api/v1/devices/camera/test", it_b, None),
            ("POST", "/api/v1/cycles/any-cycle/checks", nurse_b, {"stage": "egg_retrieval", "use_devices": True}),
            ("POST", "/api/v1/patients/any-patient/enrolment", nurse_b, {"use_devices": True}),
        ]
        for method, path, headers, body in refused:
            resp = client.request(method, path, headers=headers, json=body)
            assert resp.status_code == 403, (path, resp.text)
            assert resp.json()["error"]["code"] == "workstation_mismatch", path
        for headers in (nurse_a, nurse_any):  # bound to this workstation, or to none (the daemon's own)
            preview = client.get("/api/v1/devices/camera/preview.jpg", headers=headers)
            assert preview.status_code == 200 and preview.content[:2] == b"\xff\xd8"
        # an uploaded capture uses no device here: the binding does not stand in its way (the cycle is unknown)
        upload = client.post("/api/v1/cycles/any-cycle/checks", headers=nurse_b, json={"stage": "egg_retrieval"})
        assert upload.status_code == 404, upload.text
