"""Regional pseudonyms: computed at registration under the commission's key, the same across clinics, carried in
the ledger event; patients registered before the key (or under an old key) get one from the backfill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from idverify.errors import ConfigError
from idverify.ledger.models import LedgerEntry
from idverify.store.region import create_region_key, load_region_key, normalise_document_number

ZHANG = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "张三丽",
         "sex": "F", "birth_date": "1990-03-07"}


def test_normalisation_and_keys(tmp_path: Path) -> None:
    assert normalise_document_number(" １１０１０１-19900307457x ") == "11010119900307457X"
    key = create_region_key(tmp_path / "region.key")
    assert (tmp_path / "region.key").stat().st_mode & 0o777 == 0o600
    again = load_region_key(tmp_path / "region.key")
    assert again.key_id == key.key_id and len(key.key_id) == 16
    a = key.pseudonym("cn_resident_id", "11010119900307457X")
    assert a == again.pseudonym("cn_resident_id", "１１０１０１１９９００３０７４５７ｘ")
    assert a != key.pseudonym("passport", "11010119900307457X")
    other = create_region_key(tmp_path / "other.key")
    assert other.pseudonym("cn_resident_id", "11010119900307457X") != a and other.key_id != key.key_id
    with pytest.raises(FileExistsError):
        create_region_key(tmp_path / "region.key")
    (tmp_path / "short.key").write_text("c2hvcnQ=\n")
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_region_key(tmp_path / "short.key")


def _registered(daemon: Any) -> list[dict[str, Any]]:
    with daemon.app.state.ctx.session_factory() as db:
        return [json.loads(e.canonical)["event"]["data"] for e in db.scalars(
            select(LedgerEntry).where(LedgerEntry.event_type.in_(["patient.registered", "patient.pseudonym_assigned"]))
            .order_by(LedgerEntry.index))]


def test_two_clinics_with_one_key_compute_the_same_pseudonym(make_app: Any, tmp_path: Path) -> None:
    key = create_region_key(tmp_path / "region.key")
    clinics = [make_app(region_key_file=tmp_path / "region.key") for _ in range(2)]
    for daemon in clinics:
        nurse, csrf = daemon.login("nurse1")
        assert nurse.post("/api/v1/patients", json=ZHANG, headers={"X-CSRF-Token": csrf}).status_code == 201
    datas = [_registered(d)[0] for d in clinics]
    assert datas[0]["region_pseudonym"] == datas[1]["region_pseudonym"] == \
        key.pseudonym("cn_resident_id", ZHANG["document_number"])
    assert datas[0]["region_key_id"] == key.key_id
    # the event carries a keyed hash, never the number
    assert ZHANG["document_number"] not in json.dumps(datas)


def test_backfill_assigns_pseudonyms_after_the_key_arrives_and_after_rotation(make_app: Any, tmp_path: Path) -> None:
    from idverify.workflow.pseudonyms import assign_pseudonyms

    daemon = make_app()
    nurse, csrf = daemon.login("nurse1")
    assert nurse.post("/api/v1/patients", json=ZHANG, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert "region_pseudonym" not in _registered(daemon)[0]
    ctx = daemon.app.state.ctx
    first = create_region_key(tmp_path / "k1")
    second = create_region_key(tmp_path / "k2")
    for key in (first, second):
        keys = type(ctx.keys)(ring=ctx.keys.ring, lookup=ctx.keys.lookup, region=key)
        with ctx.session_factory() as db:
            assert assign_pseudonyms(db, keys, "ws-a") == 1
        with ctx.session_factory() as db:
            assert assign_pseudonyms(db, keys, "ws-a") == 0  # done once per key
    assigned = _registered(daemon)[1:]
    assert [a["region_key_id"] for a in assigned] == [first.key_id, second.key_id]
    assert assigned[1]["region_pseudonym"] == second.pseudonym("cn_resident_id", ZHANG["document_number"])
