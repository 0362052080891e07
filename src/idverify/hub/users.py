"""The commission's users of the hub and their sessions.

Two roles, separated on purpose: a ``regional_inspector`` reads alerts with their evidence, statistics and exports
and decides on alerts; a ``hub_admin`` registers clinic logs and users but reads no alert. Passwords are Argon2id
(:mod:`idverify.auth.secrets`, the clinic's parameters); five failed logins lock an account for 15 minutes;
session tokens and CSRF tokens are random, only the token's SHA-256 is stored. User changes and logins are hub
actions (in the hub ledger).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idverify.auth.secrets import MIN_PASSWORD_LENGTH, hash_password, new_token, token_digest, verify_password
from idverify.errors import AuthenticationError, ConflictError, ErrorCode, ValidationFailed
from idverify.hub import audit
from idverify.hub.models import HubSession, HubUser
from idverify.store.base import utcnow

MAX_FAILED = 5
LOCKOUT = timedelta(minutes=15)


class HubRole(StrEnum):
    REGIONAL_INSPECTOR = "regional_inspector"
    HUB_ADMIN = "hub_admin"


@dataclass(frozen=True)
class HubPrincipal:
    user_id: str
    username: str
    display_name: str
    role: HubRole
    csrf_token: str


def create_user(session: Session, *, username: str, display_name: str, role: str, password: str,
                actor: str | None = None) -> HubUser:
    try:
        role_value = HubRole(role)
    except ValueError:
        raise ValidationFailed("role must be regional_inspector or hub_admin") from None
    username = username.strip()
    if not 2 <= len(username) <= 64:
        raise ValidationFailed("a username has 2 to 64 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(HubUser.id).where(HubUser.username == username)) is not None:
        raise ConflictError("this username exists", code=ErrorCode.USERNAME_TAKEN)
    user = HubUser(username=username, display_name=display_name.strip() or username, role=role_value.value,
                   password_hash=hash_password(password), active=True, failed_logins=0, created_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, "user.created", {"user_id": user.id, "role": role_value.value}, actor=actor,
                 role="hub_admin" if actor else "cli")
    return user


def login(session: Session, username: str, password: str, *, ttl_minutes: int) -> tuple[str, HubPrincipal]:
    """Check the password; returns (session token for the cookie, principal). Commits."""
    user = session.scalar(select(HubUser).where(HubUser.username == username))
    now = utcnow()
    if user is None or not user.active:
        verify_password(hash_password("x" * MIN_PASSWORD_LENGTH), password)  # same cost as a real check
        raise AuthenticationError("wrong username or password", code=ErrorCode.INVALID_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        raise AuthenticationError("too many failed logins; try again later", code=ErrorCode.ACCOUNT_LOCKED)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        session.commit()
        raise AuthenticationError("wrong username or password", code=ErrorCode.INVALID_CREDENTIALS)
    user.failed_logins, user.locked_until = 0, None
    token, csrf = new_token(), secrets.token_urlsafe(24)
    session.add(HubSession(token_hash=token_digest(token), csrf_token=csrf, user_id=user.id, created_at=now,
                           expires_at=now + timedelta(minutes=ttl_minutes)))
    audit.record(session, "user.login", {"user_id": user.id}, actor=user.id, role=user.role)
    session.commit()
    return token, _principal(user, csrf)


def _principal(user: HubUser, csrf: str) -> HubPrincipal:
    return HubPrincipal(user.id, user.username, user.display_name, HubRole(user.role), csrf)


def authenticate(session: Session, token: str) -> HubPrincipal:
    row = session.scalar(select(HubSession).where(HubSession.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise AuthenticationError("the session has expired; log in again", code=ErrorCode.SESSION_EXPIRED)
    user = session.get(HubUser, row.user_id)
    if user is None or not user.active:
        raise AuthenticationError("the account is disabled", code=ErrorCode.SESSION_EXPIRED)
    return _principal(user, row.csrf_token)


def logout(session: Session, token: str) -> None:
    session.execute(update(HubSession).where(HubSession.token_hash == token_digest(token))
                    .values(revoked_at=utcnow()))
    session.commit()
