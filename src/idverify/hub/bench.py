"""``idverify bench hub``: the regional hub at region scale, on a throw-away database.

1. **generate** (not timed, in parallel): per clinic, a realistic synthetic ledger — couples registered (regional
   pseudonyms; 2 % of the women also registered at other clinics), cycles opened and closed, stage checks with
   rejects and overrides, enrolments — as the clinics' exact leaf bytes, its Merkle tree, ``rounds`` signed
   checkpoints with consistency proofs (the witness requests) and feed batches with proofs against the last one.
2. **witness, over HTTP**: the first half of the rounds is posted to ``POST /witness/add-checkpoint`` of ``P``
   uvicorn hub workers by ``P`` client processes of ``witness_threads`` threads each (a keep-alive connection per
   thread, each thread its own clinics), everything on this machine → ``witness_http_per_s``, and the CPU per
   request of the server's processes and of the clients (``witness_http_server_cpu_ms``, ``…_client_cpu_ms``):
   the clients take cores the server would have on its own machine.
3. **witness, in the hub processes**: the second half is submitted by ``P`` processes calling the witness service
   (parse, signature, proof, compare-and-swap, history, outbox, COMMIT), each with ``witness_threads`` threads
   submitting for different clinics at once, as a hub worker's thread pool serves clinics that submit
   independently → ``witness_per_s``: the witness's own throughput without the HTTP framing (which phase 2 shows
   separately). Every cosignature is committed (flushed to disk) before its answer, so one submitter at a time
   is bounded by the disk's flush latency; concurrent submissions share one statement and one flush
   (:mod:`idverify.hub.group_commit`).
4. **feed**: ``P`` processes, each with ``feed_threads`` threads pushing different clinics' batches at once, push
   every batch (signed request checked, batch parsed, frontier + proof verified, entries stored, projections and
   per-person alert checks, COMMIT) → ``feed_entries_per_s``. A batch waits on PostgreSQL about as long as it
   computes; a second thread computes meanwhile, as a worker's thread pool does for clinics pushing together.
5. **alert queries** over the full region (after VACUUM ANALYZE of the projection tables): every sweep rule, the
   per-person lookups (median and max over 200 people, and one batched lookup of 400), the inspector's clinics table
   and monthly statistics.
6. **race**: two processes hammering one origin; the cosignature history must be one chain (no rollback).

Rates are wall-clock with every process (and PostgreSQL) sharing the machine's cores; CPU seconds of the hub's
own processes are reported beside them, since the machine may be shared.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idverify.ports import free_port

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STAGES = (("sperm_retrieval", "M"), ("egg_retrieval", "F"), ("embryo_transfer", "F"))
SHARED_PEOPLE = 0.02


@dataclass(frozen=True)
class BenchConfig:
    clinics: int
    events: int
    backend: str = "sqlite"
    postgres_url: str | None = None
    processes: int = 2
    rounds: int = 10
    batch: int = 1000
    race_requests: int = 300
    witness_threads: int = 16  # concurrent submissions per hub process / HTTP client (clinics submit independently)
    feed_threads: int = 2  # concurrent feed batches per hub process in phase 4
    keep: bool = False  # leave the scratch schema and the generated files behind (for EXPLAIN, profiling)


def clinic_key(i: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"idverify-bench-clinic-{i}".encode()).digest())


# ------------------------------------------------------------------------------------------------ generation
def _events(i: int, n: int, region_key: bytes, shared: int, seed: int) -> Iterator[dict[str, Any]]:
    from idverify.store.region import RegionKey

    region = RegionKey(region_key)
    rng = random.Random(seed * 100_003 + i)  # noqa: S311 - synthetic data, not secrets
    staff = [f"s{i}-{k}" for k in range(12)]
    emitted = couple_no = 0

    def ev(etype: str, subject: dict[str, Any], data: dict[str, Any], who: str | None = None) -> dict[str, Any]:
        return {"type": etype, "occurred_at": "2026-01-01T00:00:00+08:00",
                "actor": {"staff_id": who or rng.choice(staff), "role": "nurse", "workstation": f"ws-{i}"},
                "subject": subject, "data": data}

    while emitted < n:
        couple_no += 1
        tag = f"{i:04d}{couple_no:07d}"
        female_no = f"SHARED{rng.randrange(shared):08d}" if rng.random() < SHARED_PEOPLE else f"F{tag}"
        f, m, k, c = (str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(4))
        batch = [
            ev("patient.registered", {"patient_id": f}, {"source": "card", "document_type": "cn_resident_id",
               "region_pseudonym": region.pseudonym("cn_resident_id", female_no), "region_key_id": region.key_id}),
            ev("patient.registered", {"patient_id": m}, {"source": "card", "document_type": "cn_resident_id",
               "region_pseudonym": region.pseudonym("cn_resident_id", f"M{tag}"), "region_key_id": region.key_id}),
            ev("enrollment.complete", {"patient_id": f}, {"enrollment_id": str(uuid.UUID(int=rng.getrandbits(128)))}),
            ev("enrollment.complete", {"patient_id": m}, {"enrollment_id": str(uuid.UUID(int=rng.getrandbits(128)))}),
            ev("couple.registered", {"couple_id": k}, {"female_patient_id": f, "male_patient_id": m}),
            ev("cycle.opened", {"couple_id": k, "cycle_id": c}, {"kind": "ivf", "stages": [s for s, _ in STAGES]}),
        ]
        for stage, sex in STAGES:
            nurse = rng.choice(staff)
            decision = "accept" if rng.random() < 0.93 else ("reject" if rng.random() < 0.6 else "retry")
            who = f if sex == "F" else m
            batch.append(ev("verification.completed", {"patient_id": who, "couple_id": k, "cycle_id": c},
                            {"stage": stage, "decision": decision, "fused_score": round(rng.random(), 4),
                             "factors": {"face": {"score": round(rng.random(), 3)},
                                         "fingerprint": {"score": round(rng.random() * 100, 1)}}}, nurse))
            if decision == "reject" and rng.random() < 0.3:
                batch.append(ev("override.recorded", {"patient_id": who, "cycle_id": c},
                                {"stage": stage, "original_decision": "reject", "reason_code": "injury"}, nurse))
        if rng.random() < 0.8:
            batch.append(ev("cycle.closed", {"couple_id": k, "cycle_id": c}, {}))
        yield from batch[: n - emitted]
        emitted += min(len(batch), n - emitted)


class _Tree:
    """A clinic's tree in memory: every complete node, so any root or proof is O(log n)."""

    def __init__(self) -> None:
        from idverify.ledger.merkle import CompactRange

        self.leaves: list[bytes] = []
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.frontier = CompactRange()

    def append(self, leaf: bytes) -> None:
        self.nodes[(0, len(self.leaves))] = leaf
        self.leaves.append(leaf)
        for node, digest in self.frontier.append(leaf):
            self.nodes[node] = digest

    def range_root(self, start: int, end: int) -> bytes:
        from idverify.ledger.merkle import fold, range_nodes

        return fold([self.nodes[n] for n in range_nodes(start, end)])

    def root(self, size: int) -> bytes:
        from idverify.ledger.merkle import EMPTY_ROOT

        return self.range_root(0, size) if size else EMPTY_ROOT

    def consistency(self, old: int, new: int) -> list[bytes]:
        from idverify.ledger.merkle import consistency_ranges

        return [self.range_root(s, e) for s, e in consistency_ranges(old, new)]


