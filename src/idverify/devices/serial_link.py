"""A serial byte link with deadlines: the one place that talks to pyserial.

Owns: opening a port (real ``/dev/ttyUSB0``, a pty slave from the simulators, or any pyserial URL such as
``socket://``), reading with an overall deadline instead of pyserial's per-call timeout, and turning OS/pyserial
failures into :class:`~idverify.errors.DeviceUnavailable`. Drivers (GA 467, ZhianTec) build their frames on top
and never see a ``SerialException``; nor does a person: the error's message names the device and the port, the
exception's class goes to the log only (``serial.open_failed`` / ``serial.lost``). Nothing here can block longer
than the deadline it is given.
"""

from __future__ import annotations

import termios
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import structlog

from idverify.errors import DeviceError, DeviceUnavailable, ErrorCode

log = structlog.get_logger(__name__)

#: What pyserial lets escape when a device vanishes (termios.error is not an OSError).
_LOST = (OSError, termios.error)

#: Granularity of a blocking read; bounds how late a deadline can be noticed.
_POLL_S = 0.02


class SerialLink:
    """An open serial port. ``read_exact`` returns what arrived before the deadline (possibly short)."""

    def __init__(self, port: str, baud: int, *, label: str) -> None:
        import serial

        self.port = port
        self.label = label
        try:
            self._serial: Any = serial.serial_for_url(port, baudrate=baud, timeout=_POLL_S, write_timeout=2.0)
        except (serial.SerialException, ValueError, *_LOST) as exc:
            log.warning("serial.open_failed", device=label, port=port, error=exc.__class__.__name__)
            raise DeviceUnavailable(f"{label}: cannot open {port}") from None

    def _lost(self, exc: Exception) -> DeviceUnavailable:
        log.warning("serial.lost", device=self.label, port=self.port, error=exc.__class__.__name__)
        return DeviceUnavailable(f"{self.label}: connection to {self.port} lost")

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, *_LOST) as exc:
            raise self._lost(exc) from None

    def discard_input(self) -> None:
        """Drop stale bytes (a late answer to a previous, timed-out command)."""
        import serial

        try:
            self._serial.reset_input_buffer()
        except (serial.SerialException, *_LOST) as exc:
            raise self._lost(exc) from None

    def read_exact(self, n: int, deadline: float) -> bytes:
        """Up to ``n`` bytes, returning early only when ``time.monotonic()`` passes ``deadline``."""
        import serial

        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self._serial.read(n - len(buf))
            except (serial.SerialException, *_LOST) as exc:
                raise self._lost(exc) from None
            if chunk:
                buf += chunk
            elif time.monotonic() >= deadline:
                break
        return bytes(buf)

    def close(self) -> None:
        try:
            self._serial.close()
        except Exception:  # closing a vanished device must not raise over the real error
            return


class BaudDevice(Protocol):
    """A serial driver whose rate can be changed between connections."""

    baud: int

    def close(self) -> None: ...


def detect_baud(device: BaudDevice, candidates: Iterable[int], probe: Callable[[], object]) -> int | None:
    """The first rate in ``candidates`` at which ``probe()`` gets an answer from ``device``, or None.

    Shared by the GA 467 and ZhianTec drivers: each rate starts from a closed port, a garbled or missing answer
    moves on to the next rate, an unplugged device stops the search (no rate can help), and the device's
    configured rate is restored afterwards — this tells an admin what to set, it never changes the setting.
    """
    original = device.baud
    try:
        for baud in candidates:
            device.close()
            device.baud = baud
            try:
                probe()
            except DeviceError as exc:
                if exc.code == ErrorCode.DEVICE_UNAVAILABLE:
                    raise
                continue
            return baud
        return None
    finally:
        device.close()
        device.baud = original
