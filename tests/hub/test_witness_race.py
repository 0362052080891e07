"""Two hub processes on one database, racing to cosign one origin: no cosignature ever rolls the log back.

This is the race the tlog-witness spec warns about (request A checked at size N, request B advances to N+K, A
then writes N). The witness's compare-and-swap must make the cosignature history one chain: every cosignature's
old size is the previous one's size, sizes never decrease, and the stored state is the largest size cosigned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from idverify.hub.models import HubClinic, HubCosignature, HubRefusal

from .conftest import MemoryLog

WORKER = Path(__file__).with_name("witness_race_worker.py")
LOG_SIZE = 240


def test_two_processes_racing_never_roll_back(make_hub: Any, hub_db_url: str, tmp_path: Path) -> None:
    hub = make_hub(hub_db_url)
    log = MemoryLog()
    hub.register(log)
    key_file = tmp_path / "clinic.key"
    key_file.write_bytes(log.signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    start_at = time.time() + 2.0  # both interpreters are up and connected by then
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    procs = []
    for offset in (0, 1):
        sizes = list(range(1 + offset, LOG_SIZE + 1, 2))  # A submits odd sizes, B even ones, both ascending
        args = {"url": hub.url, "key_file": str(key_file), "log_size": LOG_SIZE, "sizes": sizes,
                "start_at": start_at, "data_dir": str(hub.settings.data_dir)}
        procs.append(subprocess.Popen([sys.executable, str(WORKER), json.dumps(args)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    # they really raced (one may even be starved: optimistic concurrency lets the faster one win every time)
    assert sum(r["conflicts"] for r in results) > 0, results

    with hub.session() as s:
        rows = s.execute(select(HubCosignature.old_size, HubCosignature.tree_size).order_by(HubCosignature.id)).all()
        clinic = s.scalar(select(HubClinic).where(HubClinic.origin == log.origin))
        reasons = {r.reason for r in s.scalars(select(HubRefusal))}
    previous = 0
    for old, size in rows:
        assert old == previous, f"cosigned {size} from {old} after {previous}: the chain is broken"
        assert size >= previous, f"rolled back from {previous} to {size}"
        previous = size
    assert clinic.witness_size == previous == max(max(r["ok"], default=0) for r in results) == LOG_SIZE
    assert len(rows) == sum(len(r["ok"]) for r in results)
    assert reasons <= {"stale_old_size", "concurrent_update"}


def test_the_compare_and_swap_refuses_a_stale_premise(make_hub: Any, hub_db_url: str) -> None:
    """The interleaving the race test cannot force: request A has read the state, request B advances it, then A
    tries to record — nothing of A's is written."""
    from datetime import UTC, datetime

    from idverify.hub import repository as repo

    hub = make_hub(hub_db_url)
    log = MemoryLog()
    clinic_id = hub.register(log)
    log.grow(8)
    with hub.session() as a, hub.session() as b:
        seen = repo.witness_state(a, log.origin)
        assert seen is not None and seen.size == 0
        a.commit()  # SQLite serialises whole transactions; end A's read so B can write in between

        def new(size: int, state: Any) -> Any:
            return repo.NewCosignature(clinic_id=clinic_id, old_size=state.size, old_root=state.root,
                                       tree_size=size, root_hash=log.root(size), note=log.note(size),
                                       cosignature="\u2014 w AAAAAAAA\n", timestamp=1, at=datetime.now(UTC),
                                       action={"clinic_id": clinic_id}, public_key=state.public_key)

        assert repo.record_cosignature(b, new(8, repo.witness_state(b, log.origin)))
        b.commit()
        assert repo.record_cosignature(a, new(4, seen)) is False  # A's premise (size 0) is gone
        a.commit()
    with hub.session() as s:
        assert [int(r.tree_size) for r in repo.cosignatures(s, clinic_id)] == [8]
        state = repo.witness_state(s, log.origin)
        assert state is not None
        assert state.size == 8