def generate_clinic(i: int, n: int, out: Path, cfg: BenchConfig, region_key: bytes, shared: int) -> None:
    """Write clinic ``i``'s witness bodies (``w<i>.bin``, length-prefixed) and feed batches (``f<i>.jsonl``)."""
    from idverify.ledger.canonical import canonical_bytes, format_time, leaf_bytes, normalise_event
    from idverify.ledger.checkpoint import CheckpointSigner
    from idverify.ledger.merkle import leaf_hash
    from idverify.ledger.witness_protocol import add_checkpoint_body

    signer = CheckpointSigner(clinic_key(i))
    tree = _Tree()
    texts: list[str] = []
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=720) / max(n, 1)
    for index, event in enumerate(_events(i, n, region_key, shared, seed=7)):
        recorded = format_time(start + step * index)
        text = leaf_bytes(index, recorded, canonical_bytes(normalise_event(event)))
        texts.append(text.decode())
        tree.append(leaf_hash(text))
    sizes = [max(1, round(n * k / cfg.rounds)) for k in range(1, cfg.rounds + 1)]
    with (out / f"w{i}.bin").open("wb") as fh:
        old = 0
        signed_at = start
        for size in sizes:
            signed_at += timedelta(minutes=1)
            note = signer.sign(size, tree.root(size), max(signed_at, start + step * size)).note
            body = add_checkpoint_body(old, tree.consistency(old, size), note)
            fh.write(struct.pack(">I", len(body)) + body)
            old = size
    with (out / f"f{i}.jsonl").open("w", encoding="utf-8") as fh:
        for a in range(0, n, cfg.batch):
            b = min(a + cfg.batch, n)
            proof = [base64.b64encode(h).decode() for h in tree.consistency(b, n)] if b < n else []
            fh.write(json.dumps({"start": a, "checkpoint_size": n, "entries": texts[a:b], "proof": proof},
                                ensure_ascii=False, separators=(",", ":")) + "\n")


