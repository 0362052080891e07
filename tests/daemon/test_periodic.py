"""The housekeeping loop survives a failing round, reports it in health, and recovers."""

from __future__ import annotations

import asyncio

from idverify.periodic import PeriodicJob


class Flaky(PeriodicJob):
    name = "flaky"

    def __init__(self) -> None:
        super().__init__(interval_s=0.01)
        self.calls = 0

    def run_once(self) -> int:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("boom")
        return self.calls


def test_failures_are_reported_and_the_loop_goes_on() -> None:
    async def scenario() -> tuple[list[str], int]:
        job = Flaky()
        await job.start()
        seen: list[str] = []
        for _ in range(200):
            await asyncio.sleep(0.01)
            seen.append(job.health()[0]["status"])
            if job.calls >= 4:
                break
        await job.stop()
        return seen, job.calls

    seen, calls = asyncio.run(scenario())
    assert calls >= 4
    assert "error" in seen and seen[-1] == "ok"
