"""The feed endpoints, for clinics only (signed requests, see :mod:`idverify.hub.request_auth`).

* ``GET /feed/state`` — how many of the caller's entries the hub holds, and the size its witness cosigned.
* ``POST /feed/entries`` — one batch (:mod:`idverify.hub.feed`); 200 ``{"accepted", "feed_size"}``, 409
  ``feed_gap`` with ``details.feed_size`` to resume from, 409 ``replayed``, 422 on a failing proof.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from idverify.hub import feed
from idverify.hub.api.deps import HubDep
from idverify.hub.context import HubContext
from idverify.hub.request_auth import authenticate

router = APIRouter(prefix="/feed", tags=["feed"])


def _state(hub: HubContext, method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    with hub.session_factory() as session:
        clinic = authenticate(session, method=method, path=path, headers=headers, body=b"",
                              skew_s=hub.settings.request_skew_s, remember_nonce=False)
        return {"origin": clinic.origin, "feed_size": int(clinic.feed_size),
                "cosigned_size": int(clinic.witness_size)}


def _ingest(hub: HubContext, method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, int]:
    with hub.session_factory() as session:
        clinic = authenticate(session, method=method, path=path, headers=headers, body=body,
                              skew_s=hub.settings.request_skew_s, remember_nonce=True)
        batch = feed.parse_batch(body, max_batch=hub.settings.feed_max_batch)
        result = feed.ingest(session, clinic, batch, project=hub.projector)
    hub.metrics.feed_entries.inc(result.accepted)
    return result.as_dict()


@router.get("/state", summary="The caller's feed and witness sizes (signed request)")
async def feed_state(request: Request, hub: HubDep) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await run_in_threadpool(_state, hub, "GET", request.url.path, headers)


@router.post("/entries", summary="Push a batch of ledger entries proven against a cosigned checkpoint (signed)")
async def feed_entries(request: Request, hub: HubDep) -> dict[str, int]:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await run_in_threadpool(_ingest, hub, "POST", request.url.path, headers, body)
