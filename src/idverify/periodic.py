"""A background job that runs a blocking function in a worker thread every ``interval_s`` seconds.

Used by the daemon's housekeeping subsystems (webhook delivery, retention). A failing round is logged and shown
in ``/healthz`` but never stops the loop: the next round retries.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class PeriodicJob:
    """Subclasses set ``name`` and implement :meth:`run_once` (blocking; runs in a thread)."""

    name = "periodic"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def run_once(self) -> object:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
                self.last_error = None
            except Exception as exc:  # keep running; /healthz shows the failure
                self.last_error = type(exc).__name__
                log.error("periodic_job_failed", job=self.name, error=self.last_error)
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def health(self) -> list[dict[str, Any]]:
        if self.last_error:
            return [{"kind": self.name, "status": "error", "detail": self.last_error, "detail_code": "job_failed"}]
        return [{"kind": self.name, "status": "ok", "detail_code": "running"}]
