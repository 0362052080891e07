"""Password guessing is throttled per client and per account, without a lock a stranger can trigger and without
revealing which usernames exist; repeated failures raise an audit alert (issue 16.2)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from idverify.auth.throttle import LoginThrottle, TooManyAttempts, forwarded_client
from idverify.config import proxy_networks
from idverify.ledger.models import LedgerEntry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _retry_after(throttle: LoginThrottle, client: str, username: str) -> int | None:
    try:
        throttle.check(client, username)
    except TooManyAttempts as exc:
        return exc.retry_after
    return None


def test_client_limit_trips_first_and_expires() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    alerts = [throttle.failed("10.0.0.66", "nurse1") for _ in range(throttle.client_limit)]
    assert [a.scope for batch in alerts for a in batch] == ["client"]  # the account limit is not reached
    assert _retry_after(throttle, "10.0.0.66", "nurse1") == 60
    assert _retry_after(throttle, "10.0.0.66", "anyone-else") == 60  # per client: every name
    assert _retry_after(throttle, "10.0.0.7", "nurse1") is None  # the nurse's own desk is unaffected
    clock.now += 30
    assert _retry_after(throttle, "10.0.0.66", "nurse1") == 30
    clock.now += 30
    assert _retry_after(throttle, "10.0.0.66", "nurse1") is None


def test_account_delay_is_soft_grows_and_spares_known_clients() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    throttle.succeeded("10.0.0.7", "nurse1")  # her workstation, yesterday
    for i in range(throttle.account_limit):  # guesses spread over many machines
        throttle.failed(f"10.9.0.{i}", "Nurse1")
    assert _retry_after(throttle, "10.9.9.9", "nurse1") == 1  # a delay, not a lock
    assert _retry_after(throttle, "10.0.0.7", "nurse1") is None  # known client: no wait at all
    clock.now += 1
    assert _retry_after(throttle, "10.9.9.9", "nurse1") is None
    for i in range(4):
        throttle.failed(f"10.8.0.{i}", "nurse1")
    assert _retry_after(throttle, "10.9.9.9", "nurse1") == 16
    for i in range(10):
        throttle.failed(f"10.7.0.{i}", "nurse1")
    assert _retry_after(throttle, "10.9.9.9", "nurse1") == throttle.max_delay_s  # capped
    clock.now += throttle.account_window_s
    assert _retry_after(throttle, "10.9.9.9", "nurse1") is None  # the window forgets


def test_unknown_names_are_throttled_like_real_ones() -> None:
    throttle = LoginThrottle(clock=Clock())
    for name in ("nurse1", "nobody"):
        for i in range(throttle.account_limit):
            throttle.failed(f"10.1.{len(name)}.{i}", name)
    assert _retry_after(throttle, "10.5.5.5", "nurse1") == _retry_after(throttle, "10.5.5.5", "nobody") == 1


def _login(client: Any, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_a_strangers_burst_neither_locks_the_nurse_out_nor_reveals_names(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    stranger = TestClient(daemon.app, raise_server_exceptions=False, client=("10.0.0.66", 5000))
    desk = TestClient(daemon.app, raise_server_exceptions=False, client=("10.0.0.7", 5000))
    answers = [_login(stranger, name, "wrong-password") for name in ("nurse1", "nobody", "nurse1", "nobody", "admin")]
    assert {(r.status_code, r.json()["error"]["code"]) for r in answers} == {(401, "invalid_credentials")}
    # the stranger's sixth guess waits; even the right password is not compared
    blocked = _login(stranger, "nurse1", daemon.passwords["nurse1"])
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    unknown = _login(stranger, "nobody", "x")
    assert unknown.status_code == 429 and unknown.headers["retry-after"] == blocked.headers["retry-after"]
    # the nurse at her desk logs in at once (no lock), twice in a row
    for _ in range(2):
        assert _login(desk, "nurse1", daemon.passwords["nurse1"]).status_code == 200
    # wrong password, disabled or unknown: one answer from a fresh client
    other = TestClient(daemon.app, raise_server_exceptions=False, client=("10.0.0.8", 5000))
    assert _login(other, "nurse2", "wrong-password").json()["error"]["code"] == "invalid_credentials"
    assert _login(other, "ghost", "wrong-password").json()["error"]["code"] == "invalid_credentials"

    with daemon.app.state.ctx.session_factory() as db:
        alerts = [json.loads(e.canonical)["event"] for e in
                  db.scalars(select(LedgerEntry).where(LedgerEntry.event_type == "auth.repeated_failures"))]
        text = "".join(e.canonical for e in db.scalars(select(LedgerEntry)))
    assert len(alerts) == 1 and alerts[0]["data"]["scope"] == "client" and alerts[0]["data"]["failures"] == 5
    assert alerts[0]["actor"]["role"] == "system" and alerts[0]["data"]["known_account"] is True
    assert "wrong-password" not in text and "nobody" not in text and "ghost" not in text


def test_many_machines_only_slow_the_account_down(make_app: Any) -> None:
    daemon = make_app()
    throttle = daemon.app.state.ctx.login_throttle
    desk = TestClient(daemon.app, raise_server_exceptions=False, client=("10.0.0.7", 5000))
    assert _login(desk, "nurse1", daemon.passwords["nurse1"]).status_code == 200  # her desk is known
    for i in range(throttle.account_limit * 2):
        guesser = TestClient(daemon.app, raise_server_exceptions=False, client=(f"10.9.0.{i}", 5000))
        resp = _login(guesser, "nurse1", "wrong-password")
        assert resp.status_code in (401, 429)
    late = TestClient(daemon.app, raise_server_exceptions=False, client=("10.9.1.1", 5000))
    delayed = _login(late, "nurse1", daemon.passwords["nurse1"])
    assert delayed.status_code == 429 and int(delayed.headers["retry-after"]) >= 1
    assert _login(desk, "nurse1", daemon.passwords["nurse1"]).status_code == 200
    with daemon.app.state.ctx.session_factory() as db:
        scopes = [json.loads(e.canonical)["event"]["data"]["scope"] for e in
                  db.scalars(select(LedgerEntry).where(LedgerEntry.event_type == "auth.repeated_failures"))]
    assert scopes == ["account"]


def test_the_override_witness_cannot_be_locked_and_guessing_her_password_is_throttled(make_app: Any) -> None:
    from idverify.store.models import Couple, Cycle, Patient, Verification

    daemon = make_app()
    ctx = daemon.app.state.ctx
    with ctx.session_factory() as db:
        patient = Patient(sex="F", document_type="cn_resident_id", document_lookup="x",
                          identity=ctx.keys.ring.encrypt(b"{}", "patient:x"), kek_id=ctx.keys.ring.active_id)
        db.add(patient)
        db.flush()
        couple = Couple(female_patient_id=patient.id)
        db.add(couple)
        db.flush()
        cycle = Cycle(couple_id=couple.id, kind="ivf", stages=["egg_retrieval"])
        db.add(cycle)
        db.flush()
        rejected = Verification(cycle_id=cycle.id, patient_id=patient.id, stage="egg_retrieval", decision="reject",
                                workstation_id="ws-a")
        db.add(rejected)
        db.commit()
        verification_id = rejected.id
    nurse, csrf = daemon.login("nurse1")
    url = f"/api/v1/verifications/{verification_id}/override"

    def attempt(password: str) -> Any:
        return nurse.post(url, headers={"X-CSRF-Token": csrf}, json={
            "reason_code": "injury", "witness_username": "nurse2", "witness_password": password})

    for _ in range(ctx.login_throttle.client_limit):
        resp = attempt("wrong-password")
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_credentials"
    throttled = attempt(daemon.passwords["nurse2"])
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    # the witness herself was never locked: she logs in at her desk
    desk = TestClient(daemon.app, raise_server_exceptions=False, client=("10.0.0.9", 5000))
    assert _login(desk, "nurse2", daemon.passwords["nurse2"]).status_code == 200


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = proxy_networks("10.0.0.5, 192.168.1.0/24")
    # no trusted proxy configured, or a peer that is not one: the peer is the client, whatever it claims
    assert forwarded_client("10.0.0.5", ["1.2.3.4"], ()) == "10.0.0.5"
    assert forwarded_client("10.0.0.66", ["1.2.3.4"], proxies) == "10.0.0.66"
    # behind the proxy: the nearest untrusted hop, not a forged leftmost entry
    assert forwarded_client("10.0.0.5", ["6.6.6.6, 10.1.2.3"], proxies) == "10.1.2.3"
    assert forwarded_client("10.0.0.5", ["6.6.6.6", "10.1.2.3, 192.168.1.9"], proxies) == "10.1.2.3"
    # a malformed hop ends the walk at the last trusted view; no header at all keys on the proxy
    assert forwarded_client("10.0.0.5", ["garbage, 192.168.1.9"], proxies) == "192.168.1.9"
    assert forwarded_client("10.0.0.5", [], proxies) == "10.0.0.5"


def test_a_malformed_trusted_proxy_refuses_to_start(tmp_path: Any) -> None:
    from idverify.config import load_settings
    from idverify.errors import ConfigError

    try:
        load_settings(data_dir=tmp_path, trusted_proxies="10.0.0.5, not-an-ip")
    except ConfigError as exc:
        assert "not-an-ip" in str(exc)
    else:
        raise AssertionError("a malformed trusted_proxies entry was accepted")


def test_behind_a_trusted_proxy_each_nurse_is_her_own_client(make_app: Any) -> None:
    daemon = make_app(trusted_proxies="10.0.0.5")
    proxy = TestClient(daemon.app, raise_server_exceptions=False, client=("10.0.0.5", 5000))

    def via_proxy(origin: str, username: str, password: str) -> Any:
        return proxy.post("/api/v1/auth/login", json={"username": username, "password": password},
                          headers={"X-Forwarded-For": origin})

    throttle = daemon.app.state.ctx.login_throttle
    for _ in range(throttle.client_limit):
        assert via_proxy("10.2.0.66", "ghost", "wrong-password").status_code == 401
    assert via_proxy("10.2.0.66", "ghost", "wrong-password").status_code == 429
    # another workstation behind the same proxy is not caught by the stranger's throttle
    assert via_proxy("10.2.0.7", "nurse1", daemon.passwords["nurse1"]).status_code == 200
    # the stranger cannot dodge by forging a leftmost entry: the proxy appends the real address last
    assert via_proxy("1.1.1.1, 10.2.0.66", "ghost", "wrong-password").status_code == 429
