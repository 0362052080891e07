"""The FastAPI application factory.

``create_app(settings)`` checks the calibrated thresholds files (checksum and algorithm version, see
:mod:`idverify.biometrics.operating_points`), opens the database, refuses an unmigrated schema, opens the key ring
(failing loudly on a missing or wrong master key), and wires middleware, the error envelope and the versioned
routers. Background
subsystems (device manager, ledger checkpoints and integrity checks) are registered on the context by
:func:`idverify.subsystems.attach` and started/stopped by the lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from idverify import __version__
from idverify.api.errors import install_error_handlers
from idverify.api.metrics import StateCollector
from idverify.api.middleware import BodyLimitMiddleware, NoStoreMiddleware, RequestContextMiddleware
from idverify.api.mllp import MllpListener
from idverify.api.offline_docs import install_offline_docs
from idverify.api.openapi import install_openapi, operation_id
from idverify.api.routes import (
    admin,
    audit,
    auth,
    checks,
    cycles,
    devices,
    health,
    patients,
    reports,
    result_photos,
    simulator,
    staff,
    verifications,
)
from idverify.config import Settings, load_settings
from idverify.context import AppContext
from idverify.store.db import check_migrated, make_engine, make_session_factory
from idverify.store.keys import open_keys
from idverify.subsystems import attach
from idverify.web import pages as web_pages

log = structlog.get_logger(__name__)
API_PREFIX = "/api/v1"

OPENAPI_TAGS = [
    {"name": "auth", "description": "Staff login (web UI) and the caller's identity."},
    {"name": "staff", "description": "Staff accounts and API keys (it_admin)."},
    {"name": "patients", "description": "Patients, HIS import (HL7 v2, FHIR), consent and deletion (nurse)."},
    {"name": "cycles", "description": "Couples and treatment cycles with their stages."},
    {"name": "verifications", "description": "Stage-check results (nurse: own workstation; inspector: all)."},
    {"name": "checks", "description": "Enrolment, stage checks and overrides (nurse)."},
    {"name": "devices", "description": "This workstation's devices: health, document read, test captures."},
    {"name": "configuration", "description": "Stage policies and webhook endpoints (it_admin)."},
    {"name": "audit", "description": "Audit ledger: events, checkpoints, proofs, integrity, exports (inspector)."},
    {"name": "reports", "description": "Monthly statistics for the health commission: JSON, CSV, PDF (inspector)."},
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
]


def build_context(settings: Settings) -> AppContext:
    from idverify.biometrics import models_path
    from idverify.biometrics.operating_points import load_operating_points

    models_path.configure(settings.models_dir)
    load_operating_points()  # a stale or altered thresholds file stops the daemon here, not at the first check
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    check_migrated(engine)
    session_factory = make_session_factory(engine)
    with session_factory() as db:
        keys = open_keys(settings, db)
    ctx = AppContext(settings=settings, engine=engine, session_factory=session_factory, keys=keys,
                     registry=CollectorRegistry())
    attach(ctx)
    if settings.mllp_port and ctx.subsystem("mllp") is None:
        ctx.subsystems.append(MllpListener(ctx))
    ctx.registry.register(StateCollector(ctx))  # ledger and device gauges, read at each /metrics scrape
    return ctx


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    ctx = context or build_context(settings or load_settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started = []
        try:
            for sub in ctx.subsystems:
                await sub.start()
                started.append(sub)
            log.info("daemon_started", workstation=ctx.settings.workstation_id, database=ctx.engine.dialect.name)
            yield
        finally:
            for sub in reversed(started):
                await sub.stop()
            ctx.engine.dispose()

    app = FastAPI(
        title="idverify",
        version=__version__,
        summary="Patient identity verification for assisted-reproduction clinics.",
        description=(
            "Verifies that the person at a procedure stage is the enrolled patient (ID document, face, fingerprint) "
            "and records every decision in a tamper-evident ledger. Authenticate with the `idverify_session` cookie "
            "(web UI; send `X-CSRF-Token` on changes) or `Authorization: Bearer <API key>`. Every error body is "
            '`{"error": {"code", "message", "message_key", "details"}}`; the codes are listed in docs/errors.md.'
        ),
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served offline by install_offline_docs
        redoc_url=None,  # ReDoc would need a CDN
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.add_middleware(NoStoreMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=ctx.settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, registry=ctx.registry)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth.router)
    api.include_router(staff.router)
    api.include_router(patients.router)
    api.include_router(cycles.router)
    api.include_router(checks.router)
    api.include_router(verifications.router)
    api.include_router(result_photos.router)
    api.include_router(devices.router)
    api.include_router(admin.router)
    api.include_router(audit.router)
    api.include_router(reports.router)
    api.include_router(simulator.router)  # demo only: 404 unless simulate is on
    app.include_router(api)
    app.include_router(health.router)
    web_pages.mount(app)  # the UI pages and /static
    install_offline_docs(app)
    install_openapi(app, api_prefix=API_PREFIX)
    return app
