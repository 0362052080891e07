"""Web login/logout for staff, and ``/me`` for whoever is calling.

Password guesses are throttled per client and per account (:mod:`idverify.auth.throttle`): 429 with
``Retry-After``, checked before any password is compared; every other failure is the one ``invalid_credentials``.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from fastapi import APIRouter, Request, Response

from idverify import audit
from idverify.api.deps import SESSION_COOKIE, AnyStaff, ContextDep, SessionDep, SettingsDep
from idverify.api.schemas.auth import LoginRequest, LoginResponse, MeResponse, StaffOut
from idverify.auth import repository as auth_repo
from idverify.auth import service
from idverify.auth.throttle import forwarded_client
from idverify.errors import AuthenticationError
from idverify.store.models import Staff

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginResponse, summary="Staff login (sets the session cookie)",
             responses={429: {"description": "Too many failed attempts from this client or for this account; "
                                             "wait the `Retry-After` seconds"}})
def login(body: LoginRequest, request: Request, response: Response, db: SessionDep, ctx: ContextDep,
          settings: SettingsDep) -> LoginResponse:
    client = client_address(request, settings)
    ctx.login_throttle.check(client, body.username)  # before any password is compared
    try:
        new = service.login(db, body.username, body.password, workstation_id=settings.workstation_id,
                            ttl=timedelta(minutes=settings.session_ttl_minutes))
    except AuthenticationError as exc:
        staff = auth_repo.get_staff_by_username(db, body.username)
        audit.record(db, {"staff_id": staff.id if staff else None, "role": staff.role if staff else None,
                          "workstation": settings.workstation_id},
                     "staff.login_failed", data={"code": exc.code, "known_account": staff is not None})
        record_failure(db, ctx, settings, client, body.username, staff)
        db.commit()  # keep the failed-login count and the audit records even though the login fails
        raise
    ctx.login_throttle.succeeded(client, body.username)
    audit.record(db, {"staff_id": new.staff.id, "role": new.staff.role, "workstation": settings.workstation_id},
                 "staff.login", data={"session": new.session.id})
    db.commit()
    response.set_cookie(
        SESSION_COOKIE, new.token, max_age=settings.session_ttl_minutes * 60, httponly=True, samesite="strict",
        secure=settings.secure_cookies, path="/",
    )
    return LoginResponse(staff=StaffOut.model_validate(new.staff), csrf_token=new.session.csrf_token,
                         expires_at=new.session.expires_at, workstation_id=new.session.workstation_id)


def client_address(request: Request, settings: SettingsDep) -> str:
    """The client address the throttle keys on: the socket's peer, unless that peer is a configured trusted proxy
    (``trusted_proxies``); then the nearest ``X-Forwarded-For`` hop that is not a trusted proxy. Forwarded headers
    from anyone else are ignored: any client could set them to dodge its own throttle."""
    peer = request.client.host if request.client else "unknown"
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxy_networks)


def record_failure(db: SessionDep, ctx: ContextDep, settings: SettingsDep, client: str, username: str,
                   staff: Staff | None) -> None:
    """Count a failed password check (login or override witness); when it crosses a throttle limit, write the
    ``auth.repeated_failures`` alert. The alert names the account by staff id when the name exists — never the
    typed name (a password typed into the username field must not reach the ledger) nor the password."""
    for alert in ctx.login_throttle.failed(client, username):
        audit.record(db, audit.system_actor(settings.workstation_id), "auth.repeated_failures",
                     data={"scope": alert.scope, "failures": alert.failures, "window_s": alert.window_s,
                           "known_account": staff is not None, "target_staff_id": staff.id if staff else None})
        log.warning("auth.repeated_failures", scope=alert.scope, failures=alert.failures)


@router.post("/logout", status_code=204, summary="End the web session")
def logout(db: SessionDep, principal: AnyStaff) -> Response:
    if principal.method == "session":
        service.logout(db, principal.credential_id)
        audit.record(db, principal, "staff.logout")
        db.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeResponse, summary="Who is calling, in which role, at which workstation")
def me(db: SessionDep, principal: AnyStaff) -> MeResponse:
    staff = auth_repo.get_staff(db, principal.staff_id) if principal.staff_id else None
    return MeResponse(
        role=principal.role, workstation_id=principal.workstation_id, method=principal.method,
        staff=StaffOut.model_validate(staff) if staff else None, csrf_token=principal.csrf_token,
    )
