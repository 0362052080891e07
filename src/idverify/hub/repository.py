"""Every SQL statement of the hub's witness and clinic registry.

Concurrency: several hub processes may serve one PostgreSQL database. The witness state is changed only by
:func:`record_cosignature`, a compare-and-swap ``UPDATE … WHERE witness_size = :old AND witness_root =
:old_root AND status = 'active' AND public_key = :key``: the row lock it takes serialises concurrent submissions
for one origin, and a submission whose premise (the size, root and key it was checked against) changed in between
updates nothing and is answered 409. So a smaller checkpoint can never overwrite a larger one (the rollback race
of the tlog-witness spec), and a premise remembered from an earlier request (the witness's state cache) is as
safe as one read a moment ago.

On PostgreSQL the witness runs its read and its compare-and-swap in autocommit (:func:`autocommit`): the CAS is
one statement, atomic by itself, so a transaction around it would only add the BEGIN and COMMIT round trips.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from idverify.hub.models import HubClinic, HubCosignature, HubRefusal


@dataclass(frozen=True)
class WitnessState:
    clinic_id: str
    status: str
    public_key: bytes
    size: int
    root: bytes


def autocommit(session: Session) -> None:
    """On PostgreSQL, run this session's next transaction in autocommit: each statement commits by itself (no
    BEGIN/COMMIT round trips). Only for work whose every write is one statement; SQLite keeps its transaction
    (``BEGIN IMMEDIATE`` serialises writers there anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


_STATE = "SELECT id, status, public_key, witness_size, witness_root FROM hub_clinics WHERE origin = %(origin)s"


def _fetch_one(session: Session, sql: str, params: dict[str, Any]) -> Any:
    """Run one statement of the witness's hot path straight on the driver's (psycopg's) connection under the
    session — its own, in its transaction state; SQLAlchemy's statement execution and result wrapping cost more
    Python than the statement's round trip. Driver errors come out as SQLAlchemy raises them
    (:class:`~sqlalchemy.exc.DBAPIError`): a dropped connection invalidates it and the engine's other pooled
    connections (opened before the drop: a server restart closed them too) and sets ``connection_invalidated``."""
    conn = session.connection()
    dbapi = conn.dialect.loaded_dbapi
    driver: Any = conn.connection.driver_connection
    try:
        with driver.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()
    except dbapi.Error as exc:
        invalidated = bool(conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None))
        if invalidated:
            conn.invalidate(exc)
            conn.engine.dispose(close=False)
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=invalidated) from exc


def witness_state(session: Session, origin: str) -> WitnessState | None:
    if session.get_bind().dialect.name == "postgresql":
        row = _fetch_one(session, _STATE, {"origin": origin})
    else:
        row = session.execute(select(HubClinic.id, HubClinic.status, HubClinic.public_key, HubClinic.witness_size,
                                     HubClinic.witness_root).where(HubClinic.origin == origin)).first()
    if row is None:
        return None
    return WitnessState(row[0], row[1], bytes(row[2]), int(row[3]), bytes(row[4]))


@dataclass(frozen=True)
class NewCosignature:
    clinic_id: str
    old_size: int
    old_root: bytes
    tree_size: int
    root_hash: bytes
    note: str
    cosignature: str
    timestamp: int
    at: datetime
    action: dict[str, object]  # the hub action (outbox row) recording it
    public_key: bytes  # the key the checkpoint's signature was checked with: still the registered one?


# On PostgreSQL the cosignatures of a group commit (:mod:`idverify.hub.group_commit`, one row per clinic) are one
# statement: compare-and-swap each clinic's state, append the history and outbox rows of those that moved, and
# nothing for a clinic whose state had moved meanwhile (it is not among the returned ids). It runs on the driver's
# (psycopg's) connection in autocommit with positional placeholders: one row of scalars per cosignature (arrays
# would cost psycopg more to dump than the statement's round trip). ``c.id IN (…)`` finds the clinics by their
# primary key whatever the planner's estimates (joined with the batch alone it may scan every clinic per row).
_BATCH_ROW = ("(%s::varchar, %s::bigint, %s::bytea, %s::bigint, %s::bytea, %s::bytea, %s::text, %s::text, %s::bigint,"
              " %s::timestamptz, %s::text, %s::int)")
