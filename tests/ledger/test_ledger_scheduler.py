"""The daemon's ledger subsystem: periodic checkpoints and integrity checks, reported as health."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from idverify.ledger.append import append, append_many
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.proofs import latest_checkpoint
from idverify.ledger.scheduler import LedgerScheduler

from .conftest import EventFactory


def test_scheduler_signs_checks_and_reports(
    session_factory: sessionmaker[Session], signer: CheckpointSigner, make_event: EventFactory, engine: Engine
) -> None:
    with session_factory() as session:
        append_many(session, [make_event(i) for i in range(5)])
        session.commit()
    scheduler = LedgerScheduler(session_factory, signer, checkpoint_interval_s=0.05, integrity_interval_s=0.05)
    assert scheduler.health()[0]["detail"] == "integrity check pending"

    async def run() -> None:
        await scheduler.start()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if scheduler.last_report is not None:
                break
        with session_factory() as session:
            append(session, make_event(5))
            session.commit()
        await scheduler.stop()

    asyncio.run(run())
    health = scheduler.health()[0]
    assert health["kind"] == "ledger" and health["status"] == "ok" and health["tree_size"] >= 5
    with session_factory() as session:
        latest = latest_checkpoint(session)
        assert latest is not None and latest.tree_size == 6  # the final checkpoint at stop covers the last event
    with engine.begin() as conn:  # an attacker rewrites a row behind the daemon's back
        conn.execute(text("DROP TRIGGER ledger_entries_no_update"))
        conn.execute(text("UPDATE ledger_entries SET leaf_hash = zeroblob(32) WHERE idx = 2"))
    report = scheduler.check_now()
    assert not report.ok and report.first_bad_index == 2
    assert scheduler.health()[0]["status"] == "error"
