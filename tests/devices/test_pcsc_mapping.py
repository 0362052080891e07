"""PC/SC failure mapping without pcscd: a scripted stand-in for pyscard's ``scard`` module (real constants)
checks that each PC/SC result code becomes the device error the nurse's screen and the API show."""

from __future__ import annotations

import time
from typing import Any

import pytest

scard = pytest.importorskip("smartcard.scard", reason="pyscard is not installed")

from idverify.devices import pcsc  # noqa: E402
from idverify.errors import DeviceError  # noqa: E402

READER = "ACME Contactless 00 00"


class FakeScard:
    """Just enough of ``smartcard.scard``: the constants are the real ones, the calls are scripted."""

    def __init__(self) -> None:
        self.present = True
        self.connect_result = scard.SCARD_S_SUCCESS
        self.transmit_results: list[tuple[int, list[int]]] = []
        self.readers_result: tuple[int, list[str]] = (scard.SCARD_S_SUCCESS, [READER, "Other Reader 01 00"])
        self.disconnected = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(scard, name)

    def SCardEstablishContext(self, _scope: int) -> tuple[int, int]:
        return scard.SCARD_S_SUCCESS, 1

    def SCardReleaseContext(self, _ctx: int) -> int:
        return int(scard.SCARD_S_SUCCESS)

    def SCardListReaders(self, _ctx: int, _groups: list[str]) -> tuple[int, list[str]]:
        return self.readers_result

    def _state(self) -> int:
        return int(scard.SCARD_STATE_PRESENT if self.present else scard.SCARD_STATE_EMPTY)

    def SCardGetStatusChange(self, _ctx: int, timeout_ms: int, states: list[tuple[str, int]]) -> tuple[int, Any]:
        current = self._state()
        if states[0][1] != scard.SCARD_STATE_UNAWARE and states[0][1] == current:
            time.sleep(min(timeout_ms, 20) / 1000)
            return scard.SCARD_E_TIMEOUT, states
        return scard.SCARD_S_SUCCESS, [(states[0][0], current, [])]

    def SCardConnect(self, _ctx: int, _reader: str, _share: int, _proto: int) -> tuple[int, int, int]:
        return self.connect_result, 7, scard.SCARD_PROTOCOL_T1

    def SCardTransmit(self, _card: int, _proto: int, _apdu: list[int]) -> tuple[int, list[int]]:
        return self.transmit_results.pop(0)

    def SCardDisconnect(self, _card: int, _disposition: int) -> int:
        self.disconnected += 1
        return int(scard.SCARD_S_SUCCESS)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeScard:
    stand_in = FakeScard()
    monkeypatch.setattr(pcsc, "_scard", lambda: stand_in)
    monkeypatch.setattr(pcsc, "REMOVAL_GRACE_S", 0.1)
    return stand_in


def _code(exc: pytest.ExceptionInfo[DeviceError]) -> str:
    return exc.value.code


def test_discovery_and_substring_match(fake: FakeScard) -> None:
    assert pcsc.list_readers() == [READER, "Other Reader 01 00"]
    assert pcsc.PcscReader("acme").name == READER
    fake.readers_result = (scard.SCARD_E_NO_READERS_AVAILABLE, [])
    assert pcsc.list_readers() == []
    with pytest.raises(DeviceError) as info:
        pcsc.PcscReader("acme")
    assert _code(info) == "device_unavailable"


def test_connect_without_card_is_no_card(fake: FakeScard) -> None:
    reader = pcsc.PcscReader("acme")
    fake.connect_result = scard.SCARD_E_NO_SMARTCARD
    with pytest.raises(DeviceError) as info, reader.connect():
        pass
    assert _code(info) == "no_card"


def test_connect_when_service_stops(fake: FakeScard) -> None:
    reader = pcsc.PcscReader("acme")
    fake.connect_result = scard.SCARD_E_NO_SERVICE
    with pytest.raises(DeviceError) as info, reader.connect():
        pass
    assert _code(info) == "device_unavailable"


def test_transmit_success_splits_status_word(fake: FakeScard) -> None:
    fake.transmit_results = [(scard.SCARD_S_SUCCESS, [0x01, 0x02, 0x90, 0x00])]
    with pcsc.PcscReader("acme").connect() as conn:
        assert conn.transmit(b"\x00\x84\x00\x00\x08") == (b"\x01\x02", 0x9000)
    assert fake.disconnected == 1


@pytest.mark.parametrize(
    ("result", "present", "expected"),
    [
        (scard.SCARD_W_REMOVED_CARD, False, "card_removed"),
        (scard.SCARD_E_NOT_TRANSACTED, False, "card_removed"),
        (scard.SCARD_E_READER_UNAVAILABLE, True, "device_unavailable"),
        (scard.SCARD_E_NO_SERVICE, True, "device_unavailable"),
        (scard.SCARD_E_INVALID_PARAMETER, True, "device_error"),
        (scard.SCARD_E_INVALID_PARAMETER, False, "card_removed"),
    ],
)
def test_transmit_failures(fake: FakeScard, result: int, present: bool, expected: str) -> None:
    fake.transmit_results = [(result, [])]
    with pcsc.PcscReader("acme").connect() as conn:
        fake.present = present
        with pytest.raises(DeviceError) as info:
            conn.transmit(b"\x00\xb0\x00\x00\x08")
        assert _code(info) == expected
        with pytest.raises(DeviceError):  # the connection is dead after a failure; no half-read documents
            conn.transmit(b"\x00\xb0\x00\x00\x08")


def test_empty_response_after_pull_is_card_removed(fake: FakeScard) -> None:
    fake.transmit_results = [(scard.SCARD_S_SUCCESS, [])]
    with pcsc.PcscReader("acme").connect() as conn:
        fake.present = False
        with pytest.raises(DeviceError) as info:
            conn.transmit(b"\x00\xb0\x00\x00\x08")
    assert _code(info) == "card_removed"


def test_presence_and_waiting(fake: FakeScard) -> None:
    reader = pcsc.PcscReader("acme")
    assert reader.card_present()
    assert reader.wait_for_card(0)
    assert not reader.wait_for_removal(0.1)
    fake.present = False
    assert not reader.card_present()
    assert reader.wait_for_removal(0)


def test_t0_get_response_and_wrong_length_are_handled(fake: FakeScard, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[list[int]] = []
    replies = [(scard.SCARD_S_SUCCESS, [0x61, 0x04]), (scard.SCARD_S_SUCCESS, [1, 2, 3, 4, 0x90, 0x00]),
               (scard.SCARD_S_SUCCESS, [0x6C, 0x02]), (scard.SCARD_S_SUCCESS, [9, 9, 0x90, 0x00])]

    def transmit(_card: int, _proto: int, apdu: list[int]) -> tuple[int, list[int]]:
        sent.append(apdu)
        return replies.pop(0)

    monkeypatch.setattr(fake, "SCardTransmit", transmit)
    with pcsc.PcscReader("acme").connect() as conn:
        assert conn.transmit(b"\x00\x84\x00\x00\x00") == (b"\x01\x02\x03\x04", 0x9000)
        assert sent[-1] == [0x00, 0xC0, 0x00, 0x00, 0x04]  # GET RESPONSE for the 4 waiting bytes
        assert conn.transmit(b"\x00\xb0\x00\x00\x08") == (b"\x09\x09", 0x9000)
        assert sent[-1] == [0x00, 0xB0, 0x00, 0x00, 0x02]  # repeated with the length the card asked for
