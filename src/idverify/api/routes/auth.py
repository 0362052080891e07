"""Web login/logout for staff, and ``/me`` for whoever is calling."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from idverify import audit
from idverify.api.deps import SESSION_COOKIE, AnyStaff, SessionDep, SettingsDep
from idverify.api.schemas.auth import LoginRequest, LoginResponse, MeResponse, StaffOut
from idverify.auth import repository as auth_repo
from idverify.auth import service
from idverify.errors import AuthenticationError

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginResponse, summary="Staff login (sets the session cookie)")
def login(body: LoginRequest, response: Response, db: SessionDep, settings: SettingsDep) -> LoginResponse:
    try:
        new = service.login(db, body.username, body.password, workstation_id=settings.workstation_id,
                            ttl=timedelta(minutes=settings.session_ttl_minutes))
    except AuthenticationError as exc:
        staff = auth_repo.get_staff_by_username(db, body.username)
        audit.record(db, {"staff_id": staff.id if staff else None, "role": staff.role if staff else None,
                          "workstation": settings.workstation_id},
                     "staff.login_failed", data={"code": exc.code, "known_account": staff is not None})
        db.commit()  # keep the failed-login counter and the audit record even though the login fails
        raise
    audit.record(db, {"staff_id": new.staff.id, "role": new.staff.role, "workstation": settings.workstation_id},
                 "staff.login", data={"session": new.session.id})
    db.commit()
    response.set_cookie(
        SESSION_COOKIE, new.token, max_age=settings.session_ttl_minutes * 60, httponly=True, samesite="strict",
        secure=settings.secure_cookies, path="/",
    )
    return LoginResponse(staff=StaffOut.model_validate(new.staff), csrf_token=new.session.csrf_token,
                         expires_at=new.session.expires_at, workstation_id=new.session.workstation_id)


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
