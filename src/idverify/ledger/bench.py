"""``idverify bench ledger``: durable append rate, proof latency and offline verification time at N entries.

Runs on a throw-away database — SQLite in a temporary directory, or a scratch schema on PostgreSQL that is
dropped afterwards — so it never touches the clinic's ledger. Appends go through :func:`append_many` in
batches, each batch committed (and therefore durable) before the next starts: the reported rate counts only
events whose COMMIT has returned. The single-event rate (one COMMIT per event) is reported beside it.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from idverify.ledger.append import append, append_many
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.export import export_jsonl
from idverify.ledger.integrity import verify_stored_tree
from idverify.ledger.merkle import verify_consistency, verify_inclusion
from idverify.ledger.proofs import consistency_proof, create_checkpoint, inclusion_proof, root_at, tree_size
from idverify.ledger.verify import verify_export
from idverify.store.db import make_engine, make_session_factory, upgrade_database

# The scratch database needs the ledger tables only; later revisions of other areas are not its concern.
LEDGER_REVISION = "ledger_0002"  # entries, nodes, checkpoints and their cosignatures
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SINGLE_SAMPLE = 200
PROOF_SAMPLES = 200


def synthetic_event(i: int) -> dict[str, Any]:
    """A realistic-size verification event with random ids (no personal data)."""
    return {
        "type": "verification.completed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"staff_id": f"staff-{i % 17}", "role": "nurse", "workstation": f"ws-{i % 3}"},
        "subject": {"patient_id": str(uuid.uuid4()), "couple_id": str(uuid.uuid4()), "cycle_id": str(uuid.uuid4())},
        "data": {
            "stage": "embryo_transfer",
            "decision": "accept",
            "factors": {"face": {"score": 0.71, "quality": 0.93}, "fingerprint": {"score": 88.5, "finger": 2}},
            "devices": ["camera:0", "zhiantec:ttyUSB0"],
        },
    }


def with_search_path(url: str, schema: str) -> str:
    """The URL with ``search_path`` set to ``schema`` (psycopg ``options``), for scratch schemas."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@contextmanager
def scratch_database(backend: str, postgres_url: str | None = None) -> Iterator[str]:
    """Yield a migrated database URL that disappears afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="idverify-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade_database(url, LEDGER_REVISION)
            yield url
        return
    base = postgres_url or DEFAULT_POSTGRES_URL
    schema = f"idverify_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(base, schema)
        upgrade_database(url, LEDGER_REVISION)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class LedgerBench:
    events: int
    backend: str
    batch: int
    appends_per_s: float
    single_appends_per_s: float
    inclusion_proof_ms: float
    consistency_proof_ms: float
    verify_s: float
    export_s: float
    integrity_s: float

    def as_spec(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "backend": self.backend,
            "appends_per_s": round(self.appends_per_s, 1),
            "inclusion_proof_ms": round(self.inclusion_proof_ms, 3),
            "consistency_proof_ms": round(self.consistency_proof_ms, 3),
            "verify_s": round(self.verify_s, 3),
            "batch": self.batch,
            "single_appends_per_s": round(self.single_appends_per_s, 1),
            "export_s": round(self.export_s, 3),
            "integrity_check_s": round(self.integrity_s, 3),
        }


Progress = Callable[[int], None]


def _append_all(
    factory: sessionmaker[Session], events: int, batch: int, progress: Progress | None
) -> tuple[float, float]:
    """(group-commit rate, single-commit rate); every counted event's COMMIT has returned."""
    single = min(SINGLE_SAMPLE, events)
    t0 = time.perf_counter()
    with factory() as session:
        for i in range(single):
            append(session, synthetic_event(i))
            session.commit()
    single_rate = single / (time.perf_counter() - t0)
    if progress:
        progress(single)
    done = single
    t0 = time.perf_counter()
    with factory() as session:
        while done < events:
            n = min(batch, events - done)
            append_many(session, [synthetic_event(done + k) for k in range(n)])
            session.commit()
            done += n
            if progress:
                progress(n)
    grouped = events - single
    group_rate = grouped / (time.perf_counter() - t0) if grouped else single_rate
    return group_rate, single_rate


def _proof_latencies(session: Session, rng: random.Random) -> tuple[float, float]:
    """Median inclusion and consistency proof times (ms) at the current size; every proof is verified."""
    size = tree_size(session)
    root = root_at(session, size)
    inc: list[float] = []
    cons: list[float] = []
    for _ in range(PROOF_SAMPLES):
        idx = rng.randrange(size)
        t = time.perf_counter()
        p = inclusion_proof(session, idx, size)
        inc.append(time.perf_counter() - t)
        verify_inclusion(idx, size, p.leaf_hash, p.hashes, root)
        old = rng.randrange(1, size + 1)
        t = time.perf_counter()
        c = consistency_proof(session, old, size)
        cons.append(time.perf_counter() - t)
        verify_consistency(old, size, c.old_root, c.new_root, c.hashes)
    return statistics.median(inc) * 1000, statistics.median(cons) * 1000


def run_ledger_bench(
    events: int,
    *,
    backend: str = "sqlite",
    batch: int = 500,
    postgres_url: str | None = None,
    progress: Progress | None = None,
    seed: int = 7,
) -> LedgerBench:
    rng = random.Random(seed)  # noqa: S311 - picks proof indices, not secrets
    with scratch_database(backend, postgres_url) as url, tempfile.TemporaryDirectory() as tmp:
        engine: Engine = make_engine(url)
        factory = make_session_factory(engine)
        signer = CheckpointSigner.from_file(Path(tmp) / "ledger.key")
        try:
            group_rate, single_rate = _append_all(factory, events, batch, progress)
            export_path = Path(tmp) / "export.jsonl"
            with factory() as session:
                create_checkpoint(session, signer)
                session.commit()
                inclusion_ms, consistency_ms = _proof_latencies(session, rng)
                t = time.perf_counter()
                with export_path.open("w", encoding="utf-8") as fh:
                    export_jsonl(session, fh, clinic="bench")
                export_s = time.perf_counter() - t
                t = time.perf_counter()
                report = verify_stored_tree(session)
                integrity_s = time.perf_counter() - t
                if not report.ok:  # pragma: no cover - would be a bug
                    raise RuntimeError(f"integrity check failed: {report.problems[:3]}")
            t = time.perf_counter()
            verify_export(export_path, signer.public_key)
            verify_s = time.perf_counter() - t
        finally:
            engine.dispose()
    return LedgerBench(
        events=events,
        backend=backend,
        batch=batch,
        appends_per_s=group_rate,
        single_appends_per_s=single_rate,
        inclusion_proof_ms=inclusion_ms,
        consistency_proof_ms=consistency_ms,
        verify_s=verify_s,
        export_s=export_s,
        integrity_s=integrity_s,
    )
