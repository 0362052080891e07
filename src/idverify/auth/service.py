"""Rules for staff accounts and credentials: login, session and API-key authentication, key rotation and
revocation.

Failures say as little as possible to the caller: one ``invalid_credentials`` answer for an unknown name, a
disabled account and a wrong password, and nothing personal to logs. There is no account lock — a lock that
anyone can trigger with a few wrong passwords is a way to keep a nurse out of her shift, and its distinct answer
revealed which usernames exist; guessing is slowed by :mod:`idverify.auth.throttle` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from idverify.auth import repository as repo
from idverify.auth.roles import Principal, Role
from idverify.auth.secrets import (
    MIN_PASSWORD_LENGTH,
    digests_match,
    hash_password,
    needs_rehash,
    new_api_key,
    new_token,
    split_api_key,
    token_digest,
    verify_password,
)
from idverify.errors import AuthenticationError, ConflictError, ErrorCode, NotFoundError, ValidationFailed
from idverify.store.base import utcnow
from idverify.store.models import ApiKey, Staff, WebSession

# Verifying against a dummy hash when the user does not exist keeps response times alike, so the login form
# does not reveal which usernames exist.
_DUMMY_HASH = hash_password("not-a-real-password-0")


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone=True columns; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def create_staff(db: Session, *, username: str, display_name: str, role: Role, password: str) -> Staff:
    validate_password(password)
    if repo.get_staff_by_username(db, username) is not None:
        raise ConflictError(f"username {username!r} is taken", code=ErrorCode.USERNAME_TAKEN)
    staff = Staff(username=username, display_name=display_name, role=role.value, password_hash=hash_password(password))
    repo.add(db, staff)
    return staff


def update_staff(
    db: Session, staff_id: str, *, role: Role | None = None, active: bool | None = None, password: str | None = None,
    display_name: str | None = None,
) -> Staff:
    staff = repo.get_staff(db, staff_id)
    if staff is None:
        raise NotFoundError("no such staff member")
    now = utcnow()
    if display_name is not None:
        staff.display_name = display_name
    if role is not None and role.value != staff.role:
        staff.role = role.value
        repo.revoke_sessions_of(db, staff.id, now)  # new role, new login
    if active is False:
        repo.revoke_sessions_of(db, staff.id, now)
    if active is not None:
        staff.active = active
    if password is not None:
        validate_password(password)
        staff.password_hash = hash_password(password)
        staff.failed_logins = 0
        staff.locked_until = None
        repo.revoke_sessions_of(db, staff.id, now)
    db.flush()
    return staff


def check_credentials(db: Session, username: str, password: str) -> Staff:
    """The active staff member for these credentials; the same :class:`AuthenticationError` otherwise.

    ``failed_logins`` counts consecutive failures for IT to see; it never locks the account (``locked_until`` is
    no longer set nor honoured). Guesses are throttled by the caller (:class:`~idverify.auth.throttle.LoginThrottle`).
    """
    staff = repo.get_staff_by_username(db, username)
    if staff is None:
        verify_password(_DUMMY_HASH, password)
        raise AuthenticationError("invalid username or password", code=ErrorCode.INVALID_CREDENTIALS)
    if not verify_password(staff.password_hash, password) or not staff.active:
        staff.failed_logins += 1
        db.flush()
        raise AuthenticationError("invalid username or password", code=ErrorCode.INVALID_CREDENTIALS)
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = utcnow()
    db.flush()
    return staff


@dataclass(frozen=True)
class NewSession:
    token: str
    session: WebSession
    staff: Staff


def login(db: Session, username: str, password: str, *, workstation_id: str, ttl: timedelta) -> NewSession:
    staff = check_credentials(db, username, password)
    token = new_token()
    web_session = WebSession(
        token_hash=token_digest(token),
        csrf_token=new_token(),
        staff_id=staff.id,
        workstation_id=workstation_id,
        expires_at=utcnow() + ttl,
    )
    repo.add(db, web_session)
    return NewSession(token=token, session=web_session, staff=staff)


def logout(db: Session, session_id: str) -> None:
    web_session = db.get(WebSession, session_id)
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = utcnow()
        db.flush()


def authenticate_session(db: Session, token: str) -> Principal:
    web_session = repo.get_session_by_digest(db, token_digest(token))
    if web_session is None or web_session.revoked_at is not None:
        raise AuthenticationError("not logged in", code=ErrorCode.NOT_AUTHENTICATED)
    if _aware(web_session.expires_at) <= utcnow():
        raise AuthenticationError("session expired; log in again", code=ErrorCode.SESSION_EXPIRED)
    staff = repo.get_staff(db, web_session.staff_id)
    if staff is None or not staff.active:
        raise AuthenticationError("account disabled", code=ErrorCode.NOT_AUTHENTICATED)
    return Principal(
        role=Role(staff.role),
        workstation_id=web_session.workstation_id,
        method="session",
        staff_id=staff.id,
        credential_id=web_session.id,
        csrf_token=web_session.csrf_token,
    )


def authenticate_api_key(db: Session, token: str, *, default_workstation: str) -> Principal:
    parts = split_api_key(token)
    if parts is None:
        raise AuthenticationError("malformed API key", code=ErrorCode.INVALID_TOKEN)
    prefix, secret = parts
    key = repo.get_api_key_by_prefix(db, prefix)
    if key is None or not digests_match(key.secret_hash, token_digest(secret)):
        raise AuthenticationError("unknown API key", code=ErrorCode.INVALID_TOKEN)
    now = utcnow()
    if key.revoked_at is not None:
        raise AuthenticationError("API key revoked", code=ErrorCode.TOKEN_REVOKED)
    if key.expires_at is not None and _aware(key.expires_at) <= now:
        raise AuthenticationError("API key expired", code=ErrorCode.TOKEN_EXPIRED)
    key.last_used_at = now
    db.flush()
    return Principal(
        role=Role(key.role),
        workstation_id=key.workstation_id or default_workstation,
        method="api_key",
        staff_id=None,  # an integration acted, not the administrator who issued the key
        credential_id=key.id,
        key_name=key.name,
        key_created_by=key.created_by,
    )


@dataclass(frozen=True)
class IssuedKey:
    token: str  # shown once
    key: ApiKey


def create_api_key(
    db: Session, *, name: str, role: Role, created_by: str | None, workstation_id: str | None,
    expires_in_days: int | None,
) -> IssuedKey:
    token, prefix, digest = new_api_key()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    key = ApiKey(name=name, prefix=prefix, secret_hash=digest, role=role.value, workstation_id=workstation_id,
                 created_by=created_by, expires_at=expires_at)
    repo.add(db, key)
    return IssuedKey(token=token, key=key)


def rotate_api_key(db: Session, key_id: str, *, rotated_by: str | None) -> IssuedKey:
    """Issue a new key with the same name, role, workstation and lifetime, and revoke the old one."""
    old = repo.get_api_key(db, key_id)
    if old is None:
        raise NotFoundError("no such API key")
    if old.revoked_at is not None:
        raise ConflictError("API key already revoked", code=ErrorCode.TOKEN_REVOKED, status_code=409)
    days = None
    if old.expires_at is not None:
        # rounded, not floored: expires_at is stamped a moment after created_at, so a 30-day key measures 29.99…
        # days and flooring shortened every rotated key by a day
        days = max(1, round((_aware(old.expires_at) - _aware(old.created_at)) / timedelta(days=1)))
    issued = create_api_key(db, name=old.name, role=Role(old.role), created_by=rotated_by,
                            workstation_id=old.workstation_id, expires_in_days=days)
    old.revoked_at = utcnow()
    db.flush()
    return issued


def revoke_api_key(db: Session, key_id: str) -> ApiKey:
    key = repo.get_api_key(db, key_id)
    if key is None:
        raise NotFoundError("no such API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.flush()
    return key
