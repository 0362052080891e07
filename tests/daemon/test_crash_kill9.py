"""kill -9 during audited writes, on SQLite and on PostgreSQL: the daemon runs as a real process, four clients
register patients as fast as it answers, the process is killed mid-stream, restarted — and every registration it
acknowledged (201) has its ``patient.registered`` entry in the ledger, and the ledger verifies. Bounded: about two
seconds of writes per database."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from idverify.ledger.integrity import verify_stored_tree
from idverify.ledger.models import LedgerEntry
from idverify.store.db import make_engine, make_session_factory, upgrade_database

from ..servers import free_port, idverify_process

REPO = Path(__file__).resolve().parents[2]
WRITERS = 4
WRITE_S = 2.0


@contextmanager
def _daemon(env: dict[str, str], base: str) -> Iterator[subprocess.Popen[bytes]]:
    with idverify_process(["serve"], env, env["IDVERIFY_DATA_DIR"], f"{base}/healthz", healthy=(200,)) as proc:
        yield proc


def _nurse_key(url: str) -> str:
    from idverify.auth import service
    from idverify.auth.roles import Role

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            issued = service.create_api_key(db, name="load", role=Role.NURSE, created_by=None,
                                            workstation_id="ws-a", expires_in_days=None)
            db.commit()
            return issued.token
    finally:
        engine.dispose()


def test_every_acknowledged_write_survives_kill_9(db_url: str, tmp_path: Path) -> None:
    upgrade_database(db_url)
    token = _nurse_key(db_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "daemon"
    data_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "IDVERIFY_DATA_DIR": str(data_dir), "IDVERIFY_DATABASE_URL": db_url, "IDVERIFY_PORT": str(port),
           "IDVERIFY_HOST": "127.0.0.1", "IDVERIFY_WORKSTATION_ID": "ws-a", "IDVERIFY_LOG_LEVEL": "WARNING",
           "IDVERIFY_CHECKPOINT_INTERVAL_S": "1"}
    env.pop("IDVERIFY_CONFIG_FILE", None)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            i = 0
            while not stop.is_set():
                i += 1
                body = {"document_type": "passport", "document_number": f"K{n}{i:07d}", "name": "Load Test",
                        "sex": "F"}
                try:
                    resp = client.post("/api/v1/patients", json=body)
                except httpx.HTTPError:
                    continue  # the daemon is gone: nothing acknowledged
                if resp.status_code == 201:
                    with lock:
                        acknowledged.append(resp.json()["patient"]["id"])

    with _daemon(env, base) as proc:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for t in threads:
            t.start()
        time.sleep(WRITE_S)
        proc.send_signal(signal.SIGKILL)  # mid-stream: requests are in flight
        proc.wait(10)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(15)
    assert len(acknowledged) > 5, "too few writes to mean anything"

    with _daemon(env, base):  # restarts on the database as the crash left it
        assert httpx.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as db:
            recorded = set(db.scalars(select(LedgerEntry.patient_id)
                                      .where(LedgerEntry.event_type == "patient.registered")))
            report = verify_stored_tree(db)
    finally:
        engine.dispose()
    lost = [pid for pid in acknowledged if pid not in recorded]
    assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged registrations are not in the ledger"
    assert report.ok, report.problems
