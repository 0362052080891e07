"""Overrides of stage checks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idverify.store.models import Override


def for_verification(db: Session, verification_id: str) -> list[Override]:
    return list(db.scalars(select(Override).where(Override.verification_id == verification_id)))


def add(db: Session, override: Override) -> Override:
    db.add(override)
    return override
