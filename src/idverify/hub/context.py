"""What a running hub holds: settings, its database, its two keys, metrics and background jobs.

One :class:`HubContext` per app (``app.state.hub``), so tests and the demo can run a hub beside clinic daemons
in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from idverify.config import HubSettings
from idverify.hub.db import check_hub_migrated, make_hub_engine
from idverify.hub.feed import ProjectFn
from idverify.hub.keys import ledger_signer, witness_signer
from idverify.hub.projection import Projector
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.cosignature import CosignatureSigner
from idverify.store.base import utcnow
from idverify.store.db import make_session_factory


class Job(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> list[dict[str, Any]]: ...


@dataclass
class HubMetrics:
    witness: Counter
    feed_entries: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> HubMetrics:
        return cls(
            witness=Counter("idverify_hub_witness_requests", "add-checkpoint answers by status and reason",
                            ["status", "reason"], registry=registry),
            feed_entries=Counter("idverify_hub_feed_entries", "ledger entries accepted from clinics",
                                 registry=registry),
        )


@dataclass
class HubContext:
    settings: HubSettings
    engine: Engine
    session_factory: sessionmaker[Session]
    witness: CosignatureSigner
    ledger_signer: CheckpointSigner
    registry: CollectorRegistry
    metrics: HubMetrics
    started_at: datetime = field(default_factory=utcnow)
    jobs: list[Job] = field(default_factory=list)
    projector: ProjectFn | None = None  # what accepted feed entries update (alerts, statistics)


def build_hub_context(settings: HubSettings) -> HubContext:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_hub_engine(settings.resolved_database_url)
    check_hub_migrated(engine)
    registry = CollectorRegistry()
    return HubContext(
        settings=settings, engine=engine, session_factory=make_session_factory(engine),
        witness=witness_signer(settings), ledger_signer=ledger_signer(settings), registry=registry,
        metrics=HubMetrics.create(registry), projector=Projector(settings),
    )
