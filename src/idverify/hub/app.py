"""The hub's FastAPI application factory (``idverify hub serve``).

``create_hub_app(settings)`` opens the hub database (refusing an unmigrated one), loads the witness and hub ledger
keys, wires the error envelope, body limit, request ids and metrics (the same plumbing as the clinic daemon's,
:mod:`idverify.api.errors` / :mod:`idverify.api.middleware`), the routers and the background jobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI

from idverify import __version__
from idverify.api.errors import install_error_handlers
from idverify.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from idverify.api.offline_docs import install_offline_docs
from idverify.config import HubSettings, load_hub_settings
from idverify.hub import web
from idverify.hub.api import admin, auth, feed, health, inspector, witness
from idverify.hub.context import HubContext, build_hub_context
from idverify.hub.scheduler import HubLedgerJob
from idverify.hub.sweep import AlertSweepJob

log = structlog.get_logger(__name__)
API_PREFIX = "/api/v1"

OPENAPI_TAGS = [
    {"name": "witness", "description": "C2SP tlog-witness: cosign clinic checkpoints that are consistent."},
    {"name": "feed", "description": "Clinics push their ledger entries, proven against cosigned checkpoints."},
    {"name": "auth", "description": "Commission users' login (regional_inspector, hub_admin)."},
    {"name": "inspection", "description": "Clinics, alerts with evidence, statistics, exports (regional_inspector)."},
    {"name": "administration", "description": "Clinic logs and commission users (hub_admin)."},
    {"name": "health", "description": "Liveness and Prometheus metrics."},
]


def attach_jobs(hub: HubContext) -> None:
    if not any(job.name == "alert_sweep" for job in hub.jobs):
        hub.jobs.append(AlertSweepJob(hub.session_factory, hub.settings))
    if not any(job.name == "hub_ledger" for job in hub.jobs):
        hub.jobs.append(HubLedgerJob(hub.session_factory, hub.ledger_signer,
                                     interval_s=hub.settings.ledger_interval_s,
                                     checkpoint_interval_s=hub.settings.checkpoint_interval_s,
                                     skew_s=hub.settings.request_skew_s))


def create_hub_app(settings: HubSettings | None = None, *, context: HubContext | None = None) -> FastAPI:
    hub = context or build_hub_context(settings or load_hub_settings())
    attach_jobs(hub)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started = []
        try:
            for job in hub.jobs:
                await job.start()
                started.append(job)
            log.info("hub_started", witness=hub.witness.name, database=hub.engine.dialect.name)
            yield
        finally:
            for job in reversed(started):
                await job.stop()
            hub.engine.dispose()

    app = FastAPI(
        title="idverify regional hub",
        version=__version__,
        summary="Witness for clinic ledgers, cross-clinic alerts and the regional inspector's view.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served offline by install_offline_docs
        redoc_url=None,  # ReDoc would need a CDN
    )
    app.state.hub = hub
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=hub.settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, registry=hub.registry)
    app.include_router(witness.router)
    app.include_router(feed.router)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth.router)
    api.include_router(inspector.router)
    api.include_router(admin.router)
    app.include_router(api)
    web.mount(app)  # the regional inspector's pages, /static and /hub-static
    install_offline_docs(app)
    app.include_router(health.router)
    return app
