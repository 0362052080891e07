"""ASGI middleware: request ids and access logs, Prometheus request metrics, the body-size limit, and
``Cache-Control: no-store`` on every dynamic response.

Pure ASGI (no BaseHTTPMiddleware) so streaming responses such as the camera preview pass through untouched.
Access logs carry the route *template* (``/api/v1/patients/{patient_id}``), never query strings.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idverify.api.errors import envelope
from idverify.errors import ErrorCode

log = structlog.get_logger("idverify.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Polled continuously (Prometheus scrapes, the nurse screen's camera preview): counted in metrics, not logged.
_QUIET_ROUTES = frozenset({"/metrics", "/api/v1/devices/camera/preview.jpg"})


class BodyLimitMiddleware:
    """Reject bodies over ``max_bytes`` with 413 — by Content-Length up front, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = envelope(413, ErrorCode.PAYLOAD_TOO_LARGE, f"request body exceeds {self.max_bytes} bytes")
        if declared is not None:
            try:
                if int(declared) > self.max_bytes:
                    await too_large(scope, receive, send)
                    return
            except ValueError:
                await envelope(400, ErrorCode.BAD_REQUEST, "invalid Content-Length")(scope, receive, send)
                return
        seen = 0
        app_started = False
        refused = False

        async def limited_receive() -> Message:
            # Past the limit we answer 413 ourselves and tell the app the client went away, so it stops
            # reading; anything it still tries to send is dropped. (Raising here would be swallowed by the
            # framework's body parser and turned into a 400.)
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not app_started:
                    refused = True
                    await too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_started
            if refused:
                return
            if message["type"] == "http.response.start":
                app_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response outside ``/static`` that does not set its own.

    API answers carry names, ID numbers and verification results; a browser or proxy cache must never keep them
    (a shared clinic PC's disk cache, the back button after logout). Marking every dynamic response is simpler
    to get right than listing the routes that carry personal data, and costs nothing on a clinic network.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_no_store)


class RequestContextMiddleware:
    """Assign a request id, bind it to every log line of the request, log and count the request."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "idverify_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "idverify_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            registry=registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(elapsed)
            if route not in _QUIET_ROUTES:
                log.info("request", method=scope["method"], route=route, status=status,
                         duration_ms=round(elapsed * 1000, 1))
            structlog.contextvars.unbind_contextvars("request_id")


def _route_template(scope: MutableMapping[str, Any]) -> str:
    """The full path with parameter values replaced by their names (``/api/v1/staff/{staff_id}``), so metric
    labels stay few and no identifier ends up in a log line."""
    if scope.get("route") is None:
        return "unmatched"
    path: str = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path
