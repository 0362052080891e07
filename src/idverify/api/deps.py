"""Request dependencies, named once as ``Annotated`` aliases so route signatures read like sentences:
``def list_keys(db: SessionDep, admin: ItAdmin)``.

Authentication: ``Authorization: Bearer <api key>`` for integrations, or the ``idverify_session`` cookie for the
web UI. Cookie-authenticated requests that change state must echo the session's CSRF token in ``X-CSRF-Token``
(the cookie is also ``SameSite=Strict``); bearer requests need no CSRF token because browsers never attach
them on their own.

Transactions: a route gets a session with an open transaction; services flush, and the route (or service) calls
``db.commit()`` before it reports success, so a response never claims what the database does not hold. Anything
uncommitted is rolled back when the request ends. A GET (HEAD, OPTIONS) request's session only reads: on SQLite
its transactions take no lock and never wait for a writer. An API key's ``last_used_at`` is written in its own
short transaction and a web session is looked up in its own read, both before the route's session begins, so
authenticating never holds a lock into the route.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from idverify.auth import service as auth_service
from idverify.auth.roles import Principal, Role
from idverify.config import Settings
from idverify.context import AppContext
from idverify.errors import AuthenticationError, ErrorCode, PermissionDenied
from idverify.store.db import read_session
from idverify.store.keys import Keys

SESSION_COOKIE = "idverify_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_settings(ctx: ContextDep) -> Settings:
    return ctx.settings


def get_keys(ctx: ContextDep) -> Keys:
    return ctx.keys


SettingsDep = Annotated[Settings, Depends(get_settings)]
KeysDep = Annotated[Keys, Depends(get_keys)]


def get_db(request: Request, ctx: ContextDep) -> Iterator[Session]:
    db = read_session(ctx.session_factory) if request.method in _SAFE_METHODS else ctx.session_factory()
    try:
        yield db
    finally:
        if db.in_transaction():
            db.rollback()
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]


def get_principal(request: Request, ctx: ContextDep) -> Principal:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("use 'Authorization: Bearer <API key>'", code=ErrorCode.INVALID_TOKEN)
        with ctx.session_factory() as auth_db:  # a write (last_used_at), committed at once
            principal = auth_service.authenticate_api_key(auth_db, token.strip(),
                                                          default_workstation=ctx.settings.workstation_id)
            auth_db.commit()
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationError("log in or send an API key", code=ErrorCode.NOT_AUTHENTICATED)
    with read_session(ctx.session_factory) as auth_db:
        principal = auth_service.authenticate_session(auth_db, cookie)
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not principal.csrf_token or sent != principal.csrf_token:
            raise PermissionDenied("missing or wrong CSRF token (X-CSRF-Token header)", code=ErrorCode.CSRF_FAILED)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


class RoleCheck:
    """The dependency that admits only ``roles``; a class (not a closure) so the OpenAPI document can read which
    roles an operation needs (:mod:`idverify.api.openapi`)."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(self, principal: CurrentPrincipal) -> Principal:
        if principal.role not in self.roles:
            names = ", ".join(sorted(r.value for r in self.roles))
            raise PermissionDenied(f"this action needs the role {names}", code=ErrorCode.FORBIDDEN)
        return principal


def require_roles(*roles: Role) -> RoleCheck:
    return RoleCheck(frozenset(roles))


def ensure_this_workstation(principal: Principal, settings: Settings) -> None:
    """Refuse a caller bound to another workstation the use of this daemon's devices.

    A key or session bound to workstation B may read B's records from any daemon of the clinic, but the camera,
    card reader and fingerprint sensor attached here belong to whoever stands at *this* workstation: a live frame
    or a capture taken for B would film or read the wrong room's patient."""
    if principal.workstation_id != settings.workstation_id:
        raise PermissionDenied("this credential is bound to another workstation; it may not use this "
                               "workstation's devices", code=ErrorCode.WORKSTATION_MISMATCH)


def on_this_workstation(principal: CurrentPrincipal, settings: SettingsDep) -> Principal:
    ensure_this_workstation(principal, settings)
    return principal


AnyStaff = CurrentPrincipal
Nurse = Annotated[Principal, Depends(require_roles(Role.NURSE))]
ItAdmin = Annotated[Principal, Depends(require_roles(Role.IT_ADMIN))]
Inspector = Annotated[Principal, Depends(require_roles(Role.INSPECTOR))]
NurseOrInspector = Annotated[Principal, Depends(require_roles(Role.NURSE, Role.INSPECTOR))]
NurseOrItAdmin = Annotated[Principal, Depends(require_roles(Role.NURSE, Role.IT_ADMIN))]
