"""What a running daemon holds: settings, database, keys, metrics and the optional subsystems.

One :class:`AppContext` per app instance (stored on ``app.state.ctx``), so tests can run several daemons with
different settings in one process. Optional subsystems (device manager, ledger scheduler) attach
here and are started/stopped by the app's lifespan.

:class:`CheckSlots` is the daemon's admission control for the slow work (captures, extraction, matching): at most
``max_concurrent_checks`` run at once, at most ``check_queue`` wait, and nobody waits longer than
``check_queue_timeout_s``. Waiting happens on the event loop (no worker thread is held), so ``/healthz`` and the
rest of the API keep answering however many checks arrive; the overflow gets 503 ``busy`` with ``Retry-After``.

:class:`CheckMetrics` are the counters the check routes add to as they answer; the gauges that describe the
daemon's state (ledger, devices) are read at scrape time by :mod:`idverify.api.metrics` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from idverify.auth.throttle import LoginThrottle
from idverify.config import Settings
from idverify.errors import ServiceBusy
from idverify.store.base import utcnow
from idverify.store.keys import Keys
from idverify.workflow.challenges import ChallengeStore
from idverify.workflow.galleries import Galleries
from idverify.workflow.result_photos import LiveFrames

if TYPE_CHECKING:
    from idverify.devices.manager import DeviceManager


class Lifecycle(Protocol):
    """A background subsystem started and stopped with the daemon."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> list[dict[str, Any]]: ...


class CheckSlots:
    """A bounded queue in front of the checks: ``running`` at once, ``queued`` waiting, each for ``wait_s`` at most."""

    def __init__(self, running: int, queued: int, wait_s: float) -> None:
        self.running, self.queued, self.wait_s = running, queued, wait_s
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waiting = 0
        self.active = 0

    def _retry_after(self) -> int:
        return max(1, min(30, round(self.wait_s / 4)))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body; :class:`ServiceBusy` when the queue is full or the wait runs out."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:  # made on the serving loop (a test client's differ)
            self._semaphore, self._loop = asyncio.Semaphore(self.running), loop
        semaphore = self._semaphore
        if semaphore.locked() and self.waiting >= self.queued:
            raise ServiceBusy(f"{self.active} checks are running and {self.waiting} waiting; try again shortly",
                              retry_after_s=self._retry_after())
        self.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), self.wait_s)
        except TimeoutError:
            raise ServiceBusy(f"no check slot came free within {self.wait_s:g} s; try again shortly",
                              retry_after_s=self._retry_after()) from None
        finally:
            self.waiting -= 1
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            semaphore.release()


class CheckMetrics:
    """Stage checks by stage and outcome, how long they took, and device captures that failed in an enrolment or a
    check (by error code).

    Labels are the stage, the outcome and the error code: a few values each, never a person or a workstation.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter("idverify_check_decisions", "Stage-check decisions by stage and outcome",
                                 ["stage", "outcome"], registry=registry)
        self.duration = Histogram("idverify_check_duration_seconds",
                                  "Stage-check time from the first read to the decision (capture and matching)",
                                  ["stage"], registry=registry, buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60))
        self.capture_failures = Counter("idverify_capture_failures",
                                        "Device captures that failed (enrolment or check), by error code", ["code"],
                                        registry=registry)

    def decided(self, stage: str, outcome: str, seconds: float) -> None:
        self.decisions.labels(stage=stage, outcome=outcome).inc()
        self.duration.labels(stage=stage).observe(seconds)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    keys: Keys
    registry: CollectorRegistry
    started_at: datetime = field(default_factory=utcnow)
    subsystems: list[Lifecycle] = field(default_factory=list)
    devices: DeviceManager | None = None  # when devices are configured (or simulated)
    galleries: Galleries = field(default_factory=Galleries)
    live_frames: LiveFrames = field(default_factory=LiveFrames)  # recent checks' live frames, in memory only
    challenges: ChallengeStore = field(default_factory=ChallengeStore)  # issued liveness challenges, in memory
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)  # failed password checks, in memory
    check_slots: CheckSlots = field(init=False)
    check_metrics: CheckMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.check_metrics = CheckMetrics(self.registry)
        self.check_slots = CheckSlots(self.settings.max_concurrent_checks, self.settings.check_queue,
                                      self.settings.check_queue_timeout_s)

    def subsystem(self, name: str) -> Lifecycle | None:
        return next((s for s in self.subsystems if s.name == name), None)
