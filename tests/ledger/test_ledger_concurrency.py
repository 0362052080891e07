"""Several writers, each with its own engine (as several daemons would have), build one consistent tree."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from idverify.ledger.append import append, append_many
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.entries import list_entries
from idverify.ledger.export import export_jsonl
from idverify.ledger.integrity import verify_stored_tree
from idverify.ledger.merkle import tree_root
from idverify.ledger.proofs import create_checkpoint, root_at, tree_size
from idverify.ledger.verify import verify_export
from idverify.store.db import make_engine, make_session_factory

from .conftest import EventFactory

WRITERS = 4
PER_WRITER = 15


def _hammer(url: str, make_event: EventFactory, signer: CheckpointSigner) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            barrier.wait()
            for i in range(PER_WRITER):
                with factory() as session:
                    if i % 5 == 4:
                        append_many(session, [make_event(w * 100 + i, batch=k) for k in range(3)])
                    else:
                        append(session, make_event(w * 100 + i))
                    if i == 7:
                        create_checkpoint(session, signer)
                    session.commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def _check_single_tree(url: str, signer: CheckpointSigner, tmp_path: Path) -> None:
    expected = WRITERS * (PER_WRITER + 2 * (PER_WRITER // 5))
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            assert tree_size(session) == expected
            entries = list_entries(session, descending=False, limit=1000).items
            assert [e.index for e in entries] == list(range(expected))
            assert root_at(session, expected) == tree_root(e.leaf_hash for e in entries)
            report = verify_stored_tree(session)
            assert report.ok, report.problems
            assert report.checkpoints_checked >= WRITERS  # each writer's checkpoint matched the tree at its size
            create_checkpoint(session, signer)
            session.commit()
            with (tmp_path / "export.jsonl").open("w") as fh:
                export_jsonl(session, fh)
        assert verify_export(tmp_path / "export.jsonl", signer.public_key).entries == expected
    finally:
        engine.dispose()


def test_concurrent_sqlite_writers_form_one_tree(
    sqlite_url: str, make_event: EventFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    assert _hammer(sqlite_url, make_event, signer) == []
    _check_single_tree(sqlite_url, signer, tmp_path)


@pytest.mark.postgres
def test_concurrent_postgres_writers_form_one_tree(
    postgres_url: str, make_event: EventFactory, signer: CheckpointSigner, tmp_path: Path
) -> None:
    assert _hammer(postgres_url, make_event, signer) == []
    _check_single_tree(postgres_url, signer, tmp_path)


@pytest.mark.postgres
def test_postgres_triggers_refuse_update_delete_truncate(postgres_url: str, make_event: EventFactory) -> None:
    engine = make_engine(postgres_url)
    try:
        with make_session_factory(engine)() as session:
            append_many(session, [make_event(i) for i in range(3)])
            session.commit()
        for sql in (
            "UPDATE ledger_entries SET event_type = 'x'",
            "DELETE FROM ledger_entries WHERE idx = 0",
            "DELETE FROM ledger_nodes",
            "TRUNCATE ledger_entries",
        ):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))
        with make_session_factory(engine)() as session:
            assert verify_stored_tree(session).ok
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_grant_model_from_the_readme(postgres_url: str, make_event: EventFactory) -> None:
    """The application role of README.md can append and read, but not rewrite or disarm the ledger."""
    import uuid

    from sqlalchemy.orm import Session

    role = f"ledger_app_{uuid.uuid4().hex[:8]}"
    engine = make_engine(postgres_url)
    tables = "ledger_entries, ledger_nodes, ledger_checkpoints"
    try:
        with engine.begin() as conn:
            schema: str = conn.execute(text("SELECT current_schema()")).scalar_one()
            conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
            conn.execute(text(f"GRANT SELECT, INSERT ON {tables} TO {role}"))
            conn.execute(text(f"GRANT USAGE ON SEQUENCE ledger_checkpoints_id_seq TO {role}"))
        with engine.connect() as conn:
            conn.execute(text(f"SET ROLE {role}"))
            with Session(bind=conn) as session:
                entry = append(session, make_event(0))
                session.commit()
                assert entry.index == 0
            for sql in (
                "UPDATE ledger_entries SET event_type = 'x'",
                "DELETE FROM ledger_checkpoints",
                "ALTER TABLE ledger_entries DISABLE TRIGGER ALL",
                "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
            ):
                with pytest.raises(DatabaseError, match=r"permission denied|must be owner"):
                    conn.execute(text(sql))
                conn.rollback()
                conn.execute(text(f"SET ROLE {role}"))
            conn.execute(text("RESET ROLE"))
            conn.commit()
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()
