"""The whole read sequence against the virtual chip object (no pcscd): BAC, SM, files, passive auth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from hardware_fixtures.emrtd import EmrtdChip, Faults, TestIdentity, build_files

from idverify.documents.emrtd.bac import BacFailed
from idverify.documents.emrtd.passive_auth import load_trust_store
from idverify.documents.emrtd.reader import read_document
from idverify.documents.emrtd.sm import SecureMessagingError
from idverify.documents.mrz import BacKeys
from idverify.errors import DeviceError

from .conftest import DirectChannel, keys_of


def test_read_passport_passive_auth_passed(identity: TestIdentity, make_channel: Callable[..., DirectChannel],
                                            csca_dir: Path) -> None:
    channel = make_channel(identity)
    result = read_document(channel, keys_of(identity), load_trust_store(csca_dir), source="test")
    doc = result.document
    assert doc.document_type == "passport"
    assert (doc.document_number, doc.name, doc.sex, doc.nationality) == ("E01234567", "TEST PATIENT ONE", "F", "UTO")
    assert doc.birth_date == date(1990, 1, 15)
    assert doc.photo == identity.photo_bytes()[0]
    assert doc.photo_format == "jpeg"
    assert (doc.checks.checksum, doc.checks.expired, doc.checks.passive_auth) == (True, False, "passed")
    assert doc.to_summary()["photo"] == "available"
    assert set(result.files) == {"COM", "DG1", "DG2", "SOD"}
    assert result.access_control == "BAC"
    # Everything after EXTERNAL AUTHENTICATE travelled under secure messaging.
    after_bac = next(i for i, apdu in enumerate(channel.log) if apdu[:2] == b"\x00\x82") + 1
    assert all(apdu[0] & 0x0C == 0x0C for apdu in channel.log[after_bac:])


def test_jpeg2000_face(make_channel: Callable[..., DirectChannel]) -> None:
    identity = TestIdentity(photo_format="jp2")
    doc = read_document(make_channel(identity), keys_of(identity), []).document
    assert doc.photo_format == "jp2"
    assert doc.checks.passive_auth == "not_verified"


def test_wrong_keys_are_bac_failed(identity: TestIdentity, make_channel: Callable[..., DirectChannel]) -> None:
    wrong = BacKeys(identity.document_number, "900116", identity.expiry_date)
    with pytest.raises(BacFailed) as info:
        read_document(make_channel(identity), wrong, [])
    assert info.value.code == "bac_failed"


def test_tampered_dg_fails_passive_auth(identity: TestIdentity, make_channel: Callable[..., DirectChannel],
                                        csca_dir: Path) -> None:
    doc = read_document(make_channel(identity, tamper_dg=1), keys_of(identity), load_trust_store(csca_dir)).document
    assert doc.checks.passive_auth == "failed"
    assert doc.checks.checksum  # the forged name is not covered by check digits: only the SOD catches it
    assert doc.name == "XEST PATIENT ONE"


def test_missing_sod_fails_passive_auth(identity: TestIdentity, make_channel: Callable[..., DirectChannel]) -> None:
    doc = read_document(make_channel(identity, with_sod=False), keys_of(identity), []).document
    assert doc.checks.passive_auth == "failed"


def test_expired_document_is_flagged(make_channel: Callable[..., DirectChannel]) -> None:
    identity = TestIdentity(expiry_date=(date.today() - timedelta(days=1)).strftime("%y%m%d"))
    assert read_document(make_channel(identity), keys_of(identity), []).document.checks.expired


def test_bad_response_mac_aborts(identity: TestIdentity, make_channel: Callable[..., DirectChannel]) -> None:
    with pytest.raises(SecureMessagingError):
        read_document(make_channel(identity, faults=Faults(bad_response_mac=True)), keys_of(identity), [])


def test_card_pulled_propagates_channel_error(identity: TestIdentity,
                                              make_channel: Callable[..., DirectChannel]) -> None:
    with pytest.raises(DeviceError) as info:
        read_document(make_channel(identity, faults=Faults(pull_after_reads=2)), keys_of(identity), [])
    assert info.value.code == "card_removed"


def test_timeout_is_enforced(identity: TestIdentity, make_channel: Callable[..., DirectChannel]) -> None:
    with pytest.raises(DeviceError) as info:
        read_document(make_channel(identity), keys_of(identity), [], timeout=-1.0)
    assert info.value.code == "capture_timeout"


def test_chip_refuses_plain_file_access(identity: TestIdentity, pki: object) -> None:
    chip = EmrtdChip(build_files(identity, None), keys_of(identity))
    assert chip.process(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
    assert chip.process(bytes.fromhex("00A4020C02011E")) == b"\x69\x82"
    assert chip.process(bytes.fromhex("00B0000004")) == b"\x69\x82"
    assert chip.process(bytes.fromhex("0CB000000D9701048E08ED6705417E96BA5500")) == b"\x69\x88"


def test_td1_travel_permit_with_long_document_number(make_channel: Callable[..., DirectChannel],
                                                     csca_dir: Path) -> None:
    identity = TestIdentity(mrz_format="TD1", document_code="CS", document_number="C12345678901",
                            nationality="CHN", issuer="CHN")
    result = read_document(make_channel(identity), keys_of(identity), load_trust_store(csca_dir))
    assert result.mrz.format == "TD1"
    doc = result.document
    assert (doc.document_type, doc.document_number, doc.nationality) == ("travel_permit", "C12345678901", "CHN")
    assert (doc.checks.checksum, doc.checks.passive_auth) == (True, "passed")


def test_tampered_td1_name_fails(make_channel: Callable[..., DirectChannel], csca_dir: Path) -> None:
    identity = TestIdentity(mrz_format="TD1", document_code="CS")
    doc = read_document(make_channel(identity, tamper_dg=1), keys_of(identity), load_trust_store(csca_dir)).document
    assert doc.name == "XEST PATIENT ONE"
    assert doc.checks.passive_auth == "failed"


def test_expired_passport_signed_by_then_valid_ds_still_passes(make_channel: Callable[..., DirectChannel],
                                                               tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from hardware_fixtures.emrtd import TestPki

    # DS valid 40..10 days ago, document expired 20 days ago: expired, but genuine.
    pki = TestPki.generate(ds_not_before=datetime.now(UTC) - timedelta(days=40), ds_valid_days=30)
    identity = TestIdentity(expiry_date=(date.today() - timedelta(days=20)).strftime("%y%m%d"))
    pki.write_csca(tmp_path / "csca")
    chip = EmrtdChip(build_files(identity, pki), keys_of(identity))
    doc = read_document(DirectChannel(chip), keys_of(identity), load_trust_store(tmp_path / "csca")).document
    assert (doc.checks.expired, doc.checks.passive_auth) == (True, "passed")
