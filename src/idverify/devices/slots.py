"""Serialised access to one serial device, and reconnecting it with backoff when it is lost (hot-plug).

Owns: the per-device lock (one command at a time on a wire), exponential backoff between reconnection attempts,
closing a device after a lost connection or a garbled frame so the next call reopens it cleanly, and the serial
half of health: probing under the lock without queueing behind a capture, and — when a reader stays silent —
finding the baud rate it answers at. :class:`SerialSlot` is the :class:`~idverify.devices.registry.DeviceHandle`
of every serial driver.
Must not touch: frame protocols (the drivers in ``ga467``/``zhiantec``), the event loop (the manager runs these
blocking calls in worker threads), or anything a device returned: nothing here logs or keeps it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import structlog

from idverify.devices.health import DeviceHealth, DeviceStatus
from idverify.errors import DeviceError, DeviceUnavailable, ErrorCode

log = structlog.get_logger(__name__)

T = TypeVar("T")

MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0


class SerialDevice(Protocol):
    """What a serial driver object offers (:class:`~idverify.devices.ga467.Ga467Reader`,
    :class:`~idverify.devices.zhiantec.ZhianTecSensor`): a name, its configured rate, close, and a baud search."""

    baud: int

    @property
    def name(self) -> str: ...

    def close(self) -> None: ...

    def detect_baud(self) -> int | None: ...


D = TypeVar("D", bound=SerialDevice)


class Backoff:
    """Exponential backoff between reconnection attempts: 0.5 s, 1 s, 2 s … capped at ``MAX_BACKOFF``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.delay = 0.0
        self.not_before = 0.0
        self.last_error: str | None = None

    def ready(self) -> bool:
        return self._clock() >= self.not_before

    def failed(self, message: str) -> None:
        self.delay = MIN_BACKOFF if self.delay == 0 else min(self.delay * 2, MAX_BACKOFF)
        self.not_before = self._clock() + self.delay
        self.last_error = message

    def succeeded(self) -> None:
        self.delay, self.not_before, self.last_error = 0.0, 0.0, None

    def retry_in(self) -> float:
        return max(0.0, self.not_before - self._clock())


class SerialSlot(Generic[D]):
    """A serial device, its lock and its reconnection state.

    ``check`` is the driver's probe (a status query the device must answer); ``what`` and ``baud_setting`` word
    the hint when the device answers at another rate ("reader answers at 9600 baud; set …=9600")."""

    def __init__(self, kind: str, port: str, device: D, *, check: Callable[[D], object], what: str,
                 baud_setting: str) -> None:
        self.kind = kind
        self.port = port
        self.device = device
        self.check = check
        self.what = what
        self.baud_setting = baud_setting
        self.lock = threading.Lock()
        self.backoff = Backoff()
        self.last_status: DeviceStatus = "unavailable"
        self.last_detail: str | None = "not checked yet"
        # what last_detail says as a stable word (an error code, ``not_checked``, ``wrong_baud``) and its values,
        # for a screen to say in its own language
        self.last_code: str | None = "not_checked"
        self.last_args: dict[str, str] = {}

    # --- serialised access -------------------------------------------------------------------------------------
    def call(self, fn: Callable[[D], T]) -> T:
        """Run ``fn(device)`` under the device lock; on a lost device close it and schedule a reconnect."""
        with self.lock:
            return self._call_locked(fn)

    def try_call(self, fn: Callable[[D], T]) -> T | None:
        """Like :meth:`call` but returns None at once when the device is busy (a capture is waiting for a
        finger): a health probe must not queue behind a 10-second capture, and a busy device is alive."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            return self._call_locked(fn)
        finally:
            self.lock.release()

    def _call_locked(self, fn: Callable[[D], T]) -> T:
        if not self.backoff.ready():
            raise DeviceUnavailable(
                f"{self.kind} unavailable ({self.backoff.last_error}); retrying in {self.backoff.retry_in():.1f} s"
            )
        try:
            result = fn(self.device)
        except DeviceUnavailable as exc:
            self.device.close()
            self.backoff.failed(exc.message)
            self.last_status, self.last_detail = "unavailable", exc.message
            self._code(exc.code)
            log.warning("device_lost", kind=self.kind, retry_in=self.backoff.delay)
            raise
        except DeviceError as exc:
            if exc.code in (ErrorCode.DEVICE_TIMEOUT, ErrorCode.CHECKSUM_ERROR, ErrorCode.FRAME_TRUNCATED):
                # Resynchronise: the next call reopens the port from a clean state.
                self.device.close()
                self.last_status, self.last_detail = "error", exc.message
                self._code(exc.code)
            raise
        self.backoff.succeeded()
        self.last_status, self.last_detail = "ok", None
        self._code(None)
        return result

    # --- health (DeviceHandle) ---------------------------------------------------------------------------------
    def probe(self) -> None:
        try:
            self.try_call(self.check)
        except DeviceError as exc:
            if self.last_status == "ok":  # an error outside the reconnect path (e.g. wrong password)
                self.last_status, self.last_detail = "error", f"{exc.code}: {exc.message}"
                self._code(exc.code)
            elif self.last_detail is None or exc.code != ErrorCode.DEVICE_UNAVAILABLE:
                self.last_detail = f"{exc.code}: {exc.message}"
                self._code(exc.code)
            if exc.code == ErrorCode.DEVICE_TIMEOUT:
                self._baud_hint()

    def _baud_hint(self) -> None:
        """A silent reader is most often one set to another speed: find it and say so in the health detail."""
        try:
            with self.lock:
                found = self.device.detect_baud()
        except DeviceError:
            return
        if found is not None and found != self.device.baud:
            self.last_status = "error"
            self.last_detail = f"{self.what} answers at {found} baud; set {self.baud_setting}={found}"
            self._code("wrong_baud", baud=str(found), setting=self.baud_setting)

    def _code(self, code: str | None, **args: str) -> None:
        self.last_code, self.last_args = (str(code) if code is not None else None), args

    def health(self) -> DeviceHealth:
        return DeviceHealth(self.kind, self.device.name, self.last_status, self.last_detail, self.last_code,
                            dict(self.last_args))

    def wants_probe(self) -> bool:
        return self.last_status != "ok" and self.backoff.ready()

    def close(self) -> None:
        with self.lock:
            self.device.close()
