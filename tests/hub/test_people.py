"""``hub_people``: which regional pseudonyms more than one clinic registered (the pseudonym sweep's matches),
kept by the feed's patient inserts — also when two clinics register one person in concurrent transactions — and
filled from ``hub_patients`` by the migration that introduced it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import text

from idverify.hub import bulk
from idverify.hub.db import upgrade_hub_database
from idverify.hub.projection import PATIENT_COLUMNS
from idverify.store.db import make_engine, make_session_factory

AT = datetime(2026, 11, 1, tzinfo=UTC)
KEY = "0123456789abcdef"


def _ps(n: int) -> str:
    return f"{n:064x}"


def _row(clinic: str, patient: str, pseudonym: str, index: int = 0) -> tuple[object, ...]:
    return (clinic, patient, KEY, pseudonym, AT, index)


def _people(session: object) -> dict[str, tuple[str, bool]]:
    rows = session.execute(text("SELECT pseudonym, clinic_id, shared FROM hub_people")).all()  # type: ignore[attr-defined]
    return {str(p): (str(c), bool(s)) for p, c, s in rows}


def test_a_pseudonym_is_shared_once_another_clinic_registers_it(hub_db_url: str) -> None:
    upgrade_hub_database(hub_db_url)
    engine = make_engine(hub_db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as s:
            bulk.insert_patients(s, PATIENT_COLUMNS, [_row("A", "a1", _ps(1)), _row("A", "a2", _ps(2)),
                                                      _row("A", "a3", _ps(2))])  # one person twice at one clinic
            s.commit()
            assert _people(s) == {_ps(1): ("A", False), _ps(2): ("A", False)}
            bulk.insert_patients(s, PATIENT_COLUMNS, [_row("B", "b1", _ps(2)), _row("B", "b2", _ps(3)),
                                                      _row("A", "a1", _ps(4))])  # a1 is known: ignored
            s.commit()
            assert _people(s) == {_ps(1): ("A", False), _ps(2): ("A", True), _ps(3): ("B", False)}
            bulk.insert_patients(s, PATIENT_COLUMNS, [_row("C", "c1", _ps(2)), _row("B", "b3", _ps(3))])
            s.commit()
            assert _people(s) == {_ps(1): ("A", False), _ps(2): ("A", True), _ps(3): ("B", False)}
    finally:
        engine.dispose()


def test_two_clinics_registering_one_person_at_once_mark_it_shared(pg_schema_url: str) -> None:
    upgrade_hub_database(pg_schema_url)
    engine = make_engine(pg_schema_url)
    factory = make_session_factory(engine)
    try:
        first, second = factory(), factory()
        bulk.insert_patients(first, PATIENT_COLUMNS, [_row("A", "a1", _ps(7))])  # not committed yet
        done = threading.Event()

        def other_clinic() -> None:
            bulk.insert_patients(second, PATIENT_COLUMNS, [_row("B", "b1", _ps(7))])  # waits for the first
            second.commit()
            done.set()

        thread = threading.Thread(target=other_clinic)
        thread.start()
        assert not done.wait(0.5), "the second insert must wait for the first transaction"
        first.commit()
        thread.join(timeout=30)
        assert done.is_set()
        with factory() as s:
            assert _people(s) == {_ps(7): ("A", True)}
        first.close()
        second.close()
    finally:
        engine.dispose()


def test_the_migration_fills_hub_people_from_the_patients(hub_db_url: str) -> None:
    upgrade_hub_database(hub_db_url, "hub_0006")
    engine = make_engine(hub_db_url)
    try:
        with engine.begin() as conn:
            for clinic, patient, n in (("A", "a1", 1), ("B", "b1", 1), ("A", "a2", 2), ("A", "a3", 2)):
                conn.execute(text("INSERT INTO hub_patients (clinic_id, patient_id, key_id, pseudonym, recorded_at, "
                                  "entry_index) VALUES (:c, :p, :k, :ps, :at, 0)"),
                             {"c": clinic, "p": patient, "k": KEY, "ps": _ps(n), "at": AT})
        upgrade_hub_database(hub_db_url)
        with make_session_factory(engine)() as s:
            assert _people(s) == {_ps(1): ("A", True), _ps(2): ("A", False)}
    finally:
        engine.dispose()
