"""Commission users' login and logout (the web UI); a session cookie plus a CSRF token for changes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from idverify.hub import users
from idverify.hub.api.deps import SESSION_COOKIE, HubDep, HubSession, HubUser

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def _me(p: users.HubPrincipal) -> dict[str, Any]:
    return {"user_id": p.user_id, "username": p.username, "display_name": p.display_name, "role": p.role.value}


@router.post("/login", summary="Log in (sets the idverify_hub_session cookie)")
def login(body: LoginIn, response: Response, db: HubSession, hub: HubDep) -> dict[str, Any]:
    token, principal = users.login(db, body.username, body.password, ttl_minutes=hub.settings.session_ttl_minutes)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=hub.settings.secure_cookies, max_age=hub.settings.session_ttl_minutes * 60)
    return {"csrf_token": principal.csrf_token, "user": _me(principal)}


@router.post("/logout", status_code=204, summary="Log out")
def logout(request: Request, response: Response, db: HubSession, _user: HubUser) -> None:
    users.logout(db, request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", summary="Who is logged in")
def me(user: HubUser) -> dict[str, Any]:
    return _me(user)
