"""Several workstations on one database are one log: one signing key, one origin, no mutual integrity alarms."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from idverify.errors import ConfigError
from idverify.ledger import append, proofs
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.store.db import make_engine, make_session_factory, upgrade_database


def _daemon(tmp_path: Path, url: str, name: str, master: str, **overrides: Any) -> Any:
    from idverify.app import create_app
    from idverify.config import load_settings

    settings = load_settings(data_dir=tmp_path / name, database_url=url, workstation_id=name, master_key=master,
                             **overrides)
    return create_app(settings)


def _event(i: int, ws: str) -> dict[str, Any]:
    return {"type": "test.event", "occurred_at": "2026-12-01T10:00:00+00:00",
            "actor": {"staff_id": None, "role": "system", "workstation": ws}, "subject": {}, "data": {"n": i}}


def test_two_daemons_share_one_key_and_verify_each_others_checkpoints(db_url: str, tmp_path: Path) -> None:
    upgrade_database(db_url)
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    a = _daemon(tmp_path, db_url, "ws-a", master)
    b = _daemon(tmp_path, db_url, "ws-b", master)
    try:
        sched_a, sched_b = a.state.ctx.subsystem("ledger"), b.state.ctx.subsystem("ledger")
        assert sched_a.signer.public_key == sched_b.signer.public_key
        assert sched_a.signer.origin == sched_b.signer.origin
        assert (tmp_path / "ws-a" / "keys" / "ledger.key").read_bytes() == \
            (tmp_path / "ws-b" / "keys" / "ledger.key").read_bytes()
        for i, (app, sched) in enumerate([(a, sched_a), (b, sched_b), (a, sched_a)]):
            with app.state.ctx.session_factory() as s:
                append.append(s, _event(i, app.state.ctx.settings.workstation_id))
                s.commit()
            sched.checkpoint_now()
        for sched in (sched_a, sched_b):
            report = sched.check_now()
            assert report.ok, report.problems
            assert report.checkpoints_checked == 3
    finally:
        a.state.ctx.engine.dispose()
        b.state.ctx.engine.dispose()


def test_a_workstation_that_signed_alone_before_keeps_its_checkpoints_verifiable(db_url: str, tmp_path: Path) -> None:
    upgrade_database(db_url)
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    # before this version, ws-b signed with its own key file
    own = CheckpointSigner.from_file(tmp_path / "ws-b" / "keys" / "ledger.key")
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        append.append(s, _event(0, "ws-b"))
        proofs.create_checkpoint(s, own)
        s.commit()
    engine.dispose()
    a = _daemon(tmp_path, db_url, "ws-a", master)  # the first to start stores its key for the clinic
    b = _daemon(tmp_path, db_url, "ws-b", master)
    try:
        sched_a, sched_b = a.state.ctx.subsystem("ledger"), b.state.ctx.subsystem("ledger")
        assert sched_b.signer.public_key == sched_a.signer.public_key != own.public_key
        assert list((tmp_path / "ws-b" / "keys" / "retired").glob("ledger-*.key"))
        with a.state.ctx.session_factory() as s:
            append.append(s, _event(1, "ws-a"))
            s.commit()
        sched_a.checkpoint_now()
        assert sched_a.check_now().ok and sched_b.check_now().ok
    finally:
        a.state.ctx.engine.dispose()
        b.state.ctx.engine.dispose()


def test_a_stranger_key_is_flagged_and_an_explicit_mismatching_key_file_stops_start_up(
    tmp_path: Path, db_url: str
) -> None:
    upgrade_database(db_url)
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    a = _daemon(tmp_path, db_url, "ws-a", master)
    try:
        stranger = CheckpointSigner.from_file(tmp_path / "stranger.key")
        factory = a.state.ctx.session_factory
        with factory() as s:
            append.append(s, _event(0, "x"))
            proofs.create_checkpoint(s, stranger)
            s.commit()
        report = a.state.ctx.subsystem("ledger").check_now()
        assert not report.ok and "not this clinic's" in report.problems[-1]
        with pytest.raises(ConfigError, match="different ledger key"):
            _daemon(tmp_path, db_url, "ws-c", master, signing_key_file=tmp_path / "stranger.key")
    finally:
        a.state.ctx.engine.dispose()


def test_master_key_rotation_rewraps_the_shared_signing_key(tmp_path: Path) -> None:
    from idverify.config import load_settings
    from idverify.ledger.signing_key import sync_signing_key
    from idverify.store.keys import open_keys, rotate_master_key

    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade_database(url)
    settings = load_settings(data_dir=tmp_path / "d", database_url=url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as s:
        first = sync_signing_key(settings, s, open_keys(settings, s).ring)
    with factory() as s:
        rotate_master_key(settings, s)
    (tmp_path / "d" / "keys" / "ledger.key").unlink()  # a new workstation: only the database holds the key
    with factory() as s:
        assert isinstance(s, Session)
        again = sync_signing_key(settings, s, open_keys(settings, s).ring)
    assert again.public_key == first.public_key
    engine.dispose()
