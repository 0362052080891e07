"""The daemon's state as Prometheus gauges, read when ``/metrics`` is scraped rather than kept up to date in the
background: the audit ledger (entries, age of the newest checkpoint, integrity) and each configured device (up or
down). A gauge computed at scrape time is never stale and costs nothing between scrapes.

Counters that events add to live elsewhere: HTTP requests in :mod:`idverify.api.middleware`, checks and capture
failures in :class:`idverify.context.CheckMetrics`, webhook deliveries and backlog in :mod:`idverify.webhooks`, the
hub's witness and feed backlog in :mod:`idverify.ledger.hub_sync`.

Labels name device kinds and device names only, never a person.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from idverify.context import AppContext
from idverify.ledger import proofs
from idverify.ledger.scheduler import LedgerScheduler
from idverify.store.base import utcnow
from idverify.store.db import read_session


class StateCollector(Collector):
    """Yields the ledger and device gauges of one daemon each time its registry is scraped."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        yield from self._ledger()
        yield from self._devices()

    def _ledger(self) -> Iterator[Metric]:
        interval = GaugeMetricFamily("idverify_ledger_checkpoint_interval_seconds",
                                     "Configured seconds between signed ledger checkpoints")
        interval.add_metric([], self.ctx.settings.checkpoint_interval_s)
        yield interval
        scheduler = self.ctx.subsystem("ledger")
        if isinstance(scheduler, LedgerScheduler):
            ok = GaugeMetricFamily("idverify_ledger_integrity_ok",
                                   "1 while the audit ledger verifies (or no check ran yet), 0 once a check failed")
            ok.add_metric([], 0 if scheduler.broken is not None else 1)
            yield ok
            if scheduler.last_full is not None:
                full = GaugeMetricFamily("idverify_ledger_last_full_check_timestamp_seconds",
                                         "When the whole ledger was last re-verified")
                full.add_metric([], scheduler.last_full.checked_at.timestamp())
                yield full
        try:
            with read_session(self.ctx.session_factory) as db:
                size = proofs.tree_size(db)
                latest = proofs.latest_checkpoint(db)
                signed = None if latest is None else (latest.tree_size, latest.signed_at)
        except SQLAlchemyError:  # /healthz reports the database; a scrape still gets the other series
            return
        entries = GaugeMetricFamily("idverify_ledger_entries", "Entries in the audit ledger")
        entries.add_metric([], size)
        yield entries
        if signed is not None:
            covered = GaugeMetricFamily("idverify_ledger_checkpoint_entries",
                                        "Entries covered by the newest signed checkpoint")
            covered.add_metric([], signed[0])
            yield covered
            age = GaugeMetricFamily("idverify_ledger_checkpoint_age_seconds", "Age of the newest signed checkpoint")
            age.add_metric([], max((utcnow() - signed[1]).total_seconds(), 0.0))
            yield age

    def _devices(self) -> Iterator[Metric]:
        if self.ctx.devices is None:
            return
        up = GaugeMetricFamily("idverify_device_up", "1 when a configured device answers, 0 when it does not",
                               labels=["kind", "name"])
        for line in self.ctx.devices.health():
            if line.status != "not_configured":
                up.add_metric([line.kind, line.name], 1 if line.status == "ok" else 0)
        yield up
