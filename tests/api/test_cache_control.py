"""Responses carrying personal data are never cached by a browser or proxy (issue 16.5)."""

from __future__ import annotations

from typing import Any

PATIENT = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "缓存测试",
           "sex": "F", "birth_date": "1990-03-07"}


def test_patient_and_other_api_answers_say_no_store(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, csrf = daemon.login("nurse1")
    created = nurse.post("/api/v1/patients", json=PATIENT, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    patient_id = created.json()["patient"]["id"]
    resp = nurse.get(f"/api/v1/patients/{patient_id}")
    assert resp.status_code == 200 and resp.json()["identity"]["name"] == "缓存测试"
    assert resp.headers["cache-control"] == "no-store"
    for path in ("/api/v1/auth/me", "/api/v1/verifications", f"/api/v1/patients/{patient_id}/consent"):
        assert nurse.get(path).headers["cache-control"] == "no-store", path
    # errors too (a 404 may still name what was asked for), but not the static UI files
    assert nurse.get("/api/v1/patients/nope").headers["cache-control"] == "no-store"
    static = nurse.get("/static/js/audit.js")
    assert static.status_code == 200 and "cache-control" not in static.headers
