"""kill -9 of the hub while clinics are being cosigned and fed, on SQLite and on PostgreSQL.

The witness spec says the hub persists a cosigned size before answering; the feed says a batch is stored whole or
not at all. So: the hub runs as a real process (``idverify hub serve``), four clinics grow their logs and ask for
cosignatures and push their entries as fast as it answers, the process is killed mid-stream and restarted — and
for every clinic the hub holds at least the size it acknowledged, exactly ``feed_size`` stored entries (no
half-written batch), and every clinic resumes where the hub says (409 with the hub's size, then 200) without a
refusal. Bounded: about two seconds of traffic per database.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from idverify.ledger.witness_client import FEED_ENTRIES_PATH, HubClient, HubUnavailable

from ..servers import free_port, idverify_process
from .memlog import MemoryLog

REPO = Path(__file__).resolve().parents[2]
CLINICS = 4
TRAFFIC_S = 2.0


@contextmanager
def _hub(env: dict[str, str], base: str) -> Iterator[subprocess.Popen[bytes]]:
    with idverify_process(["hub", "serve"], env, env["IDVERIFY_HUB_DATA_DIR"], f"{base}/healthz",
                          healthy=(200, 503)) as proc:
        yield proc


class WireClinic:
    """A clinic log that talks to the hub over HTTP and remembers what the hub acknowledged."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.log = MemoryLog()
        self.cosigned = 0  # last size the hub answered 200 for
        self.fed = 0  # feed size of the last 200
        self.refused: list[str] = []

    def grow(self, k: int) -> None:
        events = [{"type": "verification.completed", "occurred_at": "2026-12-01T08:00:00.000000Z",
                   "actor": {"staff_id": f"nurse-{self.n}", "role": "nurse", "workstation": "ws-1"},
                   "subject": {"patient_id": f"p-{self.n}-{len(self.log.leaves) + i}", "cycle_id": f"c-{self.n}"},
                   "data": {"stage": "embryo_transfer", "decision": "accept"}} for i in range(k)]
        self.log.add_events(events)

    def cosign(self, client: HubClient, size: int) -> int:
        """Ask for a cosignature of ``size`` from what the hub last acknowledged; on 409 resume from the hub's size
        (as the daemon does). Returns the status of the last answer."""
        old = self.cosigned
        for _ in range(3):
            answer = client.add_checkpoint(old, self.log.consistency(old, size), self.log.note(size))
            if answer.status == 409 and answer.size is not None and answer.size != old:
                old = answer.size
                continue
            if answer.status == 200:
                self.cosigned = size
            elif answer.status != 409:
                self.refused.append(f"cosign {old}->{size}: {answer.status} {answer.error}")
            return answer.status
        return 409

    def feed(self, client: HubClient, size: int) -> int:
        proof = [base64.b64encode(h).decode() for h in self.log.consistency(size, self.cosigned)] \
            if size < self.cosigned else []
        resp = client.signed(self.log.signer, "POST", FEED_ENTRIES_PATH, {
            "start": self.fed, "checkpoint_size": self.cosigned, "entries": self.log.texts[self.fed:size],
            "proof": proof})
        if resp.status_code == 200:
            self.fed = int(resp.json()["feed_size"])
        elif resp.status_code == 409 and "feed_size" in resp.text:
            self.fed = int(resp.json()["error"]["details"]["feed_size"])  # resume where the hub is
        else:
            self.refused.append(f"feed {self.fed}->{size}: {resp.status_code} {resp.text[:200]}")
        return resp.status_code


def _register(url: str, clinics: list[WireClinic]) -> None:
    from idverify.hub.clinics import add_clinic
    from idverify.hub.db import upgrade_hub_database
    from idverify.store.db import make_engine, make_session_factory

    upgrade_hub_database(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            for c in clinics:
                add_clinic(s, name=f"Clinic {c.n}", verifier=c.log.vkey)
            s.commit()
    finally:
        engine.dispose()


def _state(url: str) -> dict[str, tuple[int, int, int]]:
    """origin -> (cosigned size, feed size, stored entries)."""
    from idverify.hub.models import HubClinic, HubEntry
    from idverify.store.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            out = {}
            for clinic in s.scalars(select(HubClinic)):
                stored = s.scalar(select(func.count()).select_from(HubEntry).where(HubEntry.clinic_id == clinic.id))
                out[clinic.origin] = (int(clinic.witness_size), int(clinic.feed_size), int(stored or 0))
            return out
    finally:
        engine.dispose()


def test_every_acknowledged_cosignature_and_batch_survives_kill_9(hub_db_url: str, tmp_path: Path) -> None:
    clinics = [WireClinic(n) for n in range(CLINICS)]
    _register(hub_db_url, clinics)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "IDVERIFY_HUB_DATA_DIR": str(data_dir), "IDVERIFY_HUB_DATABASE_URL": hub_db_url,
           "IDVERIFY_HUB_PORT": str(port), "IDVERIFY_HUB_HOST": "127.0.0.1", "IDVERIFY_HUB_LOG_LEVEL": "WARNING"}
    stop = threading.Event()

    def traffic(clinic: WireClinic) -> None:
        client = HubClient(base, timeout_s=10)
        try:
            while not stop.is_set():
                clinic.grow(7)
                size = len(clinic.log.leaves)
                try:
                    if clinic.cosign(client, size) == 200:
                        clinic.feed(client, size)
                except HubUnavailable:
                    return  # the hub is gone: what it did not answer was not acknowledged
        finally:
            client.close()

    with _hub(env, base) as proc:
        threads = [threading.Thread(target=traffic, args=(c,), daemon=True) for c in clinics]
        for t in threads:
            t.start()
        time.sleep(TRAFFIC_S)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
    acked = {c.log.origin: (c.cosigned, c.fed) for c in clinics}
    assert all(size > 0 for size, _ in acked.values()), acked  # traffic went through before the kill
    assert sum(fed for _, fed in acked.values()) > 0, acked
    state = _state(hub_db_url)
    for origin, (cosigned, fed) in acked.items():
        witness_size, feed_size, stored = state[origin]
        assert witness_size >= cosigned, (origin, witness_size, cosigned)  # persisted before it answered
        assert feed_size >= fed and stored == feed_size, (origin, feed_size, fed, stored)  # whole batches only
    assert all(not c.refused for c in clinics), [c.refused for c in clinics]

    with _hub(env, base):  # restarted: every clinic resumes from what the hub says and carries on
        client = HubClient(base, timeout_s=10)
        try:
            for clinic in clinics:
                clinic.grow(3)
                size = len(clinic.log.leaves)
                assert clinic.cosign(client, size) == 200, clinic.refused
                assert clinic.feed(client, size) in (200, 409)  # 409 feed_gap: resumed from the hub's feed size
                if clinic.fed < size:
                    assert clinic.feed(client, size) == 200, clinic.refused
                assert clinic.fed == size
        finally:
            client.close()
    assert all(not c.refused for c in clinics), [c.refused for c in clinics]
    after = _state(hub_db_url)
    for clinic in clinics:
        size = len(clinic.log.leaves)
        assert after[clinic.log.origin] == (size, size, size)
