"""Bulk writes for the feed's hot path, one round trip per table and batch, in each database's fastest form.

The feed stores a thousand entries and their projections per batch; the ORM's per-row machinery costs more than
the verification itself (profiled at ~200 µs of Python per entry). So, on PostgreSQL: binary ``COPY`` for the entries
(append-only, the primary key already guarded by the feed's compare-and-swap), ``INSERT … SELECT FROM unnest(arrays)
ON CONFLICT DO NOTHING`` for projections, ``UPDATE … FROM unnest(arrays)`` for closing cycles; on SQLite the
driver's ``executemany`` with ``INSERT OR IGNORE``. Values are passed as parameters, never interpolated; only the
fixed table and column names of the callers are. The arrays travel in PostgreSQL's binary format (``%(x)b``):
psycopg dumps a 1,000-element text/timestamp array in text format with ~5 ms of Python (quoting every element),
in binary with ~0.7 ms.

Callers pass rows as tuples in ``columns`` order; datetimes timezone-aware UTC (stored as SQLAlchemy's
``UTCDateTime`` stores them, so ORM reads see the same values).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

PG_TYPES = {"text": "text[]", "bigint": "bigint[]", "int": "integer[]", "bytea": "bytea[]",
            "timestamptz": "timestamptz[]"}
PG_SCALAR = {"text": "text", "bigint": "int8", "int": "int4", "bytea": "bytea", "timestamptz": "timestamptz"}


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _driver(session: Session) -> tuple[str, Any]:
    conn = session.connection()
    return conn.dialect.name, conn.connection.driver_connection


def copy_rows(session: Session, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]
              ) -> None:
    """Append rows (binary ``COPY`` on PostgreSQL: no value is formatted as text by us or parsed by the server).
    ``columns`` are (name, PostgreSQL scalar type). A duplicate key fails the transaction, as an INSERT would."""
    if not rows:
        return
    dialect, driver = _driver(session)
    cols = ", ".join(c for c, _t in columns)
    if dialect == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([PG_SCALAR[t] for _c, t in columns])
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    driver.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 - fixed names
                       [tuple(_sqlite_value(v) for v in row) for row in rows])


def insert_ignore(session: Session, table: str, columns: Sequence[tuple[str, str]],
                  rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows, skipping those whose primary key exists. ``columns`` are (name, PostgreSQL scalar type)."""
    if not rows:
        return
    dialect, driver = _driver(session)
    names = ", ".join(c for c, _t in columns)
    if dialect == "postgresql":
        arrays = ", ".join(f"%(c{i})b::{PG_TYPES[t]}" for i, (_c, t) in enumerate(columns))
        params = {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
        with driver.cursor() as cur:
            cur.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
                        "ON CONFLICT DO NOTHING", params)
        return
    marks = ", ".join("?" * len(columns))
    driver.executemany(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                       [tuple(_sqlite_value(v) for v in row) for row in rows])


def insert_patients(session: Session, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]) -> None:
    """``hub_patients`` rows as :func:`insert_ignore`, and the pseudonyms of the rows it added in ``hub_people``:
    a new pseudonym with its clinic, one another clinic registered before marked ``shared``. On PostgreSQL one
    statement (the people upserted in pseudonym order, so two feeds sharing people wait for each other in one
    order, never in a cycle); an upsert waits for a concurrent insert of the same pseudonym to commit, so two
    clinics registering one person at the same moment still mark it shared."""
    if not rows:
        return
    dialect, driver = _driver(session)
    names = [c for c, _t in columns]
    if dialect == "postgresql":
        arrays = ", ".join(f"%(c{i})b::{PG_TYPES[t]}" for i, (_c, t) in enumerate(columns))
        params = {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
        with driver.cursor() as cur:
            cur.execute(
                f"WITH added AS (INSERT INTO hub_patients ({', '.join(names)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING pseudonym, clinic_id) "
                "INSERT INTO hub_people (pseudonym, clinic_id, shared) "
                "SELECT pseudonym, MIN(clinic_id), COUNT(DISTINCT clinic_id) > 1 FROM added "
                "GROUP BY pseudonym ORDER BY pseudonym "
                "ON CONFLICT (pseudonym) DO UPDATE SET shared = true WHERE NOT hub_people.shared "
                "AND (hub_people.clinic_id <> EXCLUDED.clinic_id OR EXCLUDED.shared)", params)
        return
    insert_ignore(session, "hub_patients", columns, rows)
    keys = [names.index(c) for c in ("clinic_id", "patient_id", "key_id", "pseudonym")]
    driver.executemany(
        "INSERT INTO hub_people (pseudonym, clinic_id, shared) SELECT pseudonym, clinic_id, 0 FROM hub_patients "
        "WHERE clinic_id = ? AND patient_id = ? AND key_id = ? AND pseudonym = ? "
        "ON CONFLICT (pseudonym) DO UPDATE SET shared = 1 WHERE NOT hub_people.shared "
        "AND hub_people.clinic_id <> excluded.clinic_id", [tuple(row[k] for k in keys) for row in rows])


def close_cycles(session: Session, clinic_id: str, closes: Sequence[tuple[str, datetime]]) -> None:
    """Set ``closed_at`` of still-open cycles."""
    if not closes:
        return
    dialect, driver = _driver(session)
    if dialect == "postgresql":
        with driver.cursor() as cur:
            cur.execute(
                "UPDATE hub_cycles AS c SET closed_at = v.at FROM unnest(%(ids)b::text[], %(ats)b::timestamptz[]) "
                "AS v(cycle_id, at) WHERE c.clinic_id = %(clinic)s AND c.cycle_id = v.cycle_id "
                "AND c.closed_at IS NULL",
                {"ids": [c for c, _a in closes], "ats": [a for _c, a in closes], "clinic": clinic_id})
        return
    driver.executemany("UPDATE hub_cycles SET closed_at = ? WHERE clinic_id = ? AND cycle_id = ? "
                       "AND closed_at IS NULL", [(_sqlite_value(a), clinic_id, c) for c, a in closes])


def add_counts(session: Session, table: str, keys: Sequence[tuple[str, str]], counters: Sequence[str],
               rows: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: add each row's counters to the row with its key, or insert it — one ``INSERT … SELECT FROM
    unnest(arrays) ON CONFLICT DO UPDATE`` (the ORM's upsert of the same rows cost ~10 ms per feed batch). ``rows``
    are keys then counters (integers), each key at most once."""
    if not rows:
        return
    _dialect, driver = _driver(session)
    columns = [*keys, *((c, "int") for c in counters)]
    names = ", ".join(c for c, _t in columns)
    arrays = ", ".join(f"%(c{i})b::{PG_TYPES[t]}" for i, (_c, t) in enumerate(columns))
    params = {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in counters)
    with driver.cursor() as cur:
        cur.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608 - fixed names
                    f"ON CONFLICT ({', '.join(k for k, _t in keys)}) DO UPDATE SET {updates}", params)
