"""Group commit for the witness on PostgreSQL: the cosignatures of concurrent requests written by one statement.

Why: a cosignature must be committed before its answer (tlog-witness: persist before answering), and on
PostgreSQL each commit costs the server a statement plan, a WAL flush and the per-statement bookkeeping, and the
hub a round trip and a connection checkout. With many clinics submitting at once those costs are paid once per
batch here instead of once per request: a request joins the pending list; when no write is running it becomes
the *leader*, takes every pending request (at most one per clinic: two compare-and-swaps of one row in one
statement would race each other), writes them with :func:`idverify.hub.repository.record_cosignatures` in
autocommit, hands each request its outcome and lets whichever request runs next lead the next write. A request
alone waits for nothing. One write at a time per process: a second concurrent writer was measured to make the
batches smaller and the throughput lower (892 → 833 req/s, 16 threads).

The writes go over one connection of the group's own, in autocommit for good and outside the engine's pool: a
pool checkout, an isolation switch and a reset per write cost more Python than the write, each of their waits
would hand the interpreter to another thread for a whole switch interval, and the waiting requests' sessions may
hold every pooled connection. A write that finds that connection dead (a server restart) is repeated once on a
new one.

What does not change: each request still gets its answer only after the statement that wrote it committed; the
compare-and-swap is per row (``UPDATE … WHERE witness_size = :old AND witness_root = :old_root …``), so the
atomicity across hub processes and the refusal of a moved premise are the single request's. When the batched
statement fails, each request of the batch is written alone, so every request sees its own outcome or error —
one bad row never fails its neighbours.

Owns the batching only; the SQL is in :mod:`idverify.hub.repository`. SQLite keeps the session's transaction
(its writers are serialised anyway).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

from idverify.hub import repository as repo

MAX_BATCH = 128  # rows per statement: enough for any realistic burst, small enough to keep the statement quick


@dataclass
class _Pending:
    new: repo.NewCosignature
    taken: bool = False  # in a batch being written
    done: bool = False
    recorded: bool = False
    error: Exception | None = None


class GroupCommit:
    """The pending cosignatures of one engine (one hub process's database)."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._pending: list[_Pending] = []
        self._writing = False
        self._driver: Any = None  # the group's psycopg connection, in autocommit; used by the leader alone

    def record(self, engine: Engine, new: repo.NewCosignature) -> bool:
        """Write ``new`` (compare-and-swap, history, outbox) and commit; False when the state had moved (nothing
        written). Raises the database's error for this request alone."""
        item = _Pending(new)
        with self._cv:
            self._pending.append(item)
            while not item.done:
                if item.taken or self._writing:
                    self._cv.wait()
                    continue
                self._writing = True  # we lead: write what is pending, then let whoever runs next lead
                batch = self._take()
                self._cv.release()
                try:
                    self._driver = self._write(engine, self._driver, batch)
                finally:
                    self._cv.acquire()
                    self._writing = False
                    for other in batch:
                        if not other.done:  # the write was interrupted (not an Exception): none left waiting
                            other.error = RuntimeError("the group commit was interrupted")
                            other.done = True
                    self._cv.notify_all()
        if item.error is not None:
            raise item.error
        return item.recorded

    def _take(self) -> list[_Pending]:
        """The oldest pending request of each clinic, up to :data:`MAX_BATCH`; the rest stay for the next write."""
        batch: list[_Pending] = []
        rest: list[_Pending] = []
        clinics: set[str] = set()
        for item in self._pending:
            if len(batch) < MAX_BATCH and item.new.clinic_id not in clinics:
                clinics.add(item.new.clinic_id)
                item.taken = True
                batch.append(item)
            else:
                rest.append(item)
        self._pending = rest
        return batch

    def _write(self, engine: Engine, driver: Any, batch: list[_Pending]) -> Any:
        """Write ``batch`` in one statement; when that fails, each item alone, so each gets its own outcome or
        error. A failed statement wrote nothing (autocommit: it is its own transaction): writing again is safe.
        Returns the connection to keep (None when it died)."""
        try:
            recorded, driver = _statement(engine, driver, [item.new for item in batch])
        except _Failed as failed:
            driver = failed.driver
            if len(batch) == 1:
                batch[0].error = failed.error
                batch[0].done = True
                return driver
            for item in batch:
                try:
                    alone, driver = _statement(engine, driver, [item.new])
                    item.recorded = bool(alone)
                except _Failed as again:
                    driver = again.driver
                    item.error = again.error
                item.done = True
            return driver
        for item in batch:
            item.recorded = item.new.clinic_id in recorded
            item.done = True
        return driver

    def close(self) -> None:
        """Close the group's connection (the engine was disposed)."""
        with self._cv:
            driver, self._driver = self._driver, None
        if driver is not None:
            _close(driver)


class _Failed(Exception):
    def __init__(self, error: Exception, driver: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.driver = driver


def _statement(engine: Engine, driver: Any, batch: list[repo.NewCosignature]) -> tuple[set[str], Any]:
    """One write on ``driver`` (a new connection when None or closed), repeated once on a new connection when the
    server closed it (a restart); the clinic ids written and the connection to keep."""
    for attempt in (1, 2):
        if driver is None or driver.closed:
            driver = _connect(engine)
        try:
            return repo.record_cosignatures(engine, driver, batch), driver
        except DBAPIError as exc:
            if exc.connection_invalidated:
                _close(driver)
                driver = None
                if attempt == 1:
                    continue
            raise _Failed(exc, driver) from exc
        except Exception as exc:
            raise _Failed(exc, driver) from exc
    raise AssertionError("unreachable")


def _connect(engine: Engine) -> Any:
    """A connection of the group's own, outside the engine's pool: the requests waiting for this write may hold
    every pooled connection (their sessions), so a write that needed the pool could wait for them."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    driver: Any = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
    driver.autocommit = True
    return driver


def _close(driver: Any) -> None:
    with contextlib.suppress(Exception):  # a dead connection may fail to close; it is dropped either way
        driver.close()


_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def record(engine: Engine, new: repo.NewCosignature) -> bool:
    """Write ``new`` with whatever else is pending for ``engine`` (see :meth:`GroupCommit.record`)."""
    return _group(engine).record(engine, new)


def _group(engine: Engine) -> GroupCommit:
    """The group commit of ``engine`` (tests run several hubs, so several engines, in one process). It holds no
    reference to the engine (the registry's keys are weak), so the engine is passed to each write."""
    group = _GROUPS.get(engine)
    if group is None:
        with _GROUPS_LOCK:
            group = _GROUPS.get(engine)
            if group is None:
                group = _GROUPS[engine] = GroupCommit()
                event.listen(engine, "engine_disposed", lambda _engine: group.close())
    return group
