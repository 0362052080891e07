"""SQL of the alerts table: insert-once by dedupe key, list with filters, status changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idverify.hub.models import HubAlert


def by_dedupe_key(session: Session, key: str) -> HubAlert | None:
    return session.scalar(select(HubAlert).where(HubAlert.dedupe_key == key))


def insert_once(session: Session, alert: HubAlert) -> HubAlert | None:
    """Insert ``alert`` unless one with its dedupe key exists (then None). Safe against concurrent inserts."""
    if by_dedupe_key(session, alert.dedupe_key) is not None:
        return None
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    return alert


def insert_all_once(session: Session, alerts: list[HubAlert]) -> list[HubAlert]:
    """Insert those of ``alerts`` whose dedupe key is new (one query for the keys, one multi-row INSERT), in order;
    returns the inserted ones. Should another process insert one of the keys meanwhile, each alert is inserted
    on its own (:func:`insert_once`)."""
    known = _known_keys(session, [a.dedupe_key for a in alerts])
    fresh: dict[str, HubAlert] = {}
    for alert in alerts:
        if alert.dedupe_key not in known:
            fresh.setdefault(alert.dedupe_key, alert)
    if not fresh:
        return []
    try:
        with session.begin_nested():
            session.add_all(fresh.values())
            session.flush()
    except IntegrityError:
        return [a for a in (insert_once(session, _copy(alert)) for alert in fresh.values()) if a is not None]
    return list(fresh.values())


def _known_keys(session: Session, keys: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        known |= set(session.scalars(select(HubAlert.dedupe_key).where(HubAlert.dedupe_key.in_(chunk))))
    return known


def _copy(alert: HubAlert) -> HubAlert:
    return HubAlert(kind=alert.kind, dedupe_key=alert.dedupe_key, status=alert.status, clinic_id=alert.clinic_id,
                    summary=alert.summary, evidence=alert.evidence, created_at=alert.created_at,
                    updated_at=alert.updated_at)


def get(session: Session, alert_id: int) -> HubAlert | None:
    return session.get(HubAlert, alert_id)


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    kind: str | None = None
    clinic_id: str | None = None


def listing(session: Session, f: AlertFilter, *, limit: int, offset: int) -> tuple[Sequence[HubAlert], int]:
    stmt = select(HubAlert)
    if f.status:
        stmt = stmt.where(HubAlert.status == f.status)
    if f.kind:
        stmt = stmt.where(HubAlert.kind == f.kind)
    if f.clinic_id:
        stmt = stmt.where(HubAlert.clinic_id == f.clinic_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(HubAlert.id.desc()).limit(limit).offset(offset)).all()
    return rows, int(total)


def open_counts_by_clinic(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(HubAlert.clinic_id, func.count()).where(HubAlert.status != "closed").group_by(HubAlert.clinic_id)
    ).all()
    return {str(c): int(n) for c, n in rows if c is not None}


def clinics_with(session: Session, kind: str) -> set[str]:
    """Clinics that ever had an alert of this kind (whatever its status)."""
    return {str(c) for (c,) in session.execute(
        select(HubAlert.clinic_id).where(HubAlert.kind == kind, HubAlert.clinic_id.is_not(None)).distinct()).all()}
