"""Envelope encryption at rest: round trips, binding to the row, tamper and lost-key failures, rotation."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from idverify.config import load_settings
from idverify.errors import CryptoError
from idverify.store.crypto import KeyRing, generate_key, load_keyring
from idverify.store.db import make_engine, make_session_factory, upgrade_database
from idverify.store.keys import open_keys, rotate_master_key
from idverify.store.models import BiometricTemplate, Patient


def test_round_trip_and_binding() -> None:
    ring = KeyRing(active=generate_key())
    env = ring.encrypt(b"template bytes", "template:1")
    assert b"template bytes" not in env
    assert ring.decrypt(env, "template:1") == b"template bytes"
    with pytest.raises(CryptoError, match="moved from another row"):
        ring.decrypt(env, "template:2")


def test_tampering_and_truncation_fail_loudly() -> None:
    ring = KeyRing(active=generate_key())
    env = bytearray(ring.encrypt(b"x" * 100, "a"))
    env[-1] ^= 1
    with pytest.raises(CryptoError, match="failed authentication"):
        ring.decrypt(bytes(env), "a")
    with pytest.raises(CryptoError, match="truncated"):
        ring.decrypt(bytes(env[:30]), "a")


def test_wrong_or_lost_key_is_an_error_not_garbage() -> None:
    env = KeyRing(active=generate_key()).encrypt(b"secret", "a")
    with pytest.raises(CryptoError, match="not loaded"):
        KeyRing(active=generate_key()).decrypt(env, "a")


def test_key_file_created_private_and_never_silently_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.key"
    with pytest.raises(CryptoError, match="not found"):
        load_keyring(key_file, None, create=False)
    ring = load_keyring(key_file, None, create=True)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_keyring(key_file, None, create=False).active_id == ring.active_id
    with pytest.raises(CryptoError, match="32 bytes"):
        load_keyring(key_file, base64.b64encode(b"short").decode(), create=False)


def _db(tmp_path: Path, **overrides: Any) -> tuple[Any, Any]:
    settings = load_settings(data_dir=tmp_path, **overrides)
    upgrade_database(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    return settings, make_session_factory(engine)


def test_database_refuses_a_different_master_key(tmp_path: Path) -> None:
    settings, factory = _db(tmp_path)
    with factory() as db:
        open_keys(settings, db)
    # The key file is lost and replaced by a new key: start-up must stop, not write under a new key.
    settings.resolved_key_file.unlink()
    with factory() as db, pytest.raises(CryptoError, match="not found"):
        open_keys(settings, db)
    other = load_settings(data_dir=tmp_path, master_key=base64.b64encode(generate_key()).decode())
    with factory() as db, pytest.raises(CryptoError, match="not loaded"):
        open_keys(other, db)


def test_rotation_rewraps_without_reencrypting(tmp_path: Path) -> None:
    settings, factory = _db(tmp_path)
    with factory() as db:
        keys = open_keys(settings, db)
        patient = Patient(id="p1", sex="F", document_type="passport", document_lookup=keys.lookup.digest("E1"),
                          identity=keys.ring.encrypt(b'{"name": "x"}', "patient:p1"), kek_id=keys.ring.active_id)
        db.add(patient)
        db.flush()
        env = keys.ring.encrypt(b"minutiae", "template:t1")
        db.add(BiometricTemplate(id="t1", patient_id="p1", modality="fingerprint", algorithm_version="v",
                                 envelope=env, kek_id=keys.ring.active_id))
        db.commit()
        old_kid = keys.ring.active_id
        lookup_before = keys.lookup.digest("E1")
    with factory() as db:
        report = rotate_master_key(settings, db)
    assert report.old_key_id == old_kid and report.rewrapped >= 3
    with factory() as db:
        keys2 = open_keys(settings, db)
        assert keys2.ring.active_id == report.new_key_id != old_kid
        tpl = db.scalars(select(BiometricTemplate)).one()
        assert tpl.kek_id == report.new_key_id
        assert tpl.envelope[-30:] == env[-30:]  # sealed data untouched, only the wrapped key changed
        assert keys2.ring.decrypt(tpl.envelope, "template:t1") == b"minutiae"
        assert keys2.lookup.digest("E1") == lookup_before  # lookups survive rotation
    # With the retired key removed, everything still opens: nothing depends on the old key any more.
    for retired in (settings.resolved_key_file.parent / "retired").glob("*.key"):
        retired.unlink()
    with factory() as db:
        keys3 = open_keys(settings, db)
        tpl = db.scalars(select(BiometricTemplate)).one()
        assert keys3.ring.decrypt(tpl.envelope, "template:t1") == b"minutiae"
