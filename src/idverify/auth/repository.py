"""Every query on staff, web sessions and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idverify.store.models import ApiKey, Staff, WebSession


def get_staff(db: Session, staff_id: str) -> Staff | None:
    return db.get(Staff, staff_id)


def get_staff_by_username(db: Session, username: str) -> Staff | None:
    return db.scalar(select(Staff).where(Staff.username == username))


def list_staff(db: Session) -> Sequence[Staff]:
    return db.scalars(select(Staff).order_by(Staff.username)).all()


def add(db: Session, obj: Staff | ApiKey | WebSession) -> None:
    db.add(obj)
    db.flush()


def get_session_by_digest(db: Session, digest: str) -> WebSession | None:
    return db.scalar(select(WebSession).where(WebSession.token_hash == digest))


def revoke_sessions_of(db: Session, staff_id: str, when: datetime) -> None:
    db.execute(
        update(WebSession)
        .where(WebSession.staff_id == staff_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=when)
    )


def get_api_key(db: Session, key_id: str) -> ApiKey | None:
    return db.get(ApiKey, key_id)


def get_api_key_by_prefix(db: Session, prefix: str) -> ApiKey | None:
    return db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


def list_api_keys(db: Session) -> Sequence[ApiKey]:
    return db.scalars(select(ApiKey).order_by(ApiKey.created_at)).all()
