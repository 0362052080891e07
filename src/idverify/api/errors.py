"""One error envelope for every failure: ``{"error": {"code", "message", "message_key", "details"}}``
(the API contract in the README). ``code`` is an :class:`~idverify.errors.ErrorCode` — also for the failures this
layer answers by itself (schema validation, HTTP errors, the unexpected 500) — and ``message_key`` names its text in
the web UI's catalogues, so a client shows the failure in its user's language.

Validation details keep the location and the reason but never echo the submitted value: a malformed request may
carry a name or an ID number, and error bodies end up in client logs.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from idverify.errors import ErrorCode, IdverifyError, ServiceBusy
from idverify.store.db import is_busy

DATABASE_RETRY_AFTER_S = 2

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.TOO_MANY_REQUESTS,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def envelope(status: int, code: ErrorCode, message: str, details: Any = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "message_key": code.message_key, "details": details}},
        headers=headers,
    )


#: The limits of a validation rule a screen may name (``min_length`` …): numbers of the schema, never the input.
_LIMITS = ("min_length", "max_length", "ge", "le", "gt", "lt", "multiple_of")


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each problem's location, English text and pydantic ``type`` — the code a screen translates
    (``reason.validation.<type>`` in the catalogues) — and the schema's numeric limits it may name (``ctx``)."""
    out = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        limits = {k: ctx[k] for k in _LIMITS if isinstance(ctx.get(k), int | float) and not isinstance(ctx[k], bool)}
        out.append({"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""),
                    "type": err.get("type", ""), **({"ctx": limits} if limits else {})})
    return out


async def _idverify_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdverifyError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    if isinstance(exc, ServiceBusy):
        headers = {"Retry-After": str(exc.retry_after_s)}
    headers |= getattr(exc, "headers", None) or {}  # e.g. Retry-After of a throttled login (429)
    if exc.status_code >= 500 and not isinstance(exc, ServiceBusy):
        log.error("request_failed", code=exc.code, error=exc.message)
    return envelope(exc.status_code, exc.code, exc.message, exc.details, headers or None)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return envelope(400, ErrorCode.MALFORMED_JSON, "request body is not valid JSON", details)
    return envelope(422, ErrorCode.VALIDATION_ERROR, "request does not match the schema", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, ErrorCode.HTTP_ERROR)
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return envelope(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    # A database that is busy (a lock wait ran out) or gone is a 503 the client may retry, never a 500: nothing
    # was committed (the transaction rolled back with the exception), so a retry cannot double-record.
    assert isinstance(exc, OperationalError)
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    if is_busy(exc):
        log.warning("database_busy")
        return envelope(503, ErrorCode.DATABASE_BUSY, "the database is busy; try again shortly",
                        {"retry_after_s": DATABASE_RETRY_AFTER_S}, headers)
    log.error("database_unavailable", exc_type=type(exc.orig).__name__)
    return envelope(503, ErrorCode.DATABASE_UNAVAILABLE, "the database does not answer; try again shortly",
                    {"retry_after_s": DATABASE_RETRY_AFTER_S}, headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # The only path to a 500. The exception type is logged (with the request id from the context), never its
    # arguments, which could hold personal data.
    log.error("unhandled_exception", exc_type=type(exc).__name__)
    return envelope(500, ErrorCode.INTERNAL_ERROR, "internal error; the request id identifies it in the logs")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IdverifyError, _idverify_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
