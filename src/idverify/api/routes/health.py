"""Liveness/readiness (``/healthz``) and Prometheus metrics (``/metrics``), both unauthenticated.

``/healthz`` answers 200 while the database answers (status ``ok``, or ``degraded`` when a device or the ledger
integrity check reports a problem) and 503 when the database does not. It names device kinds and states only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from idverify import __version__
from idverify.api.deps import ContextDep
from idverify.store.db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness, database and device health")
def healthz(ctx: ContextDep) -> JSONResponse:
    body: dict[str, Any] = {"version": __version__, "workstation": ctx.settings.workstation_id}
    try:
        ping(ctx.engine)
        body["database"] = {"status": "ok", "backend": ctx.engine.dialect.name}
    except SQLAlchemyError as exc:
        body["database"] = {"status": "unavailable", "detail": type(exc).__name__}
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    components: list[dict[str, Any]] = []
    for sub in ctx.subsystems:
        components.extend(sub.health())
    body["components"] = components
    body["devices"] = [c for c in components if c.get("kind") in {"card_reader", "id_reader", "fingerprint", "camera"}]
    degraded = any(c.get("status") not in ("ok", None) for c in components)
    body["status"] = "degraded" if degraded else "ok"
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(ctx: ContextDep) -> Response:
    return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
