"""The ledger on a migrated SQLite database: appends, proofs, checkpoints, listing, immutability, integrity."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from idverify.errors import NotFoundError, ValidationFailed
from idverify.ledger.append import append, append_many
from idverify.ledger.canonical import canonical_bytes, leaf_document
from idverify.ledger.checkpoint import CheckpointSigner, open_checkpoint
from idverify.ledger.entries import entry_event, list_entries
from idverify.ledger.integrity import verify_stored_tree
from idverify.ledger.merkle import leaf_hash, tree_root, verify_consistency, verify_inclusion
from idverify.ledger.models import LedgerEntry, LedgerImmutable
from idverify.ledger.proofs import (
    consistency_proof,
    create_checkpoint,
    inclusion_proof,
    latest_checkpoint,
    root_at,
    tree_size,
)
from idverify.ledger.repository import EntryFilter

from .conftest import EventFactory


def _fill(session: Session, make_event: EventFactory, n: int, start: int = 0) -> list[LedgerEntry]:
    entries = append_many(session, [make_event(start + i) for i in range(n)])
    session.commit()
    return entries


def test_append_assigns_index_time_and_canonical_leaf(session: Session, make_event: EventFactory) -> None:
    first = append(session, make_event(0))
    second = append(session, make_event(1))
    session.commit()
    assert (first.index, second.index) == (0, 1)
    doc = json.loads(second.canonical)
    assert doc["index"] == 1 and doc["event"]["subject"]["patient_id"] == "patient-1"
    assert second.canonical.encode() == canonical_bytes(leaf_document(1, doc["recorded_at"], doc["event"]))
    assert second.leaf_hash == leaf_hash(second.canonical.encode())
    assert second.recorded_at >= first.recorded_at
    assert second.occurred_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # +08:00 stored as UTC
    assert entry_event(second)["data"]["n"] == 1


def test_append_is_part_of_the_callers_transaction(session: Session, make_event: EventFactory) -> None:
    append(session, make_event(0))
    session.rollback()
    assert tree_size(session) == 0
    again = append(session, make_event(1))
    session.commit()
    assert again.index == 0  # the rolled-back event left no gap and no orphan node


def test_stored_root_and_proofs_match_a_recomputed_tree(session: Session, make_event: EventFactory) -> None:
    entries = _fill(session, make_event, 45)
    leaves = [e.leaf_hash for e in entries]
    for size in (1, 2, 7, 8, 31, 45):
        assert root_at(session, size) == tree_root(leaves[:size])
    for index in (0, 13, 31, 44):
        proof = inclusion_proof(session, index, 45)
        assert proof.leaf_hash == leaves[index]
        verify_inclusion(index, 45, proof.leaf_hash, proof.hashes, tree_root(leaves))
    for old in (0, 1, 16, 17, 44, 45):
        cons = consistency_proof(session, old, 45)
        assert cons.old_root == tree_root(leaves[:old])
        verify_consistency(old, 45, cons.old_root, cons.new_root, cons.hashes)
    assert inclusion_proof(session, 3).tree_size == 45
    with pytest.raises(NotFoundError):
        inclusion_proof(session, 45, 45)
    with pytest.raises(NotFoundError):
        consistency_proof(session, 3, 46)


def test_envelope_is_validated_without_echoing_values(session: Session, make_event: EventFactory) -> None:
    bad = make_event(0)
    bad["subject"] = {"patient_name": "张三"}
    with pytest.raises(ValidationFailed) as err:
        append(session, bad)
    assert "张三" not in err.value.message and "patient_name" in err.value.message
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda e: e.pop("type"),
        lambda e: e.update(occurred_at="2026-11-23 10:00"),
        lambda e: e.update(data={"x": float("nan")}),
        lambda e: e.update(data={"x": 2**60}),
        lambda e: e.update(extra=1),
    ]
    for mutate in mutations:
        event = make_event(0)
        mutate(event)
        with pytest.raises(ValidationFailed):
            append(session, event)
    assert tree_size(session) == 0


def test_ledger_time_never_goes_backwards(session: Session, make_event: EventFactory) -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    a = append(session, make_event(0), now=later)
    b = append(session, make_event(1), now=later - timedelta(hours=1))
    assert b.recorded_at == a.recorded_at == later


def test_checkpoint_signs_current_tree(session: Session, make_event: EventFactory, signer: CheckpointSigner) -> None:
    assert latest_checkpoint(session) is None
    _fill(session, make_event, 10)
    cp = create_checkpoint(session, signer)
    session.commit()
    opened = open_checkpoint(cp.note, signer.public_key)
    assert opened.tree_size == 10 and opened.root_hash == root_at(session, 10)
    assert create_checkpoint(session, signer).id == cp.id  # unchanged tree: no new checkpoint
    assert create_checkpoint(session, signer, force=True).id != cp.id
    _fill(session, make_event, 1, start=10)
    newer = create_checkpoint(session, signer)
    session.commit()
    latest = latest_checkpoint(session)
    assert latest is not None and latest.id == newer.id and latest.tree_size == 11


def test_list_entries_filters_and_pages(session: Session, make_event: EventFactory) -> None:
    events = [make_event(i, patient="p-a" if i % 2 else "p-b") for i in range(9)]
    events.append(make_event(9, etype="override.recorded", patient="p-a"))
    append_many(session, events)
    session.commit()
    page = list_entries(session, EntryFilter(patient_id="p-a"), limit=3)
    assert [e.index for e in page.items] == [9, 7, 5] and page.next_after == 5
    page2 = list_entries(session, EntryFilter(patient_id="p-a"), limit=3, after=page.next_after)
    assert [e.index for e in page2.items] == [3, 1] and page2.next_after is None
    overrides = list_entries(session, EntryFilter(event_type="override.recorded"))
    assert [e.index for e in overrides.items] == [9]
    oldest = list_entries(session, descending=False, limit=2)
    assert [e.index for e in oldest.items] == [0, 1]


def test_orm_refuses_to_change_or_delete_entries(session: Session, make_event: EventFactory) -> None:
    entry = _fill(session, make_event, 1)[0]
    entry.event_type = "something.else"
    with pytest.raises(LedgerImmutable):
        session.flush()
    session.rollback()
    session.delete(session.get(LedgerEntry, 0))
    with pytest.raises(LedgerImmutable):
        session.flush()


def test_database_triggers_refuse_update_and_delete(
    engine: Engine, session: Session, make_event: EventFactory, signer: CheckpointSigner
) -> None:
    _fill(session, make_event, 3)
    create_checkpoint(session, signer)
    session.commit()
    statements = [
        "UPDATE ledger_entries SET event_type = 'x' WHERE idx = 1",
        "DELETE FROM ledger_entries WHERE idx = 2",
        "UPDATE ledger_nodes SET hash = hash",
        "DELETE FROM ledger_checkpoints",
    ]
    session.commit()
    for sql in statements:
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert verify_stored_tree(session).ok


def _tamper(engine: Engine, sql: str) -> None:
    """What an attacker with file access does: drop the triggers, rewrite a row."""
    with engine.begin() as conn:
        for table in ("ledger_entries", "ledger_nodes", "ledger_checkpoints"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        conn.exec_driver_sql(sql)


@pytest.mark.parametrize(
    ("sql", "first_bad"),
    [
        ("UPDATE ledger_entries SET canonical = replace(canonical, '\"n\":5', '\"n\":50') WHERE idx = 5", 5),
        ("DELETE FROM ledger_entries WHERE idx = 7", 7),
        ("UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1", 4),
        ("UPDATE ledger_checkpoints SET root_hash = zeroblob(32)", 11),
    ],
    ids=["changed-entry", "deleted-entry", "changed-node", "changed-checkpoint"],
)
def test_verify_stored_tree_finds_tampering(
    engine: Engine, session: Session, make_event: EventFactory, signer: CheckpointSigner, sql: str, first_bad: int
) -> None:
    _fill(session, make_event, 12)
    create_checkpoint(session, signer)
    session.commit()
    before = verify_stored_tree(session)
    assert before.ok and before.tree_size == 12 and before.checkpoints_checked == 1 and before.nodes_checked == 10
    session.commit()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
    _tamper(engine, sql)
    session.expire_all()
    report = verify_stored_tree(session)
    assert not report.ok
    assert report.first_bad_index == first_bad
    assert report.as_health()["status"] == "error"
