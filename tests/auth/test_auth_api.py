"""Staff login, sessions, CSRF, API keys and the role matrix — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from idverify.store.base import utcnow
from idverify.store.models import ApiKey, Couple, Cycle, Patient, Verification


def _err(resp: Any) -> str:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "message_key", "details"}, body
    code: str = body["error"]["code"]
    assert body["error"]["message_key"] == f"error.{code}"  # the UI's text for the code, in the user's language
    return code


def test_login_me_logout(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    client, csrf = daemon.login("nurse1")
    me = client.get("/api/v1/auth/me").json()
    assert me["role"] == "nurse" and me["workstation_id"] == "ws-a" and me["staff"]["username"] == "nurse1"
    assert me["csrf_token"] == csrf
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    resp = client.get("/api/v1/auth/me")
    assert resp.status_code == 401 and _err(resp) == "not_authenticated"


def test_wrong_password_never_locks_and_answers_like_an_unknown_name(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    client = daemon.client()
    for _ in range(5):
        resp = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": "wrong-password"})
        assert resp.status_code == 401 and _err(resp) == "invalid_credentials"
    # no lock: the right password works (the sixth attempt of this client would wait — tests/auth/test_login_throttle)
    daemon.app.state.ctx.login_throttle = type(daemon.app.state.ctx.login_throttle)()
    resp = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": daemon.passwords["nurse1"]})
    assert resp.status_code == 200
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401 and _err(unknown) == "invalid_credentials"


def test_cookie_writes_need_csrf(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    client, csrf = daemon.login("admin")
    body = {"username": "newnurse", "display_name": "New", "role": "nurse", "password": "long-enough-pw"}
    resp = client.post("/api/v1/staff", json=body)
    assert resp.status_code == 403 and _err(resp) == "csrf_failed"
    resp = client.post("/api/v1/staff", json=body, headers={"X-CSRF-Token": "forged"})
    assert resp.status_code == 403 and _err(resp) == "csrf_failed"
    resp = client.post("/api/v1/staff", json=body, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 201 and resp.json()["role"] == "nurse"
    dup = client.post("/api/v1/staff", json=body, headers={"X-CSRF-Token": csrf})
    assert dup.status_code == 409 and _err(dup) == "username_taken"


def test_api_key_lifecycle(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf}
    issued = admin.post("/api/v1/api-keys", json={"name": "HIS bridge", "role": "inspector"}, headers=h).json()
    token = issued["token"]
    assert token.startswith("idv_") and issued["key"]["prefix"] in token
    listed = admin.get("/api/v1/api-keys").json()
    assert all("token" not in k and "secret_hash" not in k for k in listed)

    api = daemon.client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/auth/me", headers=bearer).json()["role"] == "inspector"
    # bearer requests carry no cookie, so no CSRF token is needed — but the role still applies
    resp = api.get("/api/v1/staff", headers=bearer)
    assert resp.status_code == 403 and _err(resp) == "forbidden"

    rotated = admin.post(f"/api/v1/api-keys/{issued['key']['id']}/rotate", headers=h).json()
    assert rotated["token"] != token
    resp = api.get("/api/v1/auth/me", headers=bearer)
    assert resp.status_code == 401 and _err(resp) == "token_revoked"
    new_bearer = {"Authorization": f"Bearer {rotated['token']}"}
    assert api.get("/api/v1/auth/me", headers=new_bearer).status_code == 200

    assert admin.delete(f"/api/v1/api-keys/{rotated['key']['id']}", headers=h).json()["revoked_at"]
    assert api.get("/api/v1/auth/me", headers=new_bearer).status_code == 401


def test_rotating_a_key_keeps_its_lifetime(db_url: str, make_app: Any) -> None:
    """Issue 17.12: a 30-day key rotated at once is a 30-day key again (flooring 29.99… days made it 29)."""
    from datetime import datetime

    daemon = make_app(db_url)
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf}
    issued = admin.post("/api/v1/api-keys", json={"name": "lab bridge", "role": "inspector", "expires_in_days": 30},
                        headers=h).json()["key"]
    rotated = admin.post(f"/api/v1/api-keys/{issued['id']}/rotate", headers=h).json()["key"]

    def lifetime(key: dict[str, Any]) -> float:
        return (datetime.fromisoformat(key["expires_at"]) - datetime.fromisoformat(key["created_at"])).total_seconds()

    assert abs(lifetime(rotated) - 30 * 86400) < 60
    assert datetime.fromisoformat(rotated["expires_at"]) >= datetime.fromisoformat(issued["expires_at"])


def test_expired_and_malformed_tokens(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    admin, csrf = daemon.login("admin")
    issued = admin.post("/api/v1/api-keys", json={"name": "k", "role": "nurse"},
                        headers={"X-CSRF-Token": csrf}).json()
    ctx = daemon.app.state.ctx
    with ctx.session_factory() as db:
        key = db.get(ApiKey, issued["key"]["id"])
        key.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
    client = daemon.client()
    resp = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert resp.status_code == 401 and _err(resp) == "token_expired"
    assert resp.headers["www-authenticate"] == "Bearer"
    for header in ("Bearer", "Bearer idv_nope", "Basic abc", "Bearer idv_abc_def"):
        resp = client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert resp.status_code == 401, header
        assert _err(resp) in {"invalid_token", "not_authenticated"}


@pytest.mark.parametrize(
    ("user", "method", "path", "allowed"),
    [
        ("nurse1", "GET", "/api/v1/staff", False),
        ("inspector", "GET", "/api/v1/staff", False),
        ("admin", "GET", "/api/v1/staff", True),
        ("nurse1", "GET", "/api/v1/api-keys", False),
        ("admin", "GET", "/api/v1/verifications", False),  # IT sees no patient results
        ("nurse1", "GET", "/api/v1/verifications", True),
        ("inspector", "GET", "/api/v1/verifications", True),
    ],
)
def test_role_matrix(user: str, method: str, path: str, allowed: bool, make_app: Any) -> None:
    daemon = make_app()
    client, _ = daemon.login(user)
    resp = client.request(method, path)
    if allowed:
        assert resp.status_code == 200, resp.text
    else:
        assert resp.status_code == 403 and _err(resp) == "forbidden"


def _seed_verification(daemon: Any, workstation: str) -> str:
    keys = daemon.app.state.ctx.keys
    with daemon.app.state.ctx.session_factory() as db:
        patient = Patient(sex="F", document_type="cn_resident_id", document_lookup=keys.lookup.digest(workstation),
                          identity=keys.ring.encrypt(b"{}", "patient:x"), kek_id=keys.ring.active_id)
        db.add(patient)
        db.flush()
        couple = Couple(female_patient_id=patient.id)
        db.add(couple)
        db.flush()
        cycle = Cycle(couple_id=couple.id, kind="ivf", stages=["egg_retrieval"])
        db.add(cycle)
        db.flush()
        ver = Verification(cycle_id=cycle.id, patient_id=patient.id, stage="egg_retrieval", decision="accept",
                           workstation_id=workstation)
        db.add(ver)
        db.commit()
        return ver.id


def test_nurse_cannot_read_another_workstations_results(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    own = _seed_verification(daemon, "ws-a")
    other = _seed_verification(daemon, "ws-b")
    nurse, _ = daemon.login("nurse1")
    assert nurse.get(f"/api/v1/verifications/{own}").status_code == 200
    resp = nurse.get(f"/api/v1/verifications/{other}")
    assert resp.status_code == 404 and _err(resp) == "not_found"
    assert [v["id"] for v in nurse.get("/api/v1/verifications").json()["items"]] == [own]
    inspector, _ = daemon.login("inspector")
    assert inspector.get(f"/api/v1/verifications/{other}").status_code == 200
    assert inspector.get("/api/v1/verifications").json()["total"] == 2


def test_api_key_bound_to_workstation_scopes_reads(make_app: Any) -> None:
    daemon = make_app()
    other = _seed_verification(daemon, "ws-b")
    admin, csrf = daemon.login("admin")
    token = admin.post("/api/v1/api-keys", json={"name": "ws-b", "role": "nurse", "workstation_id": "ws-b"},
                       headers={"X-CSRF-Token": csrf}).json()["token"]
    client = daemon.client()
    resp = client.get(f"/api/v1/verifications/{other}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.json()["workstation_id"] == "ws-b"


def test_disabling_staff_ends_their_sessions(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, _ = daemon.login("nurse1")
    admin, csrf = daemon.login("admin")
    nurse_id = nurse.get("/api/v1/auth/me").json()["staff"]["id"]
    resp = admin.patch(f"/api/v1/staff/{nurse_id}", json={"active": False}, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 200 and resp.json()["active"] is False
    assert nurse.get("/api/v1/auth/me").status_code == 401
    again = daemon.client().post("/api/v1/auth/login",
                                 json={"username": "nurse1", "password": daemon.passwords["nurse1"]})
    assert again.status_code == 401


def test_logins_and_admin_changes_are_audited(db_url: str, make_app: Any) -> None:
    from sqlalchemy import select

    from idverify.ledger.models import LedgerEntry

    daemon = make_app(db_url)
    client = daemon.client()
    client.post("/api/v1/auth/login", json={"username": "nurse1", "password": "wrong-password"})
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf}
    issued = admin.post("/api/v1/api-keys", json={"name": "k", "role": "nurse"}, headers=h).json()
    admin.delete(f"/api/v1/api-keys/{issued['key']['id']}", headers=h)
    admin.post("/api/v1/auth/logout", headers=h)
    with daemon.app.state.ctx.session_factory() as db:
        entries = list(db.scalars(select(LedgerEntry).order_by(LedgerEntry.index)))
    assert [e.event_type for e in entries] == ["staff.login_failed", "staff.login", "api_key.issued",
                                               "api_key.revoked", "staff.logout"]
    assert all("wrong-password" not in e.canonical and issued["token"] not in e.canonical for e in entries)
