"""The clinic's configuration rows (``settings`` table, one JSON value per key), e.g. the stage policy overrides."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from idverify.store.models import Setting


def get_value(db: Session, key: str) -> Any | None:
    row = db.get(Setting, key)
    return None if row is None else row.value


def put_value(db: Session, key: str, value: Any, *, updated_by: str | None) -> None:
    """Create or replace the value of ``key`` (flushed)."""
    row = db.get(Setting, key)
    if row is None:
        db.add(Setting(key=key, value=value, updated_by=updated_by))
    else:
        row.value = value
        row.updated_by = updated_by
    db.flush()
