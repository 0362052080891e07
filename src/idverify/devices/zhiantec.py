"""ZhianTec / R30x / AS608 fingerprint sensor over a serial link: our own packet layer with deadlines.

Owns: the sensor's packet format (``EF 01 | addr(4) | PID | LEN(2) | payload | SUM(2)``, big-endian), the
handshake, finger detection with a timeout, image capture and upload (4-bit packed 256×288, unpacked here to 8-bit
grey for host-side matching), and the optional on-sensor template store/search used only as a fallback.
Knows nothing of patients or of our matcher.

Why not pyfingerprint's packet layer: it reads one byte at a time with a 2 s timeout and stores the *empty* timeout
result in its buffer instead of raising, so a silent sensor looks like a ~24 s hang followed by a misleading "invalid
header" exception, and a cut image stream ends in an IndexError (pyfingerprint 1.5, its packet reader and
``downloadImage``). The daemon must never hang and must report a device error code, so this module speaks the same
protocol (the ZhianTec ZFM-20 / R30x datasheet's packets) with an overall deadline per call. The simulator in
``hardware_fixtures`` is checked against unmodified pyfingerprint in the tests, which keeps both sides honest about the
wire format.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import structlog
from numpy.typing import NDArray

from idverify.devices.serial_link import SerialLink, detect_baud
from idverify.errors import DeviceError, DeviceTimeout, ErrorCode

log = structlog.get_logger(__name__)

START = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
PID_COMMAND = 0x01
PID_DATA = 0x02
PID_ACK = 0x07
PID_END = 0x08

IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288
PACKED_IMAGE_SIZE = IMAGE_WIDTH * IMAGE_HEIGHT // 2

# Instructions.
GEN_IMG = 0x01
IMG2TZ = 0x02
MATCH = 0x03
SEARCH = 0x04
REG_MODEL = 0x05
STORE = 0x06
DELETE = 0x0C
EMPTY = 0x0D
SET_SYS_PARA = 0x0E
READ_SYS_PARA = 0x0F
UP_IMAGE = 0x0A
VFY_PWD = 0x13
TEMPLATE_NUM = 0x1D
AURA_LED = 0x35  # R503-family ring LED; other modules answer "illegal instruction"

# Confirmation codes.
OK = 0x00
NO_FINGER = 0x02
CAPTURE_FAILED = 0x03
NOT_FOUND = 0x09
WRONG_PASSWORD = 0x13

_CONFIRMATION: dict[int, tuple[ErrorCode, str]] = {
    0x01: (ErrorCode.DEVICE_ERROR, "sensor reported a packet receive error"),
    CAPTURE_FAILED: (ErrorCode.CAPTURE_FAILED, "sensor could not take an image: place the finger flat and retry"),
    0x06: (ErrorCode.BIOMETRIC_QUALITY, "fingerprint image too messy: clean the finger and the sensor"),
    0x07: (ErrorCode.BIOMETRIC_QUALITY, "too few fingerprint features: press more firmly"),
    0x0F: (ErrorCode.DEVICE_ERROR, "sensor could not send the image"),
    0x15: (ErrorCode.BIOMETRIC_QUALITY, "no valid fingerprint image in the sensor's buffer"),
    0x18: (ErrorCode.DEVICE_ERROR, "sensor flash write error"),
    WRONG_PASSWORD: (ErrorCode.DEVICE_AUTH_FAILED, "sensor rejected the configured password"),
    0x20: (ErrorCode.DEVICE_ERROR, "sensor address mismatch"),
    0x21: (ErrorCode.DEVICE_AUTH_FAILED, "sensor requires its password first"),
}

#: SetSysPara register 4: the baud rate as a multiple of 9600 (1–12). The module answers at the old rate, then
#: listens at the new one; it keeps the rate in flash across power cycles.
BAUD_REGISTER = 4
FASTEST_BAUD = 115200

#: Time allowed for one ACK, and the gap tolerated between two image data packets.
ACK_TIMEOUT = 1.0
PACKET_GAP = 2.0


def packet_checksum(pid: int, length: bytes, payload: bytes) -> int:
    return (pid + sum(length) + sum(payload)) & 0xFFFF


def encode_packet(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    """One packet; LEN counts the payload plus the 2-byte checksum."""
    length = (len(payload) + 2).to_bytes(2, "big")
    return (
        START + address.to_bytes(4, "big") + bytes([pid]) + length + payload
        + packet_checksum(pid, length, payload).to_bytes(2, "big")
    )


class PacketDecoder:
    """Incremental packet decoder shared by the driver and the simulator: resyncs on ``EF 01``."""

    HEADER = 9  # start(2) + addr(4) + pid(1) + len(2)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        return len(self._buf)

    def needed(self) -> int:
        """Bytes that can be waited for without reading past the packet in progress."""
        start = self._buf.find(START)
        if start < 0:
            return self.HEADER - (1 if self._buf.endswith(START[:1]) else 0)
        have = len(self._buf) - start
        if have < self.HEADER:
            return self.HEADER - have
        length = int.from_bytes(self._buf[start + 7:start + 9], "big")
        return max(1, self.HEADER + length - have)

    def next_packet(self) -> tuple[int, bytes] | None:
        """``(pid, payload)`` of the next whole packet; raises ``checksum_error`` on a corrupt one (consumed)."""
        while True:
            start = self._buf.find(START)
            if start < 0:
                del self._buf[: max(0, len(self._buf) - 1)]
                return None
            del self._buf[:start]
            if len(self._buf) < self.HEADER:
                return None
            length = int.from_bytes(self._buf[7:9], "big")
            if length < 2 or length > 1024:
                del self._buf[:1]
                continue
            if len(self._buf) < self.HEADER + length:
                return None
            pkt = bytes(self._buf[: self.HEADER + length])
            del self._buf[: self.HEADER + length]
            pid, payload, received = pkt[6], pkt[9:-2], int.from_bytes(pkt[-2:], "big")
            if packet_checksum(pid, pkt[7:9], payload) != received:
                raise DeviceError("fingerprint sensor packet failed its checksum", code=ErrorCode.CHECKSUM_ERROR,
                                  status_code=502)
            return pid, payload


def unpack_image(packed: bytes) -> NDArray[np.uint8]:
    """4-bit upload (left pixel in the high nibble) → 288×256 8-bit grey, ``value = nibble × 17``."""
    if len(packed) < PACKED_IMAGE_SIZE:
        raise DeviceError(
            f"fingerprint image stream cut short ({len(packed)} of {PACKED_IMAGE_SIZE} bytes)",
            code=ErrorCode.FRAME_TRUNCATED, status_code=502,
        )
    raw = np.frombuffer(packed[:PACKED_IMAGE_SIZE], dtype=np.uint8)
    out = np.empty(raw.size * 2, dtype=np.uint8)
    out[0::2] = raw >> 4
    out[1::2] = raw & 0x0F
    return (out * 17).reshape(IMAGE_HEIGHT, IMAGE_WIDTH)


def pack_image(image: NDArray[np.uint8]) -> bytes:
    """8-bit 288×256 grey → the sensor's 4-bit stream (``v >> 4``); the simulators' side of :func:`unpack_image`."""
    if image.shape != (IMAGE_HEIGHT, IMAGE_WIDTH):
        raise ValueError(f"expected a {IMAGE_HEIGHT}x{IMAGE_WIDTH} image")
    nib = (image.astype(np.uint8) >> 4).reshape(-1)
    return bytes(((nib[0::2] << 4) | nib[1::2]).astype(np.uint8).tobytes())


@dataclass(frozen=True)
class SystemParameters:
    status: int
    system_id: int
    capacity: int
    security_level: int
    address: int
    packet_size: int
    baud: int


@dataclass(frozen=True)
class SearchResult:
    position: int
    score: int


class ZhianTecSensor:
    """One sensor on a serial port. Not thread-safe: the device manager serialises calls.

    Every method returns or raises a :class:`DeviceError` (with its error code) within its deadline."""

    def __init__(
        self,
        port: str,
        baud: int = 57600,
        *,
        password: int = 0,
        address: int = DEFAULT_ADDRESS,
        poll_interval: float = 0.05,
        fast_baud: int | None = None,
    ) -> None:
        for rate in (baud, fast_baud or baud):
            if rate % 9600 or not 9600 <= rate <= 115200:
                raise ValueError("baud must be a multiple of 9600 between 9600 and 115200")
        self.port = port
        self.baud = baud
        self.fast_baud = fast_baud
        self.password = password
        self.address = address
        self.poll_interval = poll_interval
        self._link: SerialLink | None = None

    @property
    def name(self) -> str:
        return f"zhiantec:{self.port}"

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the port and verify the password (the module refuses most commands before that).

        With ``fast_baud`` set, a module found at a slower rate is switched to it: an image upload (~40 kB on the
        wire) takes 7 s at 57,600 baud and 3.5 s at 115,200, the difference a nurse waits per finger. A module
        already switched (the rate survives a power cycle) is found at ``fast_baud`` when the configured rate
        gets no answer. A module that refuses the switch keeps working at its rate."""
        if self._link is not None:
            return
        try:
            self._handshake()
        except DeviceError as exc:
            if not self.fast_baud or self.fast_baud == self.baud or exc.code not in {ErrorCode.DEVICE_TIMEOUT,
                                                                                     ErrorCode.FRAME_TRUNCATED,
                                                                                     ErrorCode.DEVICE_ERROR}:
                raise
            configured, self.baud = self.baud, self.fast_baud
            try:
                self._handshake()
            except DeviceError:
                self.baud = configured
                raise exc from None
            log.info("fingerprint.baud_found", baud=self.baud, configured=configured)
        if self.fast_baud and self.baud < self.fast_baud:
            self.switch_baud(self.fast_baud)

    def _handshake(self) -> None:
        self._link = SerialLink(self.port, self.baud, label="fingerprint sensor")
        try:
            code, _ = self.command(VFY_PWD, self.password.to_bytes(4, "big"))
            self._raise_for(code)
        except DeviceError:
            self.close()
            raise

    def switch_baud(self, baud: int) -> bool:
        """Ask the module to talk at ``baud`` (SetSysPara register 4) and follow it; False, and the old rate kept,
        when it refuses or does not answer at the new rate."""
        if baud % 9600 or not 9600 <= baud <= FASTEST_BAUD:
            raise ValueError("baud must be a multiple of 9600 between 9600 and 115200")
        old = self.baud
        code, _ = self.command(SET_SYS_PARA, bytes([BAUD_REGISTER, baud // 9600]))
        if code != OK:
            log.info("fingerprint.baud_switch_refused", baud=baud, code=code)
            return False
        self.close()
        self.baud = baud
        try:
            self._handshake()
        except DeviceError:
            # it said yes but does not answer there: go back to where it last answered
            self.baud = old
            self._handshake()
            log.warning("fingerprint.baud_switch_failed", baud=baud)
            return False
        log.info("fingerprint.baud_switched", baud=baud, was=old)
        return True

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def __enter__(self) -> ZhianTecSensor:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect_baud(self, candidates: tuple[int, ...] = (57600, 115200, 9600, 19200, 38400)) -> int | None:
        """The first baud rate at which the module acknowledges a handshake (whatever the password verdict),
        or None. Tells an admin which ``IDVERIFY_FINGERPRINT_BAUD`` to set; the configuration is not changed."""

        def handshake() -> None:  # not open(): any answer counts here, even "wrong password"
            self._link = SerialLink(self.port, self.baud, label="fingerprint sensor")
            self.command(VFY_PWD, self.password.to_bytes(4, "big"))

        return detect_baud(self, candidates, handshake)

    # --- packet layer ------------------------------------------------------------------------------------------
    def _transfer_time(self, n_bytes: int) -> float:
        return n_bytes * 10.0 / self.baud

    def _read_packet(self, decoder: PacketDecoder, timeout: float) -> tuple[int, bytes]:
        assert self._link is not None
        deadline = time.monotonic() + timeout
        while True:
            pkt = decoder.next_packet()
            if pkt is not None:
                return pkt
            chunk = self._link.read_exact(decoder.needed(), deadline)
            if not chunk:
                if decoder.pending:
                    raise DeviceError(
                        f"fingerprint sensor sent an incomplete packet within {timeout:.1f} s",
                        code=ErrorCode.FRAME_TRUNCATED, status_code=502,
                    )
                raise DeviceError(
                    f"fingerprint sensor did not answer within {timeout:.1f} s", code=ErrorCode.DEVICE_TIMEOUT,
                    status_code=504,
                )
            decoder.feed(chunk)

    def command(self, instruction: int, params: bytes = b"", *, decoder: PacketDecoder | None = None) -> tuple[
        int, bytes
    ]:
        """Send an instruction; return ``(confirmation code, result bytes)`` from its ACK."""
        if self._link is None:
            self.open()
        assert self._link is not None
        self._link.discard_input()
        self._link.write(encode_packet(PID_COMMAND, bytes([instruction, *params]), self.address))
        decoder = decoder or PacketDecoder()
        pid, payload = self._read_packet(decoder, ACK_TIMEOUT + self._transfer_time(64))
        if pid != PID_ACK or not payload:
            raise DeviceError("fingerprint sensor answered with an unexpected packet", code=ErrorCode.DEVICE_ERROR,
                              status_code=502)
        return payload[0], payload[1:]

    @staticmethod
    def _raise_for(code: int) -> None:
        if code == OK:
            return
        spec, message = _CONFIRMATION.get(code, (ErrorCode.DEVICE_ERROR, "sensor returned an unexpected code"))
        raise DeviceError(f"{message} (0x{code:02X})", code=spec, status_code=422)

    # --- capture -----------------------------------------------------------------------------------------------
    def finger_present(self) -> bool:
        """Take an image into the sensor's buffer if a finger is on it (GenImg); False when there is none."""
        code, _ = self.command(GEN_IMG)
        if code == NO_FINGER:
            return False
        self._raise_for(code)
        return True

    def wait_for_finger(self, timeout: float) -> None:
        """Poll until a finger is imaged, or raise ``capture_timeout`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.finger_present():
            if time.monotonic() >= deadline:
                raise DeviceTimeout(f"no finger placed within {timeout:.0f} s")
            time.sleep(self.poll_interval)

    def wait_for_removal(self, timeout: float) -> bool:
        """True once the finger is lifted (needed between two enrolment shots); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.finger_present():
            if time.monotonic() >= deadline:
                return False
            time.sleep(self.poll_interval)
        return True

    def upload_image(self) -> NDArray[np.uint8]:
        """Transfer the image buffer to the host (UpImage) and unpack it to 288×256 8-bit grey."""
        decoder = PacketDecoder()
        code, _ = self.command(UP_IMAGE, decoder=decoder)
        self._raise_for(code)
        data = bytearray()
        # Whole-transfer bound: the wire time of ~40 kB at this baud rate, doubled, plus the packet gap.
        deadline = time.monotonic() + 2 * self._transfer_time(PACKED_IMAGE_SIZE + 3200) + PACKET_GAP
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceError("fingerprint image upload too slow", code=ErrorCode.DEVICE_TIMEOUT, status_code=504)
            try:
                pid, payload = self._read_packet(decoder, min(PACKET_GAP, remaining))
            except DeviceError as exc:
                if exc.code == ErrorCode.DEVICE_TIMEOUT and data:
                    raise unpack_error(len(data)) from None
                raise
            if pid not in (PID_DATA, PID_END):
                raise DeviceError("unexpected packet in the image stream", code=ErrorCode.DEVICE_ERROR, status_code=502)
            data += payload
            if pid == PID_END:
                return unpack_image(bytes(data))

    def capture_image(self, timeout: float) -> NDArray[np.uint8]:
        """Wait for a finger (``capture_timeout`` after ``timeout`` s) and upload its image."""
        self.wait_for_finger(timeout)
        image = self.upload_image()
        log.info("fingerprint_captured", sensor=self.port)
        return image

    # --- on-sensor fallback and housekeeping -------------------------------------------------------------------
    def system_parameters(self) -> SystemParameters:
        code, d = self.command(READ_SYS_PARA)
        self._raise_for(code)
        if len(d) < 16:
            raise DeviceError("short system-parameter answer", code=ErrorCode.DEVICE_ERROR, status_code=502)

        def u16(i: int) -> int:
            return int.from_bytes(d[i:i + 2], "big")

        sizes = {0: 32, 1: 64, 2: 128, 3: 256}
        return SystemParameters(
            status=u16(0), system_id=u16(2), capacity=u16(4), security_level=u16(6),
            address=int.from_bytes(d[8:12], "big"), packet_size=sizes.get(u16(12), 128), baud=u16(14) * 9600,
        )

    def to_template(self, buffer: int = 1) -> None:
        """Extract the sensor's own features from the image buffer into CharBuffer 1 or 2 (Img2Tz)."""
        code, _ = self.command(IMG2TZ, bytes([buffer]))
        self._raise_for(code)

    def create_model(self) -> bool:
        """Merge CharBuffer 1 and 2 (two shots of one finger); False when they do not match."""
        code, _ = self.command(REG_MODEL)
        if code == 0x0A:
            return False
        self._raise_for(code)
        return True

    def store(self, position: int, buffer: int = 1) -> None:
        code, _ = self.command(STORE, bytes([buffer]) + position.to_bytes(2, "big"))
        self._raise_for(code)

    def search(self, buffer: int = 1, start: int = 0, count: int | None = None) -> SearchResult | None:
        """1:N search on the sensor's flash library; None when nothing matches."""
        if count is None:
            count = self.system_parameters().capacity
        code, d = self.command(SEARCH, bytes([buffer]) + start.to_bytes(2, "big") + count.to_bytes(2, "big"))
        if code == NOT_FOUND:
            return None
        self._raise_for(code)
        return SearchResult(int.from_bytes(d[0:2], "big"), int.from_bytes(d[2:4], "big"))

    def template_count(self) -> int:
        code, d = self.command(TEMPLATE_NUM)
        self._raise_for(code)
        return int.from_bytes(d[0:2], "big")

    def delete(self, position: int, count: int = 1) -> None:
        code, _ = self.command(DELETE, position.to_bytes(2, "big") + count.to_bytes(2, "big"))
        self._raise_for(code)

    def clear_library(self) -> None:
        code, _ = self.command(EMPTY)
        self._raise_for(code)

    def led(self, on: bool, colour: int = 0x02) -> bool:
        """Ring LED where the module has one (R503: AuraLedConfig); False on modules without it."""
        code, _ = self.command(AURA_LED, bytes([0x03 if on else 0x04, 0x00, colour, 0x00]))
        return code == OK


def unpack_error(received: int) -> DeviceError:
    return DeviceError(
        f"fingerprint image stream stopped after {received} of {PACKED_IMAGE_SIZE} bytes",
        code=ErrorCode.FRAME_TRUNCATED, status_code=502,
    )
