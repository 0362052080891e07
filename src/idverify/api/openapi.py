"""The OpenAPI document as clients need it, not as FastAPI guesses it.

FastAPI's generated schema declares no authentication (so ``/docs`` has no Authorize button), documents every
failure as a 422 ``HTTPValidationError`` that idverify never sends (generated clients then mis-parse the real
``{"error": …}`` envelope), names operations ``list_staff_api_v1_staff_get`` and leaves file downloads without a
schema. :func:`install_openapi` post-processes the generated document once, from the routes themselves:

* security schemes (bearer API key, session cookie, CSRF header) and each operation's ``security``, read from
  whether the route depends on :func:`~idverify.api.deps.get_principal` (public routes get ``security: []``);
* the error envelope as ``ErrorEnvelope`` and the statuses every API operation can answer with;
* ``operationId`` = ``<tag>_<function name>`` (:func:`operation_id`), unique and stable across releases;
* ``format: binary`` schemas for PDF and JPEG downloads, ``string`` for text ones;
* a description on every operation: the route's own, followed by who may call it.
"""

from __future__ import annotations

from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from idverify.api.deps import RoleCheck, get_principal

ERROR_REF = "#/components/schemas/ErrorEnvelope"
BEARER, SESSION, CSRF = "bearerApiKey", "sessionCookie", "csrfHeader"
_SAFE_METHODS = frozenset({"get", "head", "options"})

# The statuses every API operation can answer with, with an example envelope each: documentation for generated
# clients, which parse the one envelope for all of them.
ERROR_RESPONSES: dict[int, tuple[str, str, str]] = {
    400: ("Malformed request (e.g. the body is not JSON)", "malformed_json", "request body is not valid JSON"),
    401: ("No credential, or a wrong, expired or revoked one", "not_authenticated", "log in or send an API key"),
    403: ("The caller's role, workstation or CSRF token does not allow this", "forbidden",
          "this action needs the role nurse"),
    404: ("No such resource", "not_found", "patient not found"),
    409: ("The request conflicts with the current state (e.g. a closed cycle)", "cycle_closed",
          "the cycle is closed"),
    413: ("The request body is larger than the daemon accepts", "payload_too_large", "request body too large"),
    422: ("The request is well-formed but refused: schema validation or a domain rule", "validation_error",
          "request does not match the schema"),
    503: ("A dependency is unavailable or busy (database, device, hub); retry after `Retry-After`",
          "database_busy", "the database is busy; try again shortly"),
}
_PUBLIC_STATUSES = frozenset({401, 403})  # a route without authentication never answers these

ERROR_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ErrorEnvelope",
    "description": "Every error idverify answers with. `code` is stable (docs/errors.md lists them); "
                   "`message_key` names the user-facing text in the locale catalogues.",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "message_key", "details"],
        "properties": {
            "code": {"type": "string", "description": "Stable error code, e.g. `cycle_closed`."},
            "message": {"type": "string", "description": "English text for logs and operators."},
            "message_key": {"type": "string", "description": "Catalogue key of the user-facing text."},
            "details": {"description": "Code-specific details (validation locations, `retry_after_s` …), "
                                       "or null."},
        },
    }},
}

SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {"type": "http", "scheme": "bearer", "description": "An API key issued by an it_admin."},
    SESSION: {"type": "apiKey", "in": "cookie", "name": "idverify_session",
              "description": "The web UI's session cookie, set by `POST /api/v1/auth/login`."},
    CSRF: {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
           "description": "The session's CSRF token (from the login answer); required with the session cookie "
                          "on every request that changes state."},
}

_BINARY_MEDIA_PREFIXES = ("image/", "application/pdf", "application/octet-stream")


def operation_id(route: APIRoute) -> str:
    """``<first tag>_<function name>``, e.g. ``patients_register_patient``: readable in generated clients and
    stable as long as the function keeps its name."""
    return f"{route.tags[0]}_{route.name}" if route.tags else route.name


def _walk(dependant: Dependant) -> tuple[bool, frozenset[str]]:
    authenticated, roles = False, frozenset[str]()
    for dep in dependant.dependencies:
        if dep.call is get_principal:
            authenticated = True
        if isinstance(dep.call, RoleCheck):
            roles |= {r.value for r in dep.call.roles}
        sub_auth, sub_roles = _walk(dep)
        authenticated, roles = authenticated or sub_auth, roles | sub_roles
    return authenticated, roles


def _security(method: str) -> list[dict[str, list[str]]]:
    cookie: dict[str, list[str]] = {SESSION: []} if method in _SAFE_METHODS else {SESSION: [], CSRF: []}
    return [{BEARER: []}, cookie]


def _who(authenticated: bool, roles: frozenset[str]) -> str:
    if not authenticated:
        return "No authentication."
    who = f"Role: {', '.join(sorted(roles))}." if roles else "Any authenticated staff member."
    return (f"{who} Authenticate with `Authorization: Bearer <API key>`, or the session cookie (with "
            "`X-CSRF-Token` on changes).")


def _binary_schemas(operation: dict[str, Any]) -> None:
    for response in operation.get("responses", {}).values():
        for media_type, body in response.get("content", {}).items():
            if body.get("schema"):
                continue
            if media_type.startswith(_BINARY_MEDIA_PREFIXES):
                body["schema"] = {"type": "string", "format": "binary"}
            elif media_type.startswith("text/") or media_type == "application/jsonl":
                body["schema"] = {"type": "string"}


def _error_responses(operation: dict[str, Any], authenticated: bool) -> None:
    responses = operation.setdefault("responses", {})
    for status, (description, code, message) in ERROR_RESPONSES.items():
        if status in _PUBLIC_STATUSES and not authenticated:
            continue
        example = {"error": {"code": code, "message": message, "message_key": f"error.{code}", "details": None}}
        existing = responses.get(str(status), {})
        responses[str(status)] = {
            "description": existing.get("description") if status != 422 and existing else description,
            "content": {"application/json": {"schema": {"$ref": ERROR_REF}, "example": example}},
        }


def _api_routes(app: FastAPI) -> list[Any]:
    """The app's API routes, also those of included routers: FastAPI from 0.16x keeps an included router as one
    lazy entry and flattens it with ``iter_route_contexts`` (whose contexts read like the route)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(flatten(app.routes)) if flatten else list(app.routes)
    return [r for r in routes if isinstance(getattr(r, "original_route", r), APIRoute)]


def build_openapi(app: FastAPI, *, api_prefix: str) -> dict[str, Any]:
    """The post-processed document (see the module docstring); operations outside ``api_prefix`` (health, metrics)
    keep their own bodies and get no error envelope."""
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                         routes=app.routes, tags=app.openapi_tags, openapi_version=app.openapi_version)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["ErrorEnvelope"] = ERROR_ENVELOPE_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    operations = {op["operationId"]: (path, op) for path, item in schema["paths"].items() for op in item.values()}
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        authenticated, roles = _walk(route.dependant)
        path, operation = operations[operation_id(route)]
        method = next(m for m, op in schema["paths"][path].items() if op is operation)
        operation["security"] = _security(method) if authenticated else []
        own = operation.get("description")
        operation["description"] = f"{own}\n\n{_who(authenticated, roles)}" if own else _who(authenticated, roles)
        _binary_schemas(operation)
        if path.startswith(api_prefix):
            _error_responses(operation, authenticated)
    return schema


def install_openapi(app: FastAPI, *, api_prefix: str) -> None:
    """Replace ``app.openapi`` with :func:`build_openapi`, computed once on first use."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, api_prefix=api_prefix)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
