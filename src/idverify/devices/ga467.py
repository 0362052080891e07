"""GA 467 ID-card reader ("SAM" module) over a serial link: frame codec and the find/select/read sequence.

Owns: the wire format (``AA AA AA 96 69 | LEN(2, BE) | body | XOR``), the SAM status words and their mapping onto
idverify's device error codes, and the read sequence that yields the 256-byte text block and the 1024-byte WLT photo.
Parsing the text block is :mod:`idverify.documents.cn_id`; decoding the photo is a vendor plug-in
(:mod:`idverify.devices.wlt`). Knows nothing of patients; logs never carry card contents.

Frame format and status words: the SAM interface of GA 467-2013 (居民身份证验证安全控制模块接口技术规范), as
the reader vendors' SDK headers implement it (SAM command and SW3 tables; open-source reader drivers agree byte for
byte on the frames below). A command body is ``CMD PARA DATA…``; a response body is ``SW1 SW2 SW3 DATA…``; LEN
counts the body plus the check byte; the check byte is the XOR of LEN and body (not the preamble).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import structlog

from idverify.devices.serial_link import SerialLink, detect_baud
from idverify.devices.wlt import WltDecoder, decode_photo
from idverify.documents.cn_id import TEXT_BLOCK_SIZE, parse_text_block
from idverify.documents.model import IdentityDocument
from idverify.errors import DeviceError, ErrorCode

log = structlog.get_logger(__name__)

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_SIZE = len(PREAMBLE) + 2
#: Largest LEN we accept; a read-with-fingerprint answer is 2314, anything much bigger is line noise.
MAX_LEN = 4096

# Commands (CMD, PARA).
CMD_RESET = (0x10, 0xFF)
CMD_SAM_STATUS = (0x11, 0xFF)
CMD_SAM_ID = (0x12, 0xFF)
CMD_FIND = (0x20, 0x01)
CMD_SELECT = (0x20, 0x02)
CMD_READ_BASE = (0x30, 0x01)
CMD_READ_NEW_ADDRESS = (0x30, 0x03)

# SAM result codes (SW3).
SW_OK = 0x90
SW_FIND_OK = 0x9F
SW_NO_CONTENT = 0x91
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81
SW_READ_FAILED = 0x41

#: SW3 → (device error code, message). Messages name the condition, never the card.
_SW_ERRORS: dict[int, tuple[ErrorCode, str]] = {
    0x10: (ErrorCode.CHECKSUM_ERROR, "reader rejected the command frame's check byte"),
    0x11: (ErrorCode.CHECKSUM_ERROR, "reader rejected the command frame's length"),
    0x21: (ErrorCode.DEVICE_ERROR, "reader rejected the command"),
    0x23: (ErrorCode.DEVICE_ERROR, "command not permitted by the reader"),
    0x24: (ErrorCode.DEVICE_ERROR, "reader reported an unknown error"),
    0x31: (ErrorCode.CARD_AUTH_FAILED, "card failed to authenticate the reader's SAM"),
    0x32: (ErrorCode.CARD_AUTH_FAILED, "SAM failed to authenticate the card: it may not be genuine"),
    0x33: (ErrorCode.CARD_AUTH_FAILED, "card information check failed"),
    0x40: (ErrorCode.CARD_UNSUPPORTED, "unknown card type"),
    SW_READ_FAILED: (ErrorCode.CARD_REMOVED, "card read failed: the card left the field during the read"),
    0x47: (ErrorCode.DEVICE_ERROR, "SAM could not get a random number from the card"),
    0x60: (ErrorCode.DEVICE_ERROR, "SAM self-test failed"),
    0x66: (ErrorCode.DEVICE_ERROR, "SAM not authorised"),
    SW_NO_CARD: (ErrorCode.NO_CARD, "no card on the reader"),
    SW_SELECT_FAILED: (ErrorCode.CARD_REMOVED, "card could not be selected: it left the field"),
}

# Seconds to wait for an answer (vendor SDK timeouts, with margin).
TIMEOUT_SHORT = 0.5
TIMEOUT_READ = 3.0


class FrameError(DeviceError):
    """A frame that failed its check byte or arrived incomplete."""

    code = ErrorCode.CHECKSUM_ERROR
    status_code = 502


def xor_check(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def _frame(body: bytes) -> bytes:
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([xor_check(length + body)])


def encode_command(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A host→reader frame, e.g. ``encode_command(0x20, 0x01)`` = ``AAAAAA96690003200122`` (find card)."""
    return _frame(bytes([cmd, para]) + data)


