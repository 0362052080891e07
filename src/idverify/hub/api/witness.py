"""``POST /witness/add-checkpoint`` — C2SP tlog-witness, exactly: plain-text body in, cosignature lines out.

Status codes are the protocol's (400, 403, 404, 409 with ``text/x.tlog.size``, 422); error bodies other than
409 use the JSON error envelope so a person reading them sees a reason. The database work runs in a worker
thread; the cosignature is committed before the answer is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from idverify.api.errors import envelope
from idverify.errors import ErrorCode
from idverify.hub import witness
from idverify.hub.api.deps import HubDep
from idverify.hub.context import HubContext
from idverify.ledger.witness_protocol import (
    COSIGNATURE_CONTENT_TYPE,
    SIZE_CONTENT_TYPE,
    WITNESS_PATH,
    AddCheckpoint,
    WitnessRequestError,
    parse_add_checkpoint,
    size_body,
)

router = APIRouter(tags=["witness"])


def _cosign(hub: HubContext, req: AddCheckpoint) -> witness.Cosigned:
    return witness.add_checkpoint(hub.session_factory, hub.witness, req)


@router.post(
    WITNESS_PATH,
    summary="Submit a checkpoint with a consistency proof; get a cosignature (C2SP tlog-witness)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "cosignature/v1 signature line(s)"},
               409: {"content": {SIZE_CONTENT_TYPE: {}}, "description": "the latest cosigned size"}},
)
async def add_checkpoint(request: Request, hub: HubDep) -> Response:
    body = await request.body()
    try:
        req = parse_add_checkpoint(body)
    except WitnessRequestError as exc:
        hub.metrics.witness.labels("400", "malformed").inc()
        return envelope(400, ErrorCode.MALFORMED_REQUEST, str(exc))
    try:
        result = await run_in_threadpool(_cosign, hub, req)
    except witness.WitnessRefused as exc:
        hub.metrics.witness.labels(str(exc.status), exc.code).inc()
        if exc.status == 409 and exc.size is not None:
            # Set the header directly: Starlette would append '; charset=utf-8' to a text/* media type.
            return Response(size_body(exc.size), status_code=409, headers={"content-type": SIZE_CONTENT_TYPE})
        return envelope(exc.status, exc.code, exc.message)
    hub.metrics.witness.labels("200", "cosigned").inc()
    return Response(result.lines, media_type=COSIGNATURE_CONTENT_TYPE)
