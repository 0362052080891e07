"""``/healthz`` and ``/metrics`` of the hub (unauthenticated; counts and states only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from idverify import __version__
from idverify.hub.api.deps import HubDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness, database and background jobs")
def healthz(hub: HubDep) -> JSONResponse:
    body: dict[str, Any] = {"version": __version__, "service": "hub", "witness": hub.witness.name}
    try:
        with hub.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        body["database"] = {"status": "ok", "backend": hub.engine.dialect.name}
    except SQLAlchemyError as exc:
        body["database"] = {"status": "unavailable", "detail": type(exc).__name__}
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    components = [c for job in hub.jobs for c in job.health()]
    body["components"] = components
    body["status"] = "degraded" if any(c.get("status") not in ("ok", None) for c in components) else "ok"
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(hub: HubDep) -> Response:
    return Response(generate_latest(hub.registry), media_type=CONTENT_TYPE_LATEST)
