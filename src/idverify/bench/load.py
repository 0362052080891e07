"""``idverify bench load``: many stage checks at once against a running daemon, as a clinic's integration sends them.

A scratch data dir (SQLite, or a scratch schema with ``--database-url postgresql+psycopg://…``) gets an enrolled
patient (face + two fingers, public samples: asian_dev cn_s10, FVC2002 DB1_B 101/102), an open cycle and a nurse
API key; the daemon is started as its own process (``python -m idverify serve``) so the load crosses a real socket.
After three warm-up checks and ``single`` sequential timed checks (the single-check time *t*), ``checks`` checks
are sent ``concurrency`` at a time — uploaded face + fingerprint + card, each the full pipeline with its durable
commit — while ``/healthz`` is sampled every 100 ms. The report gives latencies (p50/p95/p99), answers by status,
throughput, the ``/healthz`` latencies, and the bound ``3 × t × N / cores`` the p99 is held to.
"""

from __future__ import annotations

import base64
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from idverify.console import emit_json, fail
from idverify.errors import ErrorCode, IdverifyError
from idverify.ports import free_port

FACES = ("face", "asian_dev", "cn_s10")
FINGERS = ("fingerprint", "FVC2002_DB1_B")
DOCUMENT_NUMBER = "110101199003074565"  # a valid resident-ID number (GB 11643 check character), female
DOCUMENT = {"document_type": "cn_resident_id", "document_number": DOCUMENT_NUMBER}
HEALTH_EVERY_S = 0.1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _samples(data: Path) -> tuple[Path, Path]:
    faces, fingers = data.joinpath(*FACES), data.joinpath(*FINGERS)
    if not faces.is_dir() or not fingers.is_dir():
        raise IdverifyError(f"sample data not found under {data}", code=ErrorCode.SAMPLE_DATA_MISSING)
    return faces, fingers


def _grey(path: Path) -> Any:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def seed(url: str, data: Path, settings: Any) -> tuple[str, str]:
    """Enrol a patient, open a cycle and issue a nurse API key in ``url``; returns (cycle id, API key)."""
    from idverify.auth import service as auth_service
    from idverify.auth.roles import Principal, Role
    from idverify.biometrics.face import load_image
    from idverify.documents.model import DocumentChecks, IdentityDocument
    from idverify.store.db import make_engine, make_session_factory
    from idverify.store.keys import open_keys
    from idverify.workflow import consent, cycles, enrolment, patients
    from idverify.workflow.captures import Captures
    from idverify.workflow.galleries import Galleries
    from idverify.workflow.stages import CycleKind

    faces, fingers = _samples(data)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            keys = open_keys(settings, db)
            staff = auth_service.create_staff(db, username="bench", display_name="bench", role=Role.NURSE,
                                              password=secrets.token_urlsafe(16))
            actor = Principal(role=Role.NURSE, workstation_id=settings.workstation_id, method="session",
                              staff_id=staff.id, credential_id="bench")
            identity = patients.PatientIdentity(document_type="cn_resident_id", document_number=DOCUMENT_NUMBER,
                                                name="bench", sex="F")
            patient, _ = patients.register(db, keys, identity, source="manual", actor=actor)
            consent.record_consent(db, keys, patient_id=patient.id, accepted=["face", "fingerprint"], refused=[],
                                   retention_days=1, signature_png=None, actor=actor)
            card = IdentityDocument(document_type="cn_resident_id", document_number=DOCUMENT_NUMBER,
                                    checks=DocumentChecks(checksum=True, expired=False), source="bench")
            captures = Captures(
                face_frames=[load_image(faces / f) for f in ("10_12.jpg", "10_5.jpg", "10_9.jpg")],
                fingerprints=[(pos, _grey(fingers / f"{name}.tif"))
                              for pos, name in (("right_index", "101_1"), ("left_index", "102_1"))],
                document=card)
            outcome = enrolment.enrol(db, keys, Galleries(), patient_id=patient.id, captures=captures, actor=actor)
            if outcome.enrollment.status != "complete":
                raise IdverifyError(f"bench enrolment ended {outcome.enrollment.status}")
            couple = cycles.create_couple(db, female_id=patient.id, male_id=None, actor=actor)
            cycle = cycles.open_cycle(db, couple_id=couple.id, kind=CycleKind.DONOR_SPERM_IVF, extra_stages=[],
                                      actor=actor)
            issued = auth_service.create_api_key(db, name="bench-load", role=Role.NURSE, created_by=staff.id,
                                                 workstation_id=settings.workstation_id, expires_in_days=1)
            db.commit()
            return cycle.id, issued.token
    finally:
        engine.dispose()


