"""Liveness/readiness (``/healthz``) and Prometheus metrics (``/metrics``), both unauthenticated.

``/healthz`` answers 503 when the daemon cannot be trusted to do its job — the database does not answer
(``unavailable``) or the audit ledger failed its integrity check (``error``, ``failing`` names the component) —
and 200 otherwise: ``degraded`` when something configured is not working (a device that fails, a background job
that cannot reach the database), ``ok`` when nothing is wrong. A device nobody configured is ``not_configured``
and degrades nothing. It names device kinds and states only.
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
# A broken audit trail stops the daemon being fit for purpose: every check it records would be unverifiable.
CRITICAL_KINDS = frozenset({"ledger"})
FINE = frozenset({"ok", "not_configured", None})


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
    failing = [c["name"] for c in components if c.get("kind") in CRITICAL_KINDS and c.get("status") == "error"]
    if failing:
        body["status"] = "error"
        body["failing"] = failing
        return JSONResponse(body, status_code=503)
    degraded = any(c.get("status") not in FINE for c in components)
    body["status"] = "degraded" if degraded else "ok"
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(ctx: ContextDep) -> Response:
    return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
