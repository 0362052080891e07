"""The daemon's ledger background work: signed checkpoints every ``checkpoint_interval_s`` and an integrity
re-check every ``integrity_check_interval_s`` (and once at start), reported through ``/healthz``.

Implements the app context's ``Lifecycle`` protocol (``name``, ``start``, ``stop``, ``health``). Database work runs
in a worker thread so the event loop never blocks; each run uses its own short session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from idverify.config import Settings
from idverify.errors import IdverifyError
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.integrity import IntegrityReport
from idverify.ledger.proofs import create_checkpoint, latest_checkpoint
from idverify.ledger.signing_key import sync_signing_key, verify_clinic_tree
from idverify.store.crypto import KeyRing

log = structlog.get_logger(__name__)


class LedgerScheduler:
    name = "ledger"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        signer: CheckpointSigner,
        *,
        checkpoint_interval_s: float,
        integrity_interval_s: float,
    ) -> None:
        self._factory = session_factory
        self._signer = signer
        self._checkpoint_interval = checkpoint_interval_s
        self._integrity_interval = integrity_interval_s
        self._tasks: list[asyncio.Task[None]] = []
        self.last_report: IntegrityReport | None = None
        self.last_error: str | None = None
        # called (in the worker thread) with the new size after each checkpoint — the hub sync listens here
        self.listeners: list[Callable[[int], None]] = []

    @property
    def signer(self) -> CheckpointSigner:
        return self._signer

    @classmethod
    def from_settings(
        cls, settings: Settings, session_factory: sessionmaker[Session], ring: KeyRing
    ) -> LedgerScheduler:
        """The scheduler signing with the clinic's shared key (:mod:`idverify.ledger.signing_key`)."""
        with session_factory() as session:
            signer = sync_signing_key(settings, session, ring)
        return cls(
            session_factory,
            signer,
            checkpoint_interval_s=settings.checkpoint_interval_s,
            integrity_interval_s=settings.integrity_check_interval_s,
        )

    def checkpoint_now(self) -> int:
        """Sign a checkpoint of the current tree (no-op when nothing changed); returns its size."""
        with self._factory() as session:
            latest = latest_checkpoint(session)
            cp = create_checkpoint(session, self._signer)
            session.commit()
            size = int(cp.tree_size)
        if latest is None or latest.id != cp.id:
            for listener in self.listeners:
                listener(size)
        return size

    def check_now(self) -> IntegrityReport:
        with self._factory() as session:
            report = verify_clinic_tree(session, self._signer)
        self.last_report = report
        return report

    async def _every(self, interval: float, job: Callable[[], object], what: str, *, first: bool) -> None:
        if not first:
            await asyncio.sleep(interval)
        while True:
            try:
                await asyncio.to_thread(job)
                self.last_error = None
            except (SQLAlchemyError, IdverifyError) as exc:
                # Keep running: a locked or briefly unreachable database must not stop future checkpoints.
                self.last_error = f"{what} failed: {type(exc).__name__}"
                log.warning("ledger.job_failed", job=what, error=type(exc).__name__)
            await asyncio.sleep(interval)

    async def start(self) -> None:
        runs: list[Coroutine[Any, Any, None]] = [
            self._every(self._checkpoint_interval, self.checkpoint_now, "checkpoint", first=True),
            self._every(self._integrity_interval, self.check_now, "integrity check", first=True),
        ]
        self._tasks = [asyncio.create_task(r) for r in runs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:  # a last checkpoint so the entries of this run are signed
            await asyncio.to_thread(self.checkpoint_now)
        except (SQLAlchemyError, IdverifyError) as exc:
            log.warning("ledger.final_checkpoint_failed", error=type(exc).__name__)

    def health(self) -> list[dict[str, Any]]:
        if self.last_report is None:
            component: dict[str, Any] = {"kind": "ledger", "name": "audit ledger", "status": "ok",
                                         "detail": "integrity check pending"}
        else:
            component = self.last_report.as_health()
        if self.last_error and component["status"] == "ok":
            component = component | {"status": "degraded", "detail": self.last_error}
        return [component]