def check_bodies(data: Path) -> list[dict[str, Any]]:
    """Uploaded face + one finger + the card, the probes rotating over the patient's other impressions."""
    faces, fingers = _samples(data)
    face = base64.b64encode((faces / "0-LEyP4d.jpg").read_bytes()).decode()
    return [{"stage": "egg_retrieval", "face_images_base64": [face], "document": DOCUMENT,
             "fingerprints": [{"position": "right_index", "image_base64": base64.b64encode(
                 (fingers / f"101_{n}.tif").read_bytes()).decode()}]} for n in range(2, 9)]


@contextmanager
def daemon_process(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``idverify serve`` in its own process (its log in ``log``); yields its base URL once ``/healthz`` answers."""
    import httpx

    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable,  # noqa: S603 - our own interpreter running our own code
                                 "-m", "idverify", "serve", "--port", str(port)],
                                env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                err = log.read_text(errors="replace")[-500:]
                raise IdverifyError(f"the daemon did not start: {err}", code=ErrorCode.DAEMON_FAILED)
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise IdverifyError("the daemon did not answer /healthz within 120 s", code=ErrorCode.DAEMON_FAILED)
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def scratch_database(database_url: str | None) -> Iterator[tuple[Path, str]]:
    """A data dir and a migrated, empty database (a scratch schema on PostgreSQL), both gone afterwards."""
    from sqlalchemy import text

    from idverify.ledger.bench import with_search_path
    from idverify.store.db import make_engine, upgrade_database

    with tempfile.TemporaryDirectory(prefix="idverify-load-") as tmp:
        if not database_url or database_url.startswith("sqlite"):
            url = f"sqlite:///{Path(tmp) / 'idverify.db'}"
            upgrade_database(url)
            yield Path(tmp), url
            return
        schema = f"idverify_load_{uuid.uuid4().hex[:10]}"
        admin = make_engine(database_url)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = with_search_path(database_url, schema)
            upgrade_database(url)
            yield Path(tmp), url
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


class _HealthSampler:
    """``/healthz`` every 100 ms in a thread, latencies in ms (a failure counts as its time to fail)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                t = time.perf_counter()
                try:
                    ok = client.get(self.base + "/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append((time.perf_counter() - t) * 1000)
                self.failures += not ok
                self._stop.wait(HEALTH_EVERY_S)

    def __enter__(self) -> _HealthSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fire(base: str, token: str, cycle_id: str, bodies: list[dict[str, Any]], *, concurrency: int, checks: int,
         advance: Callable[[], None] | None = None) -> dict[str, Any]:
    """Send ``checks`` checks ``concurrency`` at a time; latencies, answers by status and throughput."""
    import httpx

    url = f"{base}/api/v1/cycles/{cycle_id}/checks"
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2)

    with httpx.Client(timeout=300, limits=limits) as client:
        def one(i: int) -> tuple[float, str]:
            t = time.perf_counter()
            try:
                status = str(client.post(url, json=bodies[i % len(bodies)], headers=headers).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if advance is not None:
                advance()
            return (time.perf_counter() - t) * 1000, status

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(one, range(checks)))
        wall = time.perf_counter() - started
    latencies = [ms for ms, status in results if status == "201"]
    return {"latencies": latencies, "statuses": dict(Counter(status for _ms, status in results)),
            "wall_s": wall}


def run_load(data: Path, *, concurrency: int, checks: int, single: int, database_url: str | None,
             progress: bool = False) -> dict[str, Any]:
    from idverify.config import load_settings

    bodies = check_bodies(data)
    with scratch_database(database_url) as (data_dir, url):
        settings = load_settings(data_dir=data_dir, database_url=url, workstation_id="bench-load")
        cycle_id, token = seed(url, data, settings)
        port = free_port()
        env = {"IDVERIFY_DATA_DIR": str(data_dir), "IDVERIFY_DATABASE_URL": url, "IDVERIFY_WORKSTATION_ID":
               "bench-load", "IDVERIFY_LOG_LEVEL": "WARNING", "IDVERIFY_PORT": str(port)}
        with daemon_process(env, port, data_dir / "daemon.log") as base:
            fire(base, token, cycle_id, bodies, concurrency=1, checks=3)  # loads the models
            alone = fire(base, token, cycle_id, bodies, concurrency=1, checks=single)
            if alone["statuses"] != {"201": single}:
                raise IdverifyError(f"single checks failed: {alone['statuses']}", code=ErrorCode.BENCH_FAILED)
            single_ms = statistics.median(alone["latencies"])
            with _progress(progress, checks) as advance, _HealthSampler(base) as health:
                loaded = fire(base, token, cycle_id, bodies, concurrency=concurrency, checks=checks,
                              advance=advance)
    cores = os.cpu_count() or 1
    lat = loaded["latencies"] or [0.0]
    bound_ms = 3 * single_ms * concurrency / cores
    errors = {s: n for s, n in loaded["statuses"].items() if s != "201"}
    return {
        "benchmark": "load", "backend": "postgresql" if url.startswith("postgresql") else "sqlite",
        "concurrency": concurrency, "checks": checks, "cores": cores,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "single_check_ms": round(single_ms, 1),
        "p50_ms": round(_percentile(lat, 0.5), 1), "p95_ms": round(_percentile(lat, 0.95), 1),
        "p99_ms": round(_percentile(lat, 0.99), 1), "max_ms": round(max(lat), 1),
        "p99_bound_ms": round(bound_ms, 1), "p99_within_bound": _percentile(lat, 0.99) <= bound_ms,
        "statuses": loaded["statuses"], "errors": sum(errors.values()),
        "throughput_per_s": round(len(loaded["latencies"]) / loaded["wall_s"], 2),
        "healthz_p50_ms": round(_percentile(health.latencies, 0.5), 1) if health.latencies else None,
        "healthz_p99_ms": round(_percentile(health.latencies, 0.99), 1) if health.latencies else None,
        "healthz_max_ms": round(max(health.latencies), 1) if health.latencies else None,
        "healthz_samples": len(health.latencies), "healthz_failures": health.failures,
    }


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    lock = threading.Lock()
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("checks", total=total)

        def advance() -> None:
            with lock:
                bar.advance(task)

        yield advance


def bench_load(
    concurrency: Annotated[int, typer.Option(min=1, max=200, help="Checks in flight at once (N).")] = 20,
    checks: Annotated[int, typer.Option(min=1, max=10_000, help="Checks sent under load.")] = 60,
    single: Annotated[int, typer.Option(min=1, max=100, help="Sequential checks timed first (t).")] = 5,
    database_url: Annotated[str | None, typer.Option(
        help="postgresql+psycopg://… to run on a scratch schema there (default: SQLite in a temp dir).")] = None,
    dataset: Annotated[Path, typer.Option(help="The shared data folder (with face/ and fingerprint/).")] = Path(
        "../shared/data"),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on the last line.")] = False,
) -> None:
    """Concurrent stage checks against a daemon process: latency, errors, throughput, /healthz under load."""
    try:
        result = run_load(dataset, concurrency=concurrency, checks=checks, single=single,
                          database_url=database_url, progress=not as_json)
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"{result['backend']}: {result['checks']} checks, {result['concurrency']} at once on "
               f"{result['cores']} cores (load average {result['load_average'][0]})")
    typer.echo(f"  single check {result['single_check_ms']} ms; under load p50 {result['p50_ms']} ms, "
               f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms (bound {result['p99_bound_ms']} ms: "
               f"{'within' if result['p99_within_bound'] else 'OVER'})")
    typer.echo(f"  answers {result['statuses']}, {result['throughput_per_s']} checks/s; /healthz p99 "
               f"{result['healthz_p99_ms']} ms, max {result['healthz_max_ms']} ms over "
               f"{result['healthz_samples']} samples ({result['healthz_failures']} not 200)")
