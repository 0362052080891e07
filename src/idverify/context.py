"""What a running daemon holds: settings, database, keys, metrics and the optional subsystems.

One :class:`AppContext` per app instance (stored on ``app.state.ctx``), so tests can run several daemons with
different settings in one process. Optional subsystems (device manager, ledger scheduler) attach
here and are started/stopped by the app's lifespan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from idverify.config import Settings
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

    def subsystem(self, name: str) -> Lifecycle | None:
        return next((s for s in self.subsystems if s.name == name), None)