def _generate_worker(args: tuple[list[tuple[int, int]], str, BenchConfig, bytes, int]) -> int:
    items, out, cfg, region_key, shared = args
    for i, n in items:
        generate_clinic(i, n, Path(out), cfg, region_key, shared)
    return len(items)


def _bodies(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        out.append(data[pos + 4:pos + 4 + length])
        pos += 4 + length
    return out


# --------------------------------------------------------------------------------------------------- phases
def _settings(url: str, data_dir: str) -> Any:
    from idverify.config import load_hub_settings

    return load_hub_settings(data_dir=Path(data_dir), database_url=url, log_level="WARNING")


def _wait(start_at: float) -> None:
    while time.time() < start_at:
        time.sleep(0.005)


def _witness_worker(url: str, data_dir: str, files: list[str], rounds: range, threads: int, start_at: float,
                    queue: Any) -> None:
    import threading

    from idverify.hub import witness
    from idverify.hub.db import make_hub_engine
    from idverify.hub.keys import witness_signer
    from idverify.ledger.witness_protocol import parse_add_checkpoint
    from idverify.store.db import make_session_factory

    signer = witness_signer(_settings(url, data_dir))
    engine = make_hub_engine(url)
    factory = make_session_factory(engine)
    bodies = [_bodies(Path(f)) for f in files]
    errors = [0] * threads

    def submit(t: int) -> None:  # clinics t, t + threads, …: each thread its own clinics, as separate clinics submit
        for k in rounds:
            for per_clinic in bodies[t::threads]:
                req = parse_add_checkpoint(per_clinic[k])
                try:
                    witness.add_checkpoint(factory, signer, req)
                except witness.WitnessRefused:
                    errors[t] += 1

    workers = [threading.Thread(target=submit, args=(t,)) for t in range(threads)]
    _wait(start_at)
    wall, cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put({"requests": len(rounds) * len(bodies), "errors": sum(errors), "wall": time.perf_counter() - wall,
               "cpu": time.process_time() - cpu, "end": time.time()})
    engine.dispose()


def _http_client(base: str, files: list[str], rounds: range, threads: int, start_at: float, queue: Any) -> None:
    import threading

    import httpx

    bodies = [_bodies(Path(f)) for f in files]
    errors = [0] * threads

    def post(t: int) -> None:  # each thread its own clinics and keep-alive connection, as clinics submit
        with httpx.Client(base_url=base, timeout=60) as http:
            for k in rounds:
                for per_clinic in bodies[t::threads]:
                    resp = http.post("/witness/add-checkpoint", content=per_clinic[k],
                                     headers={"content-type": "text/plain"})
                    errors[t] += resp.status_code != 200

    workers = [threading.Thread(target=post, args=(t,)) for t in range(threads)]
    _wait(start_at)
    wall, cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put({"requests": len(rounds) * len(bodies), "errors": sum(errors), "wall": time.perf_counter() - wall,
               "cpu": time.process_time() - cpu, "end": time.time()})


def _feed_worker(url: str, data_dir: str, files: list[tuple[int, str]], threads: int, start_at: float,
                 queue: Any) -> None:
    import threading

    from idverify.hub import feed
    from idverify.hub.db import make_hub_engine
    from idverify.hub.projection import Projector
    from idverify.hub.request_auth import authenticate
    from idverify.ledger.checkpoint import CheckpointSigner
    from idverify.ledger.witness_protocol import (
        NONCE_HEADER,
        ORIGIN_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        request_message,
    )
    from idverify.store.db import make_session_factory

    settings = _settings(url, data_dir)
    projector = Projector(settings)
    engine = make_hub_engine(url)
    factory = make_session_factory(engine)
    entries, errors = [0] * threads, [0] * threads

    def push(t: int) -> None:  # each thread its own clinics, as clinics push independently
        for i, path in files[t::threads]:
            signer = CheckpointSigner(clinic_key(i))
            with open(path, "rb") as fh:
                for line in fh:
                    body = line.rstrip(b"\n")
                    ts, nonce = int(time.time()), uuid.uuid4().hex
                    headers = {ORIGIN_HEADER: signer.origin, TIMESTAMP_HEADER: str(ts), NONCE_HEADER: nonce,
                               SIGNATURE_HEADER: base64.b64encode(signer.private_key.sign(request_message(
                                   "POST", "/feed/entries", signer.origin, ts, nonce, body))).decode()}
                    with factory() as session:
                        clinic = authenticate(session, method="POST", path="/feed/entries", headers=headers,
                                              body=body, skew_s=settings.request_skew_s, remember_nonce=True)
                        batch = feed.parse_batch(body, max_batch=100_000)
                        try:
                            entries[t] += feed.ingest(session, clinic, batch, project=projector).accepted
                        except Exception:  # counted, the run goes on
                            errors[t] += 1

    workers = [threading.Thread(target=push, args=(t,)) for t in range(threads)]
    _wait(start_at)
    wall, cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put({"entries": sum(entries), "errors": sum(errors), "wall": time.perf_counter() - wall,
               "cpu": time.process_time() - cpu, "end": time.time()})
    engine.dispose()


def _run_processes(target: Callable[..., None], arg_sets: list[tuple[Any, ...]]) -> tuple[list[dict[str, Any]], float]:
    """Start one process per argument set, all released together; returns their reports and the wall time from the
    common start to the last finish."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 3.0  # every interpreter is up by then
    procs = [ctx.Process(target=target, args=(*args, start_at, queue)) for args in arg_sets]
    for p in procs:
        p.start()
    reports = [queue.get(timeout=7200) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return reports, max(r["end"] for r in reports) - start_at


@contextmanager
def _database(cfg: BenchConfig) -> Iterator[str]:
    if cfg.backend == "sqlite":
        if cfg.keep:
            yield f"sqlite:///{Path(tempfile.mkdtemp(prefix='idverify-hub-bench-db-')) / 'hub.db'}"
            return
        with tempfile.TemporaryDirectory(prefix="idverify-hub-bench-db-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'hub.db'}"
        return
    from sqlalchemy import create_engine

    from idverify.ledger.bench import with_search_path

    base = cfg.postgres_url or DEFAULT_POSTGRES_URL
    schema = f"hub_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(base, schema)
    finally:
        if not cfg.keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def _work_dir(cfg: BenchConfig) -> Iterator[str]:
    if cfg.keep:
        yield tempfile.mkdtemp(prefix="idverify-hub-bench-")
        return
    with tempfile.TemporaryDirectory(prefix="idverify-hub-bench-") as tmp:
        yield tmp


def _seconds(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _alert_queries(url: str, data_dir: str, shared: int, region_key: bytes) -> dict[str, float]:
    from sqlalchemy import select

    from idverify.hub import inspection, stats
    from idverify.hub import projection_repository as repo
    from idverify.hub.models import HubPatient
    from idverify.hub.sweep import _months, pseudonym_alerts, rate_alerts, silent_alerts
    from idverify.store.base import utcnow
    from idverify.store.db import make_engine, make_session_factory
    from idverify.store.region import RegionKey

    settings = _settings(url, data_dir)
    engine = make_engine(url)
    out: dict[str, float] = {}
    now = utcnow()
    region = RegionKey(region_key)
    with make_session_factory(engine)() as s:
        for month in _months(now - timedelta(days=40)):
            out[f"rates_{month}_s"] = _seconds(rate_alerts, s, settings, month)
        out["silent_s"] = _seconds(silent_alerts, s, settings, now)
        out["pseudonyms_s"] = _seconds(pseudonym_alerts, s, settings, now)
        s.rollback()
        rng = random.Random(3)  # noqa: S311 - picks people to look up
        shared_people = [region.pseudonym("cn_resident_id", f"SHARED{rng.randrange(shared):08d}")
                         for _ in range(200)]
        sampled = [str(p) for (p,) in s.execute(select(HubPatient.pseudonym).limit(200_000)).all()[::500][:200]]
        people = list(dict.fromkeys(shared_people + sampled))
        since = now - timedelta(days=900)
        lookups: dict[str, Callable[[list[str]], repo.PersonQuery]] = {
            "open_cycles": lambda ps: repo.PersonQuery(open_cycles=ps),
            "retrievals": lambda ps: repo.PersonQuery(retrievals=ps, retrievals_window=(since, now)),
            "couples": lambda ps: repo.PersonQuery(couples=ps, couples_window=(since, now)),
            "all_rules": lambda ps: repo.PersonQuery(open_cycles=ps, retrievals=ps, retrievals_window=(since, now),
                                                     couples=ps, couples_window=(since, now)),
        }
        for name, query in lookups.items():
            times = [_seconds(repo.person_evidence, s, query([p])) for p in people[:200]]
            out[f"person_{name}_median_s"] = statistics.median(times)
            out[f"person_{name}_max_s"] = max(times)
            out[f"batch_{len(people)}_{name}_s"] = _seconds(repo.person_evidence, s, query(people))
        out["clinics_table_s"] = _seconds(inspection.clinics_table, s)
        out["monthly_stats_s"] = _seconds(stats.monthly, s, stats.current_month())
    engine.dispose()
    return out


def _race(url: str, data_dir: str, requests: int) -> dict[str, Any]:
    """Two processes submitting checkpoints of one log as fast as they can (odd and even sizes)."""
    from sqlalchemy import select

    from idverify.hub.clinics import add_clinic
    from idverify.hub.models import HubClinic, HubCosignature
    from idverify.ledger.checkpoint import CheckpointSigner, verifier_key
    from idverify.store.db import make_engine, make_session_factory

    signer = CheckpointSigner(clinic_key(10**6))
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as s:
        clinic = add_clinic(s, name="race", verifier=verifier_key(signer.origin, signer.public_key), role="bench")
        s.commit()
        clinic_id = clinic.id
    reports, wall = _run_processes(_race_worker, [(url, data_dir, 10**6, requests, k) for k in (0, 1)])
    with factory() as s:
        rows = s.execute(select(HubCosignature.old_size, HubCosignature.tree_size)
                         .where(HubCosignature.clinic_id == clinic_id).order_by(HubCosignature.id)).all()
        final = s.scalar(select(HubClinic.witness_size).where(HubClinic.id == clinic_id))
    engine.dispose()
    previous, rollbacks, broken = 0, 0, 0
    for old, size in rows:
        rollbacks += size < previous
        broken += old != previous
        previous = size
    return {"cosigned": len(rows), "conflicts": sum(r["conflicts"] for r in reports), "rollbacks": rollbacks,
            "chain_ok": broken == 0 and final == previous, "final_size": final, "seconds": round(wall, 2)}


def _race_worker(url: str, data_dir: str, i: int, requests: int, parity: int, start_at: float, queue: Any) -> None:
    from idverify.hub import witness
    from idverify.hub.db import make_hub_engine
    from idverify.hub.keys import witness_signer
    from idverify.ledger.checkpoint import CheckpointSigner
    from idverify.ledger.merkle import leaf_hash
    from idverify.ledger.witness_protocol import add_checkpoint_body, parse_add_checkpoint
    from idverify.store.db import make_session_factory

    signer = CheckpointSigner(clinic_key(i))
    tree = _Tree()
    for n in range(2 * requests):
        tree.append(leaf_hash(f"race-leaf-{n}".encode()))
    ws = witness_signer(_settings(url, data_dir))
    engine = make_hub_engine(url)
    factory = make_session_factory(engine)
    notes = {size: signer.sign(size, tree.root(size), datetime.now(UTC)).note
             for size in range(1 + parity, 2 * requests + 1, 2)}
    known, conflicts = 0, 0
    _wait(start_at)
    for size in sorted(notes):
        while size > known:
            req = parse_add_checkpoint(add_checkpoint_body(known, tree.consistency(known, size), notes[size]))
            try:
                witness.add_checkpoint(factory, ws, req)
                known = size
            except witness.WitnessRefused as exc:
                conflicts += 1
                known = int(exc.size or 0)
    queue.put({"conflicts": conflicts, "end": time.time()})
    engine.dispose()


def _serve_http(url: str, data_dir: str, workers: int, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IDVERIFY_HUB_DATABASE_URL": url, "IDVERIFY_HUB_DATA_DIR": data_dir,
           "IDVERIFY_HUB_LOG_LEVEL": "WARNING", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    code = ("import uvicorn; uvicorn.run('idverify.hub.app:create_hub_app', factory=True, host='127.0.0.1', "
            f"port={port}, workers={workers}, log_level='warning', access_log=False)")
    return subprocess.Popen(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_hub_bench(cfg: BenchConfig, progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    region_key = hashlib.sha256(b"idverify-bench-region").digest()
    shared = max(cfg.events // 400, 10)  # women registered at several clinics come from this many people
    result: dict[str, Any] = {"backend": cfg.backend, "clinics": cfg.clinics, "events": cfg.events,
                              "processes": cfg.processes, "witness_threads": cfg.witness_threads,
                              "feed_threads": cfg.feed_threads, "cpu_count": os.cpu_count()}
    with _work_dir(cfg) as tmp, _database(cfg) as url:
        work, data_dir = Path(tmp), str(Path(tmp) / "hub")
        if cfg.keep:
            result["kept"] = {"database_url": url, "files": tmp}
        progress(f"generating {cfg.events:,} events of {cfg.clinics} clinics")
        result["generate_s"] = _generate(cfg, work, region_key, shared)
        _register(cfg, url)
        half = cfg.rounds // 2
        witness_files = [[str(work / f"w{i}.bin") for i in range(cfg.clinics) if i % cfg.processes == p]
                         for p in range(cfg.processes)]
        progress("witness over HTTP")
        result |= _witness_http(cfg, url, data_dir, witness_files, range(0, half))
        progress("witness in the hub processes")
        reports, wall = _run_processes(_witness_worker, [(url, data_dir, share, range(half, cfg.rounds),
                                                          cfg.witness_threads) for share in witness_files])
        requests = sum(r["requests"] for r in reports)
        result |= {"witness_requests": requests, "witness_errors": sum(r["errors"] for r in reports),
                   "witness_per_s": round(requests / wall, 1),
                   "witness_cpu_ms": round(1000 * sum(r["cpu"] for r in reports) / max(requests, 1), 3)}
        progress(f"feed of {cfg.events:,} entries")
        feeds = [[(i, str(work / f"f{i}.jsonl")) for i in range(cfg.clinics) if i % cfg.processes == p]
                 for p in range(cfg.processes)]
        with _analyzer(url):
            reports, wall = _run_processes(_feed_worker, [(url, data_dir, share, cfg.feed_threads)
                                                          for share in feeds])
        entries = sum(r["entries"] for r in reports)
        result |= {"feed_entries": entries, "feed_errors": sum(r["errors"] for r in reports),
                   "feed_entries_per_s": round(entries / wall, 1),
                   "feed_cpu_us_per_entry": round(1e6 * sum(r["cpu"] for r in reports) / max(entries, 1), 1)}
        progress("alert queries")
        _analyze(url)
        queries = _alert_queries(url, data_dir, shared, region_key)
        result["alert_queries_s"] = {k: round(v, 4) for k, v in queries.items()}
        result["alert_query_max_s"] = round(max(v for k, v in queries.items() if not k.endswith("median_s")), 4)
        progress("two processes racing one origin")
        result["race"] = _race(url, data_dir, cfg.race_requests)
        result["alerts_raised"] = _alert_counts(url)
    return result


@contextmanager
def _analyzer(url: str, every_s: float = 15.0) -> Iterator[None]:
    """What PostgreSQL's autovacuum does on a hub that runs for months: keep the planner's statistics of the
    growing projection tables current (every ``every_s`` here, as the tables grow from empty within minutes)."""
    import threading

    from idverify.store.db import make_engine

    if not url.startswith("postgresql"):
        yield
        return
    stop = threading.Event()
    engine = make_engine(url)

    def loop() -> None:
        while not stop.wait(every_s):
            with engine.begin() as conn:
                for table in ("hub_patients", "hub_people", "hub_couples", "hub_cycles", "hub_retrievals",
                              "hub_entries"):
                    conn.exec_driver_sql(f"ANALYZE {table}")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=120)
        engine.dispose()


def _generate(cfg: BenchConfig, work: Path, region_key: bytes, shared: int) -> float:
    per = [cfg.events // cfg.clinics + (1 if i < cfg.events % cfg.clinics else 0) for i in range(cfg.clinics)]
    chunks = [[(i, per[i]) for i in range(cfg.clinics) if i % cfg.processes == p] for p in range(cfg.processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(cfg.processes) as pool:
        pool.map(_generate_worker, [(c, str(work), cfg, region_key, shared) for c in chunks])
    return round(time.perf_counter() - started, 1)


def _register(cfg: BenchConfig, url: str) -> None:
    from idverify.hub.clinics import add_clinic
    from idverify.hub.db import upgrade_hub_database
    from idverify.ledger.checkpoint import CheckpointSigner, verifier_key
    from idverify.store.db import make_engine, make_session_factory

    upgrade_hub_database(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        for i in range(cfg.clinics):
            signer = CheckpointSigner(clinic_key(i))
            add_clinic(s, name=f"Clinic {i:03d}", verifier=verifier_key(signer.origin, signer.public_key))
        s.commit()
    engine.dispose()


def _witness_http(cfg: BenchConfig, url: str, data_dir: str, files: list[list[str]], rounds: range
                  ) -> dict[str, Any]:
    import httpx

    port = free_port()
    server = _serve_http(url, data_dir, cfg.processes, port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the hub workers did not start")
            time.sleep(0.2)
        server_cpu = _tree_cpu_s(server.pid)
        reports, wall = _run_processes(_http_client, [(base, share, rounds, cfg.witness_threads)
                                                      for share in files])
        server_cpu = _tree_cpu_s(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait(timeout=60)
    requests = max(sum(r["requests"] for r in reports), 1)
    return {"witness_http_requests": requests, "witness_http_errors": sum(r["errors"] for r in reports),
            "witness_http_per_s": round(requests / wall, 1),
            "witness_http_server_cpu_ms": round(1000 * server_cpu / requests, 3),
            "witness_http_client_cpu_ms": round(1000 * sum(r["cpu"] for r in reports) / requests, 3)}


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from Linux's ``/proc``.

    Why: the HTTP phase's clients share the machine's cores with the server, so the wall-clock rate says little
    about what the server could answer; the server's own CPU per request does (uvicorn's workers are children of
    the process the bench starts). 0.0 where ``/proc`` does not exist.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, ValueError, IndexError):
            continue
        todo.extend(int(c) for c in children)
    return total / tick


def _analyze(url: str) -> None:
    """Before the alert queries, the state autovacuum keeps a long-running hub in: statistics current and the
    projection tables vacuumed (their visibility maps set, so the sweep's index-only scans do not visit the heap)."""
    from idverify.store.db import make_engine

    if url.startswith("postgresql"):
        engine = make_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        with engine.connect() as conn:
            for table in ("hub_patients", "hub_people", "hub_couples", "hub_cycles", "hub_retrievals", "hub_monthly"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()


def _alert_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from idverify.hub.models import HubAlert
    from idverify.store.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            return {str(k): int(n) for k, n in s.execute(
                select(HubAlert.kind, func.count()).group_by(HubAlert.kind)).all()}
    finally:
        engine.dispose()
