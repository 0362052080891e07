"""The daemon's ledger background work and tamper alarm, reported through ``/healthz``.

Every ``checkpoint_interval_s`` (and once at start) a *tick*: the entries appended since the last check that
passed are verified (:func:`~idverify.ledger.integrity.verify_new_entries` — content, stored columns, the nodes
they complete, the checkpoints signed since, and that the nodes the verified prefix folds to did not change), and
only then is a checkpoint signed. Every ``integrity_check_interval_s`` (by default also 300 s) the whole tree is
re-verified (:func:`~idverify.ledger.integrity.verify_stored_tree`), which finds an edit anywhere in the past.
The first tick runs the full check, since there is no verified prefix to start from yet.

A ledger that fails a check is *broken* until a full check passes again (after the rows are restored from a
backup): ``/healthz`` answers 503 naming the ledger, and this daemon signs no checkpoint — signing over a rewritten
history would lend it the clinic's signature. Audited writes continue: each is appended and committed with the
change it records exactly as before, so no action goes unrecorded, and the entries become signed once the ledger
verifies again; refusing them would let anyone able to break one row stop the clinic, while the procedures would
go on unrecorded on paper.

Implements the app context's ``Lifecycle`` protocol (``name``, ``start``, ``stop``, ``health``). Database work runs
in a worker thread so the event loop never blocks; each run uses its own short session.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from idverify.config import Settings
from idverify.errors import IdverifyError
from idverify.ledger import repository as ledger_repo
from idverify.ledger.canonical import format_time
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.integrity import IntegrityReport, VerifiedPrefix
from idverify.ledger.proofs import create_checkpoint, latest_checkpoint
from idverify.ledger.signing_key import sync_signing_key, verify_clinic_tree
from idverify.store.crypto import KeyRing
from idverify.store.db import read_session

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
        self._state = threading.Lock()  # the two jobs run in worker threads; this guards what they share
        self._verified: VerifiedPrefix | None = None
        self.last_report: IntegrityReport | None = None  # the newest check of either kind
        self.last_full: IntegrityReport | None = None
        self.broken: IntegrityReport | None = None  # the check that failed; cleared only by a full check that passes
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

    def checkpoint_now(self) -> int | None:
        """Sign a checkpoint of the current tree (no-op when nothing changed); returns its size, or None when the
        ledger is broken and nothing was signed."""
        if self.broken is not None:
            log.warning("ledger.checkpoint_withheld", reason="integrity check failed")
            return None
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
        """Re-verify the whole stored tree."""
        with self._factory() as session:
            report = verify_clinic_tree(session, self._signer)
        with self._state:
            self.last_full = self.last_report = report
            if report.ok:
                self.broken = None
                if self._verified is None or report.tree_size >= self._verified.size:
                    self._verified = report.verified
            else:
                self.broken = report
                self._verified = None
        return report

    def check_new(self) -> IntegrityReport:
        """Verify what was appended since the last passed check (the full check when there is none yet)."""
        with self._state:
            since = self._verified
        if since is None:
            return self.check_now()
        with self._factory() as session:
            report = verify_clinic_tree(session, self._signer, since=since)
        with self._state:
            self.last_report = report
            if not report.ok:
                self.broken = report
                self._verified = None
            elif self._verified == since:
                self._verified = report.verified
        return report

    def tick(self) -> None:
        """Verify the new entries, then sign a checkpoint over them if they verified."""
        if self.check_new().ok:
            self.checkpoint_now()

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
            self._every(self._checkpoint_interval, self.tick, "checkpoint", first=True),
            self._every(self._integrity_interval, self.check_now, "integrity check", first=False),
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
            await asyncio.to_thread(self.tick)
        except (SQLAlchemyError, IdverifyError) as exc:
            log.warning("ledger.final_checkpoint_failed", error=type(exc).__name__)

    def health(self) -> list[dict[str, Any]]:
        """``error`` while the ledger is broken (``/healthz`` then answers 503), ``degraded`` while a job cannot
        reach the database, else ``ok``.

        The sizes are read live (``tree_size``: entries stored now; ``checkpoint_size``/``checkpoint_at``: the
        newest signed checkpoint), not taken from the last integrity check, which may be minutes old or have run on
        an empty ledger at start-up; ``verified_size`` is what that check covered. ``detail_code`` is the stable
        word the IT page translates (``intact``, ``pending``, ``broken``, ``job_failed``)."""
        broken, report, full = self.broken, self.last_report, self.last_full
        if broken is not None:
            component = broken.as_health() | {"detail": f"tampered or damaged: {broken.problems[0]}",
                                              "detail_code": "broken",
                                              "checkpoints": "withheld until the ledger verifies again"}
        elif report is None:
            component = {"kind": "ledger", "name": "audit ledger", "status": "ok",
                         "detail": "integrity check pending", "detail_code": "pending"}
        else:
            component = report.as_health() | {"detail_code": "intact" if report.ok else "broken"}
        if report is not None:
            component["verified_size"] = component.pop("tree_size")
        if full is not None:
            component["full_check_at"] = format_time(full.checked_at)
        component |= self._live_sizes()
        if self.last_error and component["status"] == "ok":
            component = component | {"status": "degraded", "detail": self.last_error, "detail_code": "job_failed"}
        return [component]

    def _live_sizes(self) -> dict[str, Any]:
        """Entries and newest checkpoint as stored now; nothing when the database does not answer (the database
        line of ``/healthz`` says so)."""
        try:
            with read_session(self._factory) as session:
                now = ledger_repo.summary(session)
        except SQLAlchemyError:
            return {}
        return {"tree_size": now.entries, "checkpoint_size": now.checkpoint_size,
                "checkpoint_at": format_time(now.checkpoint_at) if now.checkpoint_at is not None else None}