def encode_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reader→host frame (the simulators' side)."""
    return _frame(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes


class FrameDecoder:
    """Incremental decoder: feed bytes as they arrive, take whole frame bodies out.

    Resynchronises on the preamble (garbage before it is dropped, as serial reads can start mid-frame) and
    rejects absurd lengths by skipping that preamble. A body whose check byte is wrong raises
    :class:`FrameError` (``checksum_error``) and is consumed, so the stream stays usable."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        return len(self._buf)

    def needed(self) -> int:
        """Bytes that can safely be waited for: never past the end of the frame in progress (asking for more
        would block until the deadline)."""
        start = self._buf.find(PREAMBLE)
        if start < 0:
            tail = 0
            for k in range(min(len(PREAMBLE) - 1, len(self._buf)), 0, -1):
                if self._buf.endswith(PREAMBLE[:k]):
                    tail = k
                    break
            return HEADER_SIZE - tail
        have = len(self._buf) - start
        if have < HEADER_SIZE:
            return HEADER_SIZE - have
        length = int.from_bytes(self._buf[start + 5:start + 7], "big")
        return max(1, HEADER_SIZE + length - have)

    def next_body(self) -> bytes | None:
        while True:
            start = self._buf.find(PREAMBLE)
            if start < 0:
                # Keep a tail that may be the start of a preamble split across reads.
                del self._buf[: max(0, len(self._buf) - (len(PREAMBLE) - 1))]
                return None
            del self._buf[:start]
            if len(self._buf) < HEADER_SIZE:
                return None
            length = int.from_bytes(self._buf[5:7], "big")
            if length < 2 or length > MAX_LEN:
                del self._buf[:1]  # not a real frame: look for the next preamble
                continue
            if len(self._buf) < HEADER_SIZE + length:
                return None
            frame = bytes(self._buf[: HEADER_SIZE + length])
            del self._buf[: HEADER_SIZE + length]
            body, check = frame[HEADER_SIZE:-1], frame[-1]
            if xor_check(frame[5:-1]) != check:
                raise FrameError("GA 467 frame failed its check byte")
            return body


def decode_response_body(body: bytes) -> Response:
    if len(body) < 3:
        raise FrameError("GA 467 response shorter than its status words")
    return Response(body[0], body[1], body[2], body[3:])


def split_base_message(data: bytes) -> tuple[bytes, bytes]:
    """``(text, photo)`` from a read-base answer: text length (2, BE), photo length (2, BE), then both blocks.

    The lengths are parsed rather than assumed because readers differ."""
    if len(data) < 4:
        raise FrameError("read-base answer too short for its length fields")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if len(data) < 4 + text_len + photo_len:
        raise FrameError("read-base answer shorter than its declared lengths")
    text = data[4:4 + text_len]
    photo = data[4 + text_len:4 + text_len + photo_len]
    if text_len != TEXT_BLOCK_SIZE:
        raise DeviceError(f"text block has {text_len} bytes, expected {TEXT_BLOCK_SIZE}",
                          code=ErrorCode.CARD_DATA_INVALID)
    return text, photo


class Ga467Reader:
    """One GA 467 reader on a serial port. Not thread-safe: the device manager serialises calls.

    Every call returns or raises within its timeout (plus one retry), whatever the reader does."""

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        *,
        photo_decoder: WltDecoder | None = None,
        retries: int = 1,
    ) -> None:
        self.port = port
        self.baud = baud
        self.photo_decoder = photo_decoder
        self.retries = retries
        self._link: SerialLink | None = None

    @property
    def name(self) -> str:
        return f"ga467:{self.port}"

    def open(self) -> None:
        if self._link is None:
            self._link = SerialLink(self.port, self.baud, label="GA 467 reader")

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def __enter__(self) -> Ga467Reader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect_baud(self, candidates: tuple[int, ...] = (115200, 9600, 57600, 38400, 19200)) -> int | None:
        """The first baud rate at which the SAM answers a status query, or None. Modules ship at 115200 or 9600;
        used to tell an admin which ``IDVERIFY_ID_READER_BAUD`` to set, never to change it silently."""
        return detect_baud(self, candidates,
                           lambda: self._check(self._exchange(CMD_SAM_STATUS, TIMEOUT_SHORT), (SW_OK,)))

    # --- transport ---------------------------------------------------------------------------------------------
    def _exchange(self, command: tuple[int, int], timeout: float) -> Response:
        self.open()
        assert self._link is not None
        link = self._link
        link.discard_input()
        link.write(encode_command(*command))
        decoder = FrameDecoder()
        deadline = time.monotonic() + timeout
        while True:
            body = decoder.next_body()  # FrameError propagates
            if body is not None:
                return decode_response_body(body)
            chunk = link.read_exact(decoder.needed(), deadline)
            if not chunk:
                if decoder.pending:
                    raise FrameError(
                        f"GA 467 reader sent an incomplete frame ({decoder.pending} bytes) within {timeout:.1f} s",
                        code=ErrorCode.FRAME_TRUNCATED,
                    )
                raise DeviceError(
                    f"GA 467 reader did not answer within {timeout:.1f} s",
                    code=ErrorCode.DEVICE_TIMEOUT, status_code=504
                )
            decoder.feed(chunk)

    def transact(self, command: tuple[int, int], timeout: float = TIMEOUT_SHORT) -> Response:
        """Send one command and return the answer, retrying corrupted or truncated answers ``retries`` times."""
        attempt = 0
        while True:
            try:
                return self._exchange(command, timeout)
            except FrameError as exc:
                attempt += 1
                log.warning("ga467_frame_error", code=exc.code, attempt=attempt, command=f"{command[0]:02X}")
                if attempt > self.retries:
                    raise

    @staticmethod
    def _check(resp: Response, ok: tuple[int, ...]) -> Response:
        if resp.sw3 in ok:
            return resp
        code, message = _SW_ERRORS.get(resp.sw3, (ErrorCode.DEVICE_ERROR, "reader returned an unexpected status"))
        raise DeviceError(f"{message} (SW3={resp.sw3:02X})", code=code, status_code=422)

    # --- commands ----------------------------------------------------------------------------------------------
    def sam_id(self) -> str:
        """The SAM serial as vendor tools print it (``05.01-20101215-0012345678-0123456789``): a health probe."""
        d = self._check(self.transact(CMD_SAM_ID), (SW_OK,)).data
        if len(d) < 16:
            raise FrameError("SAM id answer too short")
        return (
            f"{d[0]:02X}.{d[2]:02X}-{int.from_bytes(d[4:8], 'little')}-"
            f"{int.from_bytes(d[8:12], 'little'):010d}-{int.from_bytes(d[12:16], 'little'):010d}"
        )

    def find_card(self) -> bool:
        resp = self.transact(CMD_FIND)
        if resp.sw3 == SW_NO_CARD:
            return False
        self._check(resp, (SW_FIND_OK, SW_OK))
        return True

    def select_card(self, attempts: int = 3) -> None:
        """Select the card found; some readers refuse the first select, hence the retries."""
        resp = self.transact(CMD_SELECT)
        for _ in range(attempts - 1):
            if resp.sw3 != SW_SELECT_FAILED:
                break
            resp = self.transact(CMD_SELECT)
        self._check(resp, (SW_OK,))

    def read_base(self) -> tuple[bytes, bytes]:
        resp = self._check(self.transact(CMD_READ_BASE, TIMEOUT_READ), (SW_OK,))
        return split_base_message(resp.data)

    def read_new_address(self) -> str | None:
        """The appended address (住址变更, written when a holder moves), or None when the card has none.

        Call after a successful read (the card stays selected). 70 bytes of UCS-2LE, space padded."""
        resp = self.transact(CMD_READ_NEW_ADDRESS, TIMEOUT_READ)
        if resp.sw3 == SW_NO_CONTENT:
            return None
        self._check(resp, (SW_OK,))
        try:
            text = resp.data[:70].decode("utf-16-le").replace("\x00", " ").strip()
        except UnicodeDecodeError:
            raise DeviceError("appended address is not valid UCS-2", code=ErrorCode.CARD_DATA_INVALID,
                              status_code=422) from None
        return text or None

    def read_document(self, *, today: date | None = None, wait: float = 0.0) -> IdentityDocument:
        """Find, select and read the card on the reader; parse it; decode its photo if a decoder is installed.

        ``wait`` seconds to poll for a card being placed (0: only look once). Raises ``no_card`` when nothing is
        on the reader, ``card_removed`` when the card leaves mid-read, ``checksum_error``/``frame_truncated``/
        ``device_timeout`` for link faults, ``device_unavailable`` when the port is gone."""
        deadline = time.monotonic() + wait
        while not self.find_card():
            if time.monotonic() >= deadline:
                raise DeviceError("no card on the reader", code=ErrorCode.NO_CARD, status_code=422)
            time.sleep(0.2)
        self.select_card()
        text, wlt = self.read_base()
        photo, fmt = decode_photo(wlt, self.photo_decoder) if wlt else (None, None)
        doc = parse_text_block(text, photo=photo, photo_format=fmt, today=today, source=self.name)
        log.info("ga467_card_read", document_type=doc.document_type, photo=fmt, checksum=doc.checks.checksum)
        return doc
