"""End to end through the real pcscd: vsmartcard's vpcd driver, our virtual eMRTD on the card side,
pyscard on the host side. pcscd is started here if it is not running (and stopped again); without pcscd,
vpcd or pyscard the module is skipped with the reason. The tests use vpcd's second slot
(``Virtual PCD 00 01``) so that an ``idverify demo`` holding its passport in slot 0 does not disturb them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hardware_fixtures.emrtd import EmrtdChip, Faults, TestIdentity, TestPki, VirtualCard, build_files
from hardware_fixtures.emrtd.card import PaceConfig
from hardware_fixtures.emrtd.pcscd import VPCD_READER, Pcscd, unavailable_reason
from hardware_fixtures.emrtd.pcscd import VPCD_TEST_PORT as PORT
from hardware_fixtures.emrtd.pcscd import VPCD_TEST_READER as READER

from idverify.devices import pcsc
from idverify.documents.mrz import BacKeys
from idverify.errors import DeviceError

_reason = unavailable_reason()
pytestmark = pytest.mark.skipif(_reason is not None, reason=_reason or "")


@pytest.fixture(scope="module")
def pcscd() -> Iterator[Pcscd]:
    try:
        handle = Pcscd.ensure()
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"pcscd cannot run here: {exc}")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate()


@pytest.fixture
def reader(pcscd: Pcscd) -> pcsc.PcscReader:
    reader = pcsc.PcscReader(READER)
    if not reader.wait_for_removal(5):
        pytest.skip(f"another process keeps a card in {READER}")
    return reader


def _keys(identity: TestIdentity) -> BacKeys:
    return BacKeys(identity.document_number, identity.birth_date, identity.expiry_date)


@pytest.fixture
def insert(reader: pcsc.PcscReader, pki: TestPki) -> Iterator[Callable[..., VirtualCard]]:
    cards: list[VirtualCard] = []

    def factory(identity: TestIdentity, *, tamper_dg: int | None = None, faults: Faults | None = None,
                pace: PaceConfig | None = None, bac: bool = True) -> VirtualCard:
        chip = EmrtdChip(build_files(identity, pki, tamper_dg=tamper_dg), _keys(identity), faults=faults, pace=pace,
                         bac=bac)
        card = VirtualCard(chip, port=PORT)
        card.insert()
        cards.append(card)
        assert reader.wait_for_card(5)
        return card

    yield factory
    for card in cards:
        card.remove()
    reader.wait_for_removal(5)


@pytest.fixture
def csca_dir(tmp_path: Path, pki: TestPki) -> Path:
    pki.write_csca(tmp_path / "csca")
    return tmp_path / "csca"


def test_reader_discovery(pcscd: Pcscd) -> None:
    names = pcsc.list_readers()
    assert {VPCD_READER, READER} <= set(names)
    assert pcsc.PcscReader("virtual pcd 00 01").name == READER


def test_unknown_reader_is_device_unavailable(pcscd: Pcscd) -> None:
    with pytest.raises(DeviceError) as info:
        pcsc.PcscReader("no such reader model")
    assert info.value.code == "device_unavailable"


def test_no_card(reader: pcsc.PcscReader) -> None:
    assert not reader.card_present()
    assert not reader.wait_for_card(0.3)
    with pytest.raises(DeviceError) as info:
        pcsc.read_emrtd(reader, BacKeys("E01234567", "900115", "301231"), None, card_wait=0.2)
    assert info.value.code == "no_card"


def test_insert_and_remove_events(reader: pcsc.PcscReader, pki: TestPki) -> None:
    identity = TestIdentity()
    card = VirtualCard(EmrtdChip(build_files(identity, pki), _keys(identity)), port=PORT)
    card.insert()
    try:
        assert reader.wait_for_card(5)
        assert reader.card_present()
    finally:
        card.remove()
    assert reader.wait_for_removal(5)
    assert not reader.card_present()


def test_read_passport_passed(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard], csca_dir: Path) -> None:
    identity = TestIdentity()
    card = insert(identity)
    result = pcsc.read_emrtd_result(reader, _keys(identity), csca_dir)
    doc = result.document
    assert doc.to_summary() | {"valid_to": None} == {
        "document_type": "passport", "name": "TEST PATIENT ONE", "sex": "F", "birth_date": "1990-01-15",
        "document_number": "E01234567", "nation": None, "nationality": "UTO", "address": None, "issuer": "UTO",
        "valid_from": None, "valid_to": None, "photo": "available",
        "checks": {"checksum": True, "expired": False, "passive_auth": "passed"},
    }
    assert doc.photo == identity.photo_bytes()[0]
    assert doc.source == f"pcsc:{READER}"
    assert card.apdus == result.apdus  # every APDU went through pcscd to the virtual chip


def test_read_jpeg2000_face_not_verified_without_anchors(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard],
                                                        tmp_path: Path) -> None:
    identity = TestIdentity(photo_format="jp2")
    insert(identity)
    empty = tmp_path / "empty"
    empty.mkdir()
    doc = pcsc.read_emrtd(reader, _keys(identity), empty)
    assert (doc.photo_format, doc.checks.passive_auth) == ("jp2", "not_verified")


def test_tampered_dg_fails_passive_auth(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard],
                                        csca_dir: Path) -> None:
    identity = TestIdentity()
    insert(identity, tamper_dg=2)
    assert pcsc.read_emrtd(reader, _keys(identity), csca_dir).checks.passive_auth == "failed"


def test_wrong_mrz_keys_bac_failed(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard]) -> None:
    identity = TestIdentity()
    insert(identity)
    with pytest.raises(DeviceError) as info:
        pcsc.read_emrtd(reader, BacKeys("E01234568", identity.birth_date, identity.expiry_date), None)
    assert info.value.code == "bac_failed"


def test_card_pulled_mid_read(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard]) -> None:
    identity = TestIdentity()
    insert(identity, faults=Faults(pull_after_reads=4))
    with pytest.raises(DeviceError) as info:
        pcsc.read_emrtd(reader, _keys(identity), None)
    assert info.value.code == "card_removed"
    assert reader.wait_for_removal(5)


def test_reads_again_after_reinsertion(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard]) -> None:
    identity = TestIdentity()
    card = insert(identity)
    first = pcsc.read_emrtd(reader, _keys(identity), None)
    card.remove()
    assert reader.wait_for_removal(5)
    card.insert()
    assert reader.wait_for_card(5)
    assert pcsc.read_emrtd(reader, _keys(identity), None) == first


def test_pcscd_down_is_device_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from smartcard import scard

    monkeypatch.setattr(scard, "SCardEstablishContext", lambda _scope: (scard.SCARD_E_NO_SERVICE, 0))
    with pytest.raises(DeviceError) as info:
        pcsc.list_readers()
    assert info.value.code == "device_unavailable"


def test_silent_chip_times_out_instead_of_hanging(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcsc, "APDU_TIMEOUT_S", 0.5)
    identity = TestIdentity()
    card = insert(identity, faults=Faults(stall_after_reads=3))
    with pytest.raises(DeviceError) as info:
        pcsc.read_emrtd(reader, _keys(identity), None)
    assert info.value.code == "capture_timeout"
    card.remove()  # unblocks pcscd; the next read works again
    assert reader.wait_for_removal(5)


def test_time_reads_reports_one_summary(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard],
                                        csca_dir: Path) -> None:
    from idverify.devices.pcsc_bench import time_reads

    identity = TestIdentity()
    insert(identity)
    summary = time_reads(reader, _keys(identity), csca_dir, reads=2)
    assert summary["reads"] == 2
    assert summary["passive_auth"] == "passed"
    assert summary["dg2_bytes"] > len(identity.photo_bytes()[0])  # the face plus its ISO 19794-5 headers
    assert summary["apdus"] > 3 + summary["bytes_read"] // 0xDF  # BAC + at least one READ per 223 bytes
    assert summary["min_ms"] <= summary["median_ms"] <= summary["p95_ms"]


def test_event_stream(reader: pcsc.PcscReader, pki: TestPki) -> None:
    import threading

    identity = TestIdentity()
    card = VirtualCard(EmrtdChip(build_files(identity, pki), _keys(identity)), port=PORT)
    stop = threading.Event()
    seen: list[str] = []

    def watch() -> None:
        for event in reader.events(stop, timeout=20):
            seen.append(event)
            if len(seen) == 3:
                stop.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(100):  # the first event is the current state: the watcher is ready
            if seen:
                break
            stop.wait(0.1)
        card.insert()
        assert reader.wait_for_card(5)
        card.remove()
        assert reader.wait_for_removal(5)
    finally:
        card.remove()
        watcher.join(timeout=10)
    assert seen == ["removed", "inserted", "removed"]


def test_read_pace_only_passport(reader: pcsc.PcscReader, insert: Callable[..., VirtualCard], csca_dir: Path) -> None:
    identity = TestIdentity()
    insert(identity, pace=PaceConfig(), bac=False)
    result = pcsc.read_emrtd_result(reader, _keys(identity), csca_dir)
    assert result.access_control == "PACE-AES"
    assert result.document.checks.passive_auth == "passed"
    assert result.document.photo == identity.photo_bytes()[0]
