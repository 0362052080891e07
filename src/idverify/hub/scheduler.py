"""The hub's background jobs: pending hub actions into the hub ledger (every ``ledger_interval_s``), a signed
checkpoint of that ledger (every ``checkpoint_interval_s``), and the region-wide alert sweep.

Each job is a :class:`~idverify.periodic.PeriodicJob` (a worker thread per round, failures shown in
``/healthz`` without stopping the loop) with its own short session.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idverify.hub import audit
from idverify.hub.request_auth import purge_nonces
from idverify.ledger import proofs as ledger
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.periodic import PeriodicJob


def drain_and_checkpoint(factory: sessionmaker[Session], signer: CheckpointSigner, *, checkpoint: bool,
                         skew_s: int = 300) -> int:
    """Move every pending action into the hub ledger; optionally sign a checkpoint. Returns actions moved.
    Also forgets request nonces that fell out of the replay window."""
    moved = 0
    with factory() as session:
        purge_nonces(session, skew_s=skew_s)
        session.commit()
        while True:
            n = audit.drain(session)
            session.commit()
            moved += n
            if n == 0:
                break
        if checkpoint:
            ledger.create_checkpoint(session, signer)
            session.commit()
    return moved


class HubLedgerJob(PeriodicJob):
    name = "hub_ledger"

    def __init__(self, factory: sessionmaker[Session], signer: CheckpointSigner, *, interval_s: float,
                 checkpoint_interval_s: float, skew_s: int = 300) -> None:
        super().__init__(interval_s)
        self._skew = skew_s
        self._factory = factory
        self._signer = signer
        self._checkpoint_interval = checkpoint_interval_s
        self._last_checkpoint = 0.0

    def run_once(self) -> int:
        due = time.monotonic() - self._last_checkpoint >= self._checkpoint_interval
        moved = drain_and_checkpoint(self._factory, self._signer, checkpoint=due, skew_s=self._skew)
        if due:
            self._last_checkpoint = time.monotonic()
        return moved

    async def stop(self) -> None:
        await super().stop()
        try:  # a last drain and checkpoint so the actions of this run are signed
            drain_and_checkpoint(self._factory, self._signer, checkpoint=True)
        except Exception as exc:  # shutting down: report, never raise
            self.last_error = type(exc).__name__

    def health(self) -> list[dict[str, Any]]:
        return [{"kind": "hub_ledger", "status": "error" if self.last_error else "ok", "detail": self.last_error}]


def latest_anchor(session: Session) -> dict[str, Any] | None:
    """The hub ledger's latest signed checkpoint, as printed on PDFs."""
    import base64

    from idverify.ledger.canonical import format_time

    cp = ledger.latest_checkpoint(session)
    if cp is None:
        return None
    return {"tree_size": int(cp.tree_size), "root_hash": base64.b64encode(bytes(cp.root_hash)).decode(),
            "signed_at": format_time(cp.signed_at), "origin": cp.origin}
