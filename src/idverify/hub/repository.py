"""Every SQL statement of the hub's witness and clinic registry.

Concurrency: several hub processes may serve one PostgreSQL database. The witness state is changed only by
:func:`advance_witness`, a single compare-and-swap ``UPDATE … WHERE witness_size = :old AND witness_root =
:old_root``: the row lock it takes serialises concurrent submissions for one origin, and a submission whose
premise (the size and root it was checked against) changed in between updates nothing and is answered 409. So a
smaller checkpoint can never overwrite a larger one (the rollback race of the tlog-witness spec).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from idverify.hub.models import HubClinic, HubCosignature, HubRefusal


@dataclass(frozen=True)
class WitnessState:
    clinic_id: str
    status: str
    public_key: bytes
    size: int
    root: bytes


def witness_state(session: Session, origin: str) -> WitnessState | None:
    row = session.execute(
        select(HubClinic.id, HubClinic.status, HubClinic.public_key, HubClinic.witness_size, HubClinic.witness_root)
        .where(HubClinic.origin == origin)
    ).first()
    if row is None:
        return None
    return WitnessState(row[0], row[1], bytes(row[2]), int(row[3]), bytes(row[4]))


def advance_witness(
    session: Session, clinic_id: str, *, old_size: int, old_root: bytes, new_size: int, new_root: bytes,
    at: datetime,
) -> bool:
    """Compare-and-swap the witness state; False when another request changed it first."""
    result = session.execute(
        update(HubClinic)
        .where(HubClinic.id == clinic_id, HubClinic.witness_size == old_size, HubClinic.witness_root == old_root)
        .values(witness_size=new_size, witness_root=new_root, witness_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def add_cosignature(session: Session, row: HubCosignature) -> None:
    session.add(row)


def add_refusal(session: Session, row: HubRefusal) -> None:
    session.add(row)
    session.flush()


def cosigned_root(session: Session, clinic_id: str, tree_size: int) -> bytes | None:
    """The root the witness cosigned for ``tree_size`` entries of this clinic's log, if it ever did."""
    root = session.scalar(
        select(HubCosignature.root_hash)
        .where(HubCosignature.clinic_id == clinic_id, HubCosignature.tree_size == tree_size)
        .limit(1)
    )
    return None if root is None else bytes(root)


def cosignatures(session: Session, clinic_id: str, *, limit: int = 100) -> Sequence[HubCosignature]:
    return session.scalars(
        select(HubCosignature).where(HubCosignature.clinic_id == clinic_id)
        .order_by(HubCosignature.id.desc()).limit(limit)
    ).all()


def latest_cosignature(session: Session, clinic_id: str) -> HubCosignature | None:
    return session.scalar(
        select(HubCosignature).where(HubCosignature.clinic_id == clinic_id)
        .order_by(HubCosignature.tree_size.desc(), HubCosignature.id.desc()).limit(1)
    )


def refusals(session: Session, clinic_id: str | None = None, *, limit: int = 100) -> Sequence[HubRefusal]:
    stmt = select(HubRefusal).order_by(HubRefusal.id.desc()).limit(limit)
    if clinic_id is not None:
        stmt = stmt.where(HubRefusal.clinic_id == clinic_id)
    return session.scalars(stmt).all()


def refusal_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(HubRefusal.clinic_id, func.count()).group_by(HubRefusal.clinic_id)).all()
    return {str(c): int(n) for c, n in rows}


def clinic(session: Session, clinic_id: str) -> HubClinic | None:
    return session.get(HubClinic, clinic_id)


def clinic_by_origin(session: Session, origin: str) -> HubClinic | None:
    return session.scalar(select(HubClinic).where(HubClinic.origin == origin))


def clinics(session: Session) -> Sequence[HubClinic]:
    return session.scalars(select(HubClinic).order_by(HubClinic.name, HubClinic.id)).all()


def add_clinic(session: Session, row: HubClinic) -> None:
    session.add(row)
    session.flush()
