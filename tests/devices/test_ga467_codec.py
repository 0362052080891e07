"""GA 467 frame codec: literal frames seen in vendor code, round trips, corruption and resynchronisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idverify.devices.ga467 import (
    CMD_FIND,
    CMD_READ_BASE,
    CMD_RESET,
    CMD_SAM_ID,
    CMD_SELECT,
    FrameDecoder,
    FrameError,
    decode_response_body,
    encode_command,
    encode_response,
    split_base_message,
)
from idverify.errors import DeviceError


@pytest.mark.parametrize(
    ("command", "data", "expected"),
    [
        (CMD_RESET, b"", "AAAAAA9669000310FFEC"),
        (CMD_SAM_ID, b"", "AAAAAA9669000312FFEE"),
        (CMD_FIND, b"", "AAAAAA96690003200122"),
        (CMD_SELECT, b"", "AAAAAA96690003200221"),
        (CMD_READ_BASE, b"", "AAAAAA96690003300132"),
        ((0x30, 0x10), b"", "AAAAAA96690003301023"),
        ((0x61, 0xFF), b"\x50", "AAAAAA9669000461FF50CA"),
    ],
)
def test_command_frames_match_vendor_literals(command: tuple[int, int], data: bytes, expected: str) -> None:
    assert encode_command(*command, data).hex().upper() == expected


@pytest.mark.parametrize(
    ("sw3", "data", "expected"),
    [
        (0x9F, bytes(4), "AAAAAA96690008" "00009F" "00000000" "97"),
        (0x80, b"", "AAAAAA96690004" "000080" "84"),
        (0x90, bytes(8), "AAAAAA9669000C" "000090" "0000000000000000" "9C"),
        (0x81, b"", "AAAAAA96690004" "000081" "85"),
        (0x41, b"", "AAAAAA96690004" "000041" "45"),
    ],
)
def test_response_frames_match_vendor_literals(sw3: int, data: bytes, expected: str) -> None:
    assert encode_response(sw3, data).hex().upper() == expected


def test_read_base_frame_has_documented_length() -> None:
    payload = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + bytes(256) + bytes(1024)
    frame = encode_response(0x90, payload)
    assert len(frame) == 1295
    assert frame[:10].hex().upper() == "AAAAAA96690508000090"


@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.binary(max_size=2400))
def test_response_round_trip(sw1: int, sw3: int, sw2: int, data: bytes) -> None:
    dec = FrameDecoder()
    dec.feed(encode_response(sw3, data, sw1=sw1, sw2=sw2))
    body = dec.next_body()
    assert body is not None
    resp = decode_response_body(body)
    assert (resp.sw1, resp.sw2, resp.sw3, resp.data) == (sw1, sw2, sw3, data)
    assert dec.pending == 0


@given(st.binary(max_size=300), st.binary(max_size=64), st.integers(1, 50))
def test_garbage_before_frame_and_split_reads_resynchronise(garbage: bytes, data: bytes, step: int) -> None:
    frame = encode_response(0x90, data)
    stream = garbage.replace(b"\xaa", b"\x00") + frame
    dec = FrameDecoder()
    bodies = []
    for i in range(0, len(stream), step):
        dec.feed(stream[i:i + step])
        assert dec.needed() >= 0
        body = dec.next_body()
        if body is not None:
            bodies.append(body)
    assert [decode_response_body(b).data for b in bodies] == [data]


@given(st.binary(min_size=0, max_size=200), st.integers(min_value=0), st.integers(1, 255))
def test_any_corrupted_byte_after_preamble_is_caught(data: bytes, where: int, flip: int) -> None:
    frame = bytearray(encode_response(0x90, data))
    pos = 7 + where % (len(frame) - 7)  # a body or check byte (length bytes change the frame's extent)
    frame[pos] ^= flip
    dec = FrameDecoder()
    dec.feed(bytes(frame))
    with pytest.raises(FrameError) as err:
        dec.next_body()
    assert err.value.code == "checksum_error"


def test_truncated_frame_yields_nothing_and_says_how_much_is_missing() -> None:
    frame = encode_response(0x90, bytes(100))
    dec = FrameDecoder()
    dec.feed(frame[:50])
    assert dec.next_body() is None
    assert dec.needed() == len(frame) - 50


def test_needed_never_asks_past_a_short_frame() -> None:
    dec = FrameDecoder()
    assert dec.needed() == 7  # preamble + length
    dec.feed(encode_response(0x80)[:7])
    assert dec.needed() == 4


def test_absurd_length_is_skipped() -> None:
    dec = FrameDecoder()
    dec.feed(b"\xaa\xaa\xaa\x96\x69\xff\xff" + encode_response(0x80))
    body = dec.next_body()
    assert body is not None and decode_response_body(body).sw3 == 0x80


def test_split_base_message_parses_lengths() -> None:
    text, photo = bytes(range(256)), bytes(1024)
    data = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + text + photo
    assert split_base_message(data) == (text, photo)
    with pytest.raises(FrameError):
        split_base_message(data[:-10])
    with pytest.raises(DeviceError) as err:
        split_base_message((10).to_bytes(2, "big") + (0).to_bytes(2, "big") + bytes(10))
    assert err.value.code == "card_data_invalid"
