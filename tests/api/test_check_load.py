"""Stage checks under load, on SQLite and PostgreSQL (bounded: a few checks, a few seconds).

Concurrent checks are all answered — 201 or 503 ``busy`` with ``Retry-After``, never a 500 — and every
acknowledged check has its ledger event, no more and no fewer. While a check is matching, ``/healthz`` answers,
a registration (a write) goes through and a check beyond the capacity gets 503 at once: the check holds no
database lock while it matches. Latency figures are ``idverify bench load``'s business (README), not this test's.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from idverify.bench.load import check_bodies, seed
from idverify.biometrics import workers
from idverify.ledger.models import LedgerEntry
from idverify.store.models import Verification
from idverify.workflow import factors

OTHER = {"document_type": "cn_resident_id", "document_number": "320102199201011229", "name": "他人", "sex": "F",
         "birth_date": "1992-01-01"}


@pytest.fixture
def data(shared_data: Path) -> Path:
    if not (shared_data / "face" / "asian_dev").is_dir() or not (shared_data / "fingerprint").is_dir():
        pytest.skip("asian_dev faces or FVC2002 fingerprints missing")
    return shared_data


def _started(daemon: Any, data: Path) -> tuple[str, dict[str, str]]:
    cycle_id, token = seed(daemon.settings.resolved_database_url, data, daemon.settings)
    return f"/api/v1/cycles/{cycle_id}/checks", {"authorization": f"Bearer {token}"}


def _recorded(daemon: Any) -> tuple[int, int]:
    with daemon.app.state.ctx.session_factory() as db:
        rows = db.scalar(select(func.count()).select_from(Verification))
        events = db.scalar(select(func.count()).select_from(LedgerEntry)
                           .where(LedgerEntry.event_type == "verification.completed"))
    return int(rows or 0), int(events or 0)


@pytest.fixture
def serving(make_app: Any) -> Iterator[Any]:
    clients: list[TestClient] = []

    def start(db_url: str, **settings: Any) -> tuple[Any, TestClient]:
        daemon = make_app(db_url, **settings)
        client = TestClient(daemon.app, raise_server_exceptions=False)
        client.__enter__()  # one event loop for every request, as under uvicorn
        clients.append(client)
        return daemon, client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_concurrent_checks_are_all_answered(db_url: str, data: Path, serving: Any) -> None:
    daemon, client = serving(db_url, max_concurrent_checks=2, check_queue=3)
    url, auth = _started(daemon, data)
    bodies = check_bodies(data)
    answers: list[Any] = []
    lock = threading.Lock()
    go = threading.Barrier(8)

    def one(i: int) -> None:
        go.wait()
        resp = client.post(url, json=bodies[i % len(bodies)], headers=auth)
        with lock:
            answers.append(resp)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = Counter(r.status_code for r in answers)
    assert len(answers) == 8 and set(statuses) <= {201, 503}, statuses
    assert statuses[201] >= 2
    for busy in (r for r in answers if r.status_code == 503):
        assert busy.json()["error"]["code"] == "busy" and int(busy.headers["retry-after"]) >= 1
    assert _recorded(daemon) == (statuses[201], statuses[201])


def test_a_matching_check_holds_no_lock(db_url: str, data: Path, serving: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    daemon, client = serving(db_url, max_concurrent_checks=1, check_queue=0)
    url, auth = _started(daemon, data)
    body = check_bodies(data)[0]
    matching, release = threading.Event(), threading.Event()
    real = workers.run

    def slow_matching(fn: Any, *args: Any, **kwargs: Any) -> Any:  # the fingerprint waits before the worker
        if fn is factors.fingerprint_factor:
            matching.set()
            release.wait(60)
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(workers, "run", slow_matching)
    answer: list[Any] = []
    check = threading.Thread(target=lambda: answer.append(client.post(url, json=body, headers=auth)))
    check.start()
    try:
        assert matching.wait(60)
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["database"]["status"] == "ok"
        nurse, csrf = daemon.login("nurse1")  # a write while the check matches
        registered = nurse.post("/api/v1/patients", json=OTHER, headers={"X-CSRF-Token": csrf})
        assert registered.status_code == 201, registered.text
        busy = client.post(url, json=body, headers=auth)  # the one slot is taken and nobody may wait
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"
        assert int(busy.headers["retry-after"]) >= 1
        assert check.is_alive()  # all of the above happened while the check was still matching
    finally:
        release.set()
        check.join(60)
    assert answer[0].status_code == 201, answer[0].text
    assert _recorded(daemon) == (1, 1)