_RECORD_PG = """
WITH batch (clinic_id, old_size, old_root, tree_size, root_hash, public_key, note, cosignature, ts, at, action, ord)
  AS (VALUES {rows}),
moved AS (
  UPDATE hub_clinics c SET witness_size = b.tree_size, witness_root = b.root_hash, witness_at = b.at
    FROM batch b
   WHERE c.id IN ({ids}) AND c.id = b.clinic_id AND c.witness_size = b.old_size AND c.witness_root = b.old_root
     AND c.status = 'active' AND c.public_key = b.public_key
  RETURNING c.id),
cosigned AS (
  INSERT INTO hub_cosignatures (clinic_id, tree_size, root_hash, old_size, note, cosignature, timestamp, created_at)
  SELECT b.clinic_id, b.tree_size, b.root_hash, b.old_size, b.note, b.cosignature, b.ts, b.at
    FROM batch b JOIN moved m ON m.id = b.clinic_id ORDER BY b.ord
  RETURNING clinic_id),
acted AS (
  INSERT INTO hub_actions (kind, actor, data, created_at)
  SELECT 'witness.cosigned', NULL, CAST(b.action AS JSON), b.at FROM batch b JOIN moved m ON m.id = b.clinic_id
   ORDER BY b.ord)
SELECT clinic_id FROM cosigned
"""


@functools.lru_cache(maxsize=256)
def _record_sql(rows: int) -> str:
    return _RECORD_PG.format(rows=", ".join([_BATCH_ROW] * rows), ids=", ".join(["%s"] * rows))


_CAS = text("""UPDATE hub_clinics SET witness_size = :tree_size, witness_root = :root_hash, witness_at = :at
 WHERE id = :clinic_id AND witness_size = :old_size AND witness_root = :old_root AND status = 'active'
   AND public_key = :public_key""")
_HISTORY = text("""INSERT INTO hub_cosignatures (clinic_id, tree_size, root_hash, old_size, note, cosignature,
 timestamp, created_at) VALUES (:clinic_id, :tree_size, :root_hash, :old_size, :note, :cosignature, :timestamp, :at)""")
_ACTION = text("INSERT INTO hub_actions (kind, actor, data, created_at) "
               "VALUES ('witness.cosigned', NULL, :action, :at)")


def _params(new: NewCosignature) -> dict[str, Any]:
    return {
        "clinic_id": new.clinic_id, "old_size": new.old_size, "old_root": new.old_root, "tree_size": new.tree_size,
        "root_hash": new.root_hash, "note": new.note, "cosignature": new.cosignature, "timestamp": new.timestamp,
        "at": new.at, "public_key": new.public_key,
        "action": _action_json(new),
    }


def _action_json(new: NewCosignature) -> str:
    return json.dumps({"role": "system", **new.action}, separators=(",", ":"))


def record_cosignature(session: Session, new: NewCosignature) -> bool:
    """SQLite: compare-and-swap the witness state and append the history and outbox rows in the session's
    transaction; False (and nothing written) when another request changed the state first."""
    params = _params(new)
    if not session.execute(_CAS, params).rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(_HISTORY, params)
    session.execute(_ACTION, params)
    return True


def record_cosignatures(engine: Engine, driver: Any, batch: Sequence[NewCosignature]) -> set[str]:
    """PostgreSQL: write ``batch`` (at most one cosignature per clinic) in one statement on ``driver``, a psycopg
    connection in autocommit owned by the caller; the ids of the clinics whose compare-and-swap succeeded (the
    others' state had moved: nothing written for them). Driver errors come out as SQLAlchemy's
    :class:`~sqlalchemy.exc.DBAPIError`, with ``connection_invalidated`` when the connection is gone."""
    sql = _record_sql(len(batch))
    params: list[Any] = []
    for ord_, new in enumerate(batch):
        params += (new.clinic_id, new.old_size, new.old_root, new.tree_size, new.root_hash, new.public_key, new.note,
                   new.cosignature, new.timestamp, new.at, _action_json(new), ord_)
    params += (new.clinic_id for new in batch)
    dbapi = engine.dialect.loaded_dbapi
    try:
        with driver.cursor() as cur:
            cur.execute(sql, params)
            return {row[0] for row in cur.fetchall()}
    except dbapi.Error as exc:
        gone = bool(driver.closed or driver.broken)
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=gone) from exc


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
