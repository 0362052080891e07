"""Request dependencies of the hub, named once as ``Annotated`` aliases so routes read like sentences:
``def list_alerts(db: HubSession, inspector: RegionalInspector)``.

Commission users authenticate with the ``idverify_hub_session`` cookie (``POST /api/v1/auth/login``); changes
need the session's CSRF token in ``X-CSRF-Token``. Clinics never use these: their requests are signed
(:mod:`idverify.hub.request_auth`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from idverify.errors import AuthenticationError, ErrorCode, PermissionDenied
from idverify.hub import users
from idverify.hub.context import HubContext
from idverify.hub.users import HubPrincipal, HubRole


def get_hub(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


HubDep = Annotated[HubContext, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    db = hub.session_factory()
    try:
        yield db
    finally:
        if db.in_transaction():
            db.rollback()
        db.close()


HubSession = Annotated[Session, Depends(get_session)]


SESSION_COOKIE = "idverify_hub_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_principal(request: Request, db: HubSession) -> HubPrincipal:
    """The logged-in commission user; state-changing requests must echo the session's CSRF token."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AuthenticationError("log in first", code=ErrorCode.NOT_AUTHENTICATED)
    principal = users.authenticate(db, token)
    if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER, "") != principal.csrf_token:
        raise PermissionDenied("missing or wrong CSRF token (X-CSRF-Token header)", code=ErrorCode.CSRF_FAILED)
    return principal


HubUser = Annotated[HubPrincipal, Depends(get_principal)]


def _require(role: HubRole) -> Callable[[HubPrincipal], HubPrincipal]:
    def check(principal: HubUser) -> HubPrincipal:
        if principal.role is not role:
            raise PermissionDenied(f"this needs the role {role.value}", code=ErrorCode.FORBIDDEN)
        return principal

    return check


RegionalInspector = Annotated[HubPrincipal, Depends(_require(HubRole.REGIONAL_INSPECTOR))]
HubAdmin = Annotated[HubPrincipal, Depends(_require(HubRole.HUB_ADMIN))]
