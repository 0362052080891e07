"""The clinic daemon's link to the regional hub (runs when ``IDVERIFY_HUB_URL`` is set).

Each round — every ``IDVERIFY_HUB_SYNC_INTERVAL_S`` seconds and right after each new checkpoint — it

1. asks the hub's witness to cosign the latest checkpoint, with a consistency proof from the last size the
   witness cosigned (what this ledger's stored cosignatures say, or what the witness's last 409 said); after a
   409 it resumes from the size the witness names; a returned cosignature is verified with
   ``IDVERIFY_HUB_WITNESS_KEY`` and stored next to the checkpoint (``ledger_cosignatures``);
2. pushes the ledger entries the hub does not hold yet (the feed), in batches proven against the latest
   checkpoint the witness cosigned, resuming from the hub's feed size.

The clinic keeps working while the hub is unreachable: nothing here runs in a request, failures back off
exponentially (up to 15 minutes, with jitter) and the backlog — entries signed but not witnessed, entries
witnessed but not fed — shows in ``/healthz``, ``/metrics`` and the IT devices page. Database work happens in
short transactions that end before any network call: SQLite transactions hold the write lock, and a nurse's
check must never wait for the hub.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from idverify.errors import ConfigError, ErrorCode, IdverifyError
from idverify.ledger import proofs as ledger
from idverify.ledger import repository
from idverify.ledger.canonical import format_time
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.cosignature import CosignatureError, WitnessKey, parse_witness_key, verify_cosignatures
from idverify.ledger.models import LedgerCosignature
from idverify.ledger.witness_client import (
    FEED_ENTRIES_PATH,
    FEED_STATE_PATH,
    HubClient,
    HubProtocolError,
    HubUnavailable,
)
from idverify.store.base import utcnow

log = structlog.get_logger(__name__)

FEED_BATCH = 500
MAX_BACKOFF_S = 900.0
_MAX_RESUMES = 4


@dataclass(frozen=True)
class _Checkpoint:
    id: int
    tree_size: int
    note: str


@dataclass
class SyncStatus:
    checkpoint_size: int = 0  # the latest signed checkpoint
    cosigned_size: int = 0  # the largest checkpoint the witness cosigned (stored here)
    hub_size: int | None = None  # the witness's size as it last told us
    feed_size: int | None = None  # entries the hub holds, as it last told us
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    refused: str | None = None  # the hub refused our history: a person must look

    @property
    def witness_backlog(self) -> int:
        return max(self.checkpoint_size - self.cosigned_size, 0)

    @property
    def feed_backlog(self) -> int:
        return max(self.cosigned_size - (self.feed_size or 0), 0)


class HubSync:
    name = "hub"

    def __init__(self, factory: sessionmaker[Session], signer: CheckpointSigner, witness: WitnessKey,
                 client: HubClient, *, interval_s: float, registry: CollectorRegistry | None = None,
                 batch: int = FEED_BATCH) -> None:
        self._factory = factory
        self._signer = signer
        self.witness = witness
        self.client = client
        self.interval_s = interval_s
        self.batch = batch
        self.status = SyncStatus()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gauges = _Metrics(registry) if registry is not None else None

    @classmethod
    def from_context(cls, ctx: Any) -> HubSync:
        settings = ctx.settings
        if not settings.hub_witness_key:
            raise ConfigError("IDVERIFY_HUB_URL is set but IDVERIFY_HUB_WITNESS_KEY is not: the hub's cosignatures "
                              "could not be checked (`idverify hub witness-key` prints it)")
        try:
            witness = parse_witness_key(settings.hub_witness_key)
        except CosignatureError as exc:
            raise ConfigError(f"IDVERIFY_HUB_WITNESS_KEY: {exc}") from None
        scheduler = ctx.subsystem("ledger")
        sync = cls(ctx.session_factory, scheduler.signer, witness, HubClient(settings.hub_url),
                   interval_s=settings.hub_sync_interval_s, registry=ctx.registry)
        scheduler.listeners.append(lambda _size: sync.wake())
        return sync

    # ------------------------------------------------------------------------------------------ one round
    def sync_once(self) -> SyncStatus:
        """Cosign, then feed. Raises :class:`HubUnavailable` / :class:`HubProtocolError`; updates the status."""
        try:
            latest = self._latest()
            if latest is not None:
                self._cosign(latest)
            cosigned = self._cosigned()
            if cosigned is not None:
                self._feed(cosigned)
        except (HubUnavailable, HubProtocolError) as exc:
            self.status.last_error = exc.message
            self.status.failures += 1
            raise
        finally:
            self._refresh_backlog()
        self.status.last_success = utcnow()
        self.status.last_error = None
        self.status.failures = 0
        self.status.refused = None
        return self.status

    def _latest(self) -> _Checkpoint | None:
        with self._factory() as session:
            cp = ledger.latest_checkpoint(session)
            if cp is None or repository.has_cosignature(session, int(cp.id), self.witness.name, self._kid):
                return None
            return _Checkpoint(int(cp.id), int(cp.tree_size), cp.note)

    def _cosigned(self) -> _Checkpoint | None:
        with self._factory() as session:
            cp = repository.latest_cosigned(session, self.witness.name, self._kid)
            return None if cp is None else _Checkpoint(int(cp.id), int(cp.tree_size), cp.note)

    @property
    def _kid(self) -> str:
        return self.witness.key_id.hex()

    def _consistency(self, old: int, new: int) -> list[bytes]:
        if old in (0, new):
            return []
        with self._factory() as session:
            return ledger.consistency_proof(session, old, new).hashes

    def _cosign(self, cp: _Checkpoint) -> None:
        known = self._cosigned()
        old = self.status.hub_size if self.status.hub_size is not None else (known.tree_size if known else 0)
        for _ in range(_MAX_RESUMES):
            if old > cp.tree_size:
                # The witness holds more than our latest checkpoint: another workstation's checkpoint was cosigned
                # meanwhile (the next round signs a larger one), or this ledger lost entries (a restored backup).
                self.status.hub_size = old
                return
            answer = self.client.add_checkpoint(old, self._consistency(old, cp.tree_size), cp.note)
            if answer.status == 200 and answer.lines is not None:
                self._store(cp, answer.lines)
                self.status.hub_size = cp.tree_size
                return
            if answer.status == 409 and answer.size is not None:
                if answer.size == old:
                    self.status.refused = (f"the hub's witness cosigned a different tree at size {old}: this "
                                           "ledger's history differs from the one it witnessed")
                    raise HubProtocolError(self.status.refused)
                log.info("hub.witness_resume", old_size=old, hub_size=answer.size)
                old = answer.size
                continue
            self.status.refused = f"the hub's witness refused checkpoint {cp.tree_size}: {answer.error}"
            raise HubProtocolError(self.status.refused)
        raise HubProtocolError("the witness's size kept changing; retrying next round")

    def _store(self, cp: _Checkpoint, lines: str) -> None:
        try:
            found = verify_cosignatures(cp.note + lines, [self.witness])
        except CosignatureError as exc:
            raise HubProtocolError(f"the hub's cosignature is invalid: {exc}") from None
        if not found:
            raise HubProtocolError("the hub answered without a cosignature by IDVERIFY_HUB_WITNESS_KEY")
        cosig = found[0]
        with self._factory() as session:
            try:
                repository.add_cosignature(session, LedgerCosignature(
                    checkpoint_id=cp.id, witness=self.witness.name, key_id=self._kid, timestamp=cosig.timestamp,
                    line=cosig.line, received_at=utcnow()))
                session.commit()
            except IntegrityError:  # another workstation stored it first
                session.rollback()
        log.info("hub.cosigned", tree_size=cp.tree_size)

    def _feed(self, anchor: _Checkpoint) -> None:
        if self.status.feed_size is None:
            resp = self.client.signed(self._signer, "GET", FEED_STATE_PATH)
            if resp.status_code != 200:
                raise HubProtocolError(f"the hub refused the feed state request ({resp.status_code})")
            self.status.feed_size = int(resp.json()["feed_size"])
        pos = self.status.feed_size
        resumes = 0
        while pos < anchor.tree_size:
            end = min(pos + self.batch, anchor.tree_size)
            with self._factory() as session:
                entries = [row[2] for row in repository.iter_entry_rows(session, pos, end)]
            payload = {
                "start": pos,
                "checkpoint_size": anchor.tree_size,
                "entries": entries,
                "proof": [base64.b64encode(h).decode() for h in self._consistency(end, anchor.tree_size)],
            }
            resp = self.client.signed(self._signer, "POST", FEED_ENTRIES_PATH, payload)
            body = _json(resp)
            if resp.status_code == 200:
                pos = int(body["feed_size"])
            elif resp.status_code == 409 and body.get("error", {}).get("code") == ErrorCode.FEED_GAP and resumes < 3:
                resumes += 1
                pos = int(body["error"]["details"]["feed_size"])
            else:
                err = body.get("error", {})
                reason = err.get("message", resp.status_code)
                self.status.refused = f"the hub refused feed batch {pos}..{end - 1}: {reason}"
                raise HubProtocolError(self.status.refused)
            self.status.feed_size = pos

    def _refresh_backlog(self) -> None:
        try:
            with self._factory() as session:
                latest = ledger.latest_checkpoint(session)
                cosigned = repository.latest_cosigned(session, self.witness.name, self._kid)
                self.status.checkpoint_size = int(latest.tree_size) if latest else 0
                self.status.cosigned_size = int(cosigned.tree_size) if cosigned else 0
        except SQLAlchemyError:
            return
        if self._gauges is not None:
            self._gauges.update(self.status)

    # ------------------------------------------------------------------------------------------ lifecycle
    def wake(self) -> None:
        """Run a round soon (thread-safe; called after each new checkpoint)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def next_delay(self) -> float:
        if not self.status.failures:
            return self.interval_s
        backoff = min(self.interval_s * 2.0 ** min(self.status.failures, 16), MAX_BACKOFF_S)
        return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await asyncio.to_thread(self.sync_once)
            except (HubUnavailable, HubProtocolError, IdverifyError, SQLAlchemyError) as exc:
                if not isinstance(exc, HubUnavailable | HubProtocolError):
                    self.status.last_error = type(exc).__name__
                    self.status.failures += 1
                log.warning("hub.sync_failed", error=getattr(exc, "code", type(exc).__name__),
                            failures=self.status.failures)
                if self._gauges is not None:
                    self._gauges.failures_total.inc()
                    self._gauges.update(self.status)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.next_delay())

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.client.close()

    def health(self) -> list[dict[str, Any]]:
        s = self.status
        if s.refused:
            status, detail, code = "error", s.refused, "hub_refused"
        elif s.last_error:
            status, detail = "degraded", f"{s.last_error} ({s.failures} failed attempt(s); retrying with backoff)"
            code = "hub_retrying"
        else:
            status, detail = "ok", "cosigned and fed" if s.last_success else "first synchronisation pending"
            code = "hub_synced" if s.last_success else "hub_pending"
        return [{
            "kind": "hub", "name": "regional hub", "status": status, "detail": detail, "detail_code": code,
            "detail_args": {"failures": str(s.failures)},
            "witness": self.witness.name, "checkpoint_size": s.checkpoint_size, "cosigned_size": s.cosigned_size,
            "witness_backlog": s.witness_backlog, "feed_size": s.feed_size, "feed_backlog": s.feed_backlog,
            "last_success": format_time(s.last_success) if s.last_success else None,
        }]


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.witness_backlog = Gauge("idverify_hub_witness_backlog_entries",
                                     "Signed ledger entries the hub's witness has not cosigned yet", registry=registry)
        self.feed_backlog = Gauge("idverify_hub_feed_backlog_entries",
                                  "Cosigned ledger entries not yet pushed to the hub", registry=registry)
        self.last_success = Gauge("idverify_hub_last_success_timestamp_seconds",
                                  "When the last hub synchronisation succeeded", registry=registry)
        self.failures = Gauge("idverify_hub_consecutive_failures", "Hub synchronisations failed in a row",
                              registry=registry)
        self.failures_total = Counter("idverify_hub_sync_failures", "Failed hub synchronisations",
                                      registry=registry)

    def update(self, status: SyncStatus) -> None:
        self.witness_backlog.set(status.witness_backlog)
        self.feed_backlog.set(status.feed_backlog)
        self.failures.set(status.failures)
        if status.last_success is not None:
            self.last_success.set(status.last_success.timestamp())


def _json(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
