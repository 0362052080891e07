"""The device manager: the async facade the REST routes, the workflow and the CLI use for every device.

Owns: the lifecycle of one workstation's devices — starting the injected :class:`~idverify.devices.registry.
DeviceWiring` (the demo's simulators), opening every registered driver that is configured, stopping them again —
running all blocking I/O in worker threads, the hot-plug monitor, the health list, and the operations (read a
document, capture a finger, grab frames) with :class:`~idverify.errors.DeviceError` and its stable codes.
Must not touch: wire protocols, locking and backoff (:mod:`idverify.devices.slots`), which devices exist
(:mod:`idverify.devices.drivers` and the registry: a new device needs no edit here unless it adds an operation),
and where simulators come from (injected; this package never imports ``hardware_fixtures``). Devices know nothing
of patients: nothing here logs or stores what a device returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from idverify.config import Settings
from idverify.devices.drivers import CameraHandle, PcscHandle, builtin_registry
from idverify.devices.health import DeviceHealth, detected_serial_ports, not_configured
from idverify.devices.registry import DeviceHandle, DeviceWiring, DriverRegistry, Endpoints
from idverify.devices.slots import SerialSlot
from idverify.errors import DeviceError, DeviceUnavailable, ErrorCode

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from idverify.devices.camera import Camera, Frame
    from idverify.devices.ga467 import Ga467Reader
    from idverify.devices.zhiantec import ZhianTecSensor
    from idverify.documents.model import IdentityDocument
    from idverify.documents.mrz import BacKeys

log = structlog.get_logger(__name__)

T = TypeVar("T")


class DeviceManager:
    """All devices of one workstation. Create with settings, ``await start()``, ``await stop()`` at shutdown.

    ``wiring`` starts devices the runtime provides (the demo's simulators); ``registry`` lists the drivers
    (default: the built-in ones)."""

    def __init__(self, settings: Settings, *, wiring: DeviceWiring | None = None,
                 registry: DriverRegistry | None = None) -> None:
        self.settings = settings
        self.wiring = wiring
        self.registry = registry or builtin_registry()
        #: The wiring's handles for a demo's controls (``simulators["people"]``); empty without a wiring.
        self.simulators: Mapping[str, Any] = {}
        self._devices: dict[str, DeviceHandle] = {}  # by kind, in registry order
        self._monitor: asyncio.Task[None] | None = None
        self.started = False

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start_sync(self) -> None:
        """Start the wiring (if any) and open every configured driver. Opens no serial port: that happens on first
        use or health check, so a missing device never blocks start-up."""
        if self.started:
            return
        endpoints = self.wiring.start() if self.wiring is not None else Endpoints()
        self.simulators = endpoints.simulators
        for driver in self.registry:
            endpoint = endpoints.at[driver.name] if driver.name in endpoints.at else driver.endpoint(self.settings)
            if endpoint is not None:
                self._devices[driver.kind] = driver.open(endpoint, self.settings, endpoints)
        self.started = True
        log.info("devices_started", simulate=self.settings.simulate)

    def stop_sync(self) -> None:
        for handle in self._devices.values():
            handle.close()
        if self.wiring is not None:
            self.wiring.stop()
        self.simulators = {}
        self.started = False

    async def start(self, *, monitor_interval: float | None = 5.0) -> None:
        await asyncio.to_thread(self.start_sync)
        # One probe now, so /healthz reports real states from the first request instead of "not checked yet".
        await asyncio.to_thread(self.probe_sync)
        if monitor_interval:
            self._monitor = asyncio.create_task(self._watch(monitor_interval))

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        await asyncio.to_thread(self.stop_sync)

    async def _watch(self, interval: float) -> None:
        """Hot-plug: probe devices that are down (respecting their backoff) so they come back on their own."""
        while True:
            await asyncio.sleep(interval)
            for handle in list(self._devices.values()):
                if handle.wants_probe():
                    await asyncio.to_thread(handle.probe)

    # --- health ------------------------------------------------------------------------------------------------
    def probe_sync(self) -> list[DeviceHealth]:
        """Talk to every device now, then report (blocking; use :meth:`check_health` from async code)."""
        for handle in list(self._devices.values()):
            handle.probe()
        return self.health()

    async def check_health(self) -> list[DeviceHealth]:
        return await asyncio.to_thread(self.probe_sync)

    def health(self) -> list[DeviceHealth]:
        """Last known state of every registered device, without touching hardware (cheap; safe on the loop)."""
        out: list[DeviceHealth] = []
        ports: list[str] | None = None
        for driver in self.registry:
            handle = self._devices.get(driver.kind)
            if handle is not None:
                out.append(handle.health())
                continue
            if driver.serial and ports is None:
                ports = detected_serial_ports()
            out.append(not_configured(driver.kind, driver.setting, ports if driver.serial and ports else ()))
        return out

    # --- operations --------------------------------------------------------------------------------------------
    def _missing(self, kind: str, what: str) -> DeviceUnavailable:
        driver = self.registry.of_kind(kind)
        return DeviceUnavailable(f"no {what} configured ({driver.setting if driver else f'no {kind} driver'})")

    def _serial(self, kind: str, what: str) -> SerialSlot[Any]:
        handle = self._devices.get(kind)
        if not isinstance(handle, SerialSlot):
            raise self._missing(kind, what)
        return handle

    def read_document_sync(self, mrz_keys: BacKeys | None = None, wait: float = 0.0) -> IdentityDocument:
        if mrz_keys is not None or ("id_reader" not in self._devices and "card_reader" in self._devices):
            return self._read_emrtd(mrz_keys, wait)
        slot = self._serial("id_reader", "ID-card reader")
        reader: Callable[[Ga467Reader], IdentityDocument] = lambda r: r.read_document(wait=wait)  # noqa: E731
        return slot.call(reader)

    def _read_emrtd(self, mrz_keys: BacKeys | None, wait: float = 0.0) -> IdentityDocument:
        handle = self._devices.get("card_reader")
        if not isinstance(handle, PcscHandle):
            raise self._missing("card_reader", "PC/SC reader")
        if mrz_keys is None:
            raise DeviceError(
                "an eMRTD needs the document number, birth date and expiry date (BAC)", code=ErrorCode.MRZ_REQUIRED,
                status_code=422,
            )
        return handle.read(mrz_keys, wait)

    def read_id_card_sync(self) -> IdentityDocument:
        """Read the card on the GA 467 reader, and only there (IT's test of that reader: never the PC/SC one)."""
        slot = self._serial("id_reader", "ID-card reader")
        reader: Callable[[Ga467Reader], IdentityDocument] = lambda r: r.read_document(wait=0.0)  # noqa: E731
        return slot.call(reader)

    async def read_id_card(self) -> IdentityDocument:
        return await asyncio.to_thread(self.read_id_card_sync)

    def test_card_reader_sync(self) -> tuple[str, bool]:
        """IT's test of the PC/SC reader, and only of it: its name and whether a card is in its field
        (``device_unavailable`` saying why when it is not there; it never answers with the GA 467's card)."""
        handle = self._devices.get("card_reader")
        if not isinstance(handle, PcscHandle):
            raise self._missing("card_reader", "PC/SC reader")
        return handle.test()

    async def test_card_reader(self) -> tuple[str, bool]:
        return await asyncio.to_thread(self.test_card_reader_sync)

    async def read_document(self, mrz_keys: BacKeys | None = None, wait: float = 0.0) -> IdentityDocument:
        """Read the document on the reader: GA 467 (Chinese cards) or, with BAC keys, an eMRTD over PC/SC.

        ``wait``: seconds to wait for a document to be placed before ``no_card``."""
        return await asyncio.to_thread(self.read_document_sync, mrz_keys, wait)

    def capture_fingerprint_sync(self, timeout: float = 10.0) -> NDArray[np.uint8]:
        slot = self._serial("fingerprint", "fingerprint sensor")

        def capture(sensor: ZhianTecSensor) -> NDArray[np.uint8]:
            sensor.open()
            return sensor.capture_image(timeout)

        return slot.call(capture)

    async def capture_fingerprint(self, timeout: float = 10.0) -> NDArray[np.uint8]:
        """Wait up to ``timeout`` s for a finger and return its 288×256 grey image (``capture_timeout``)."""
        return await asyncio.to_thread(self.capture_fingerprint_sync, timeout)

    def with_fingerprint_sensor_sync(self, fn: Callable[[ZhianTecSensor], T]) -> T:
        """Run ``fn(sensor)`` with exclusive use of the open sensor: the door to the on-sensor fallback
        (``to_template``/``store``/``search``) and LED control without widening this class for each."""
        slot = self._serial("fingerprint", "fingerprint sensor")

        def run(sensor: ZhianTecSensor) -> T:
            sensor.open()
            return fn(sensor)

        return slot.call(run)

    async def with_fingerprint_sensor(self, fn: Callable[[ZhianTecSensor], T]) -> T:
        return await asyncio.to_thread(self.with_fingerprint_sensor_sync, fn)

    def _cam(self) -> Camera:
        handle = self._devices.get("camera")
        if not isinstance(handle, CameraHandle):
            raise self._missing("camera", "camera")
        return handle.camera

    async def grab_frame(self, timeout: float = 2.0) -> Frame:
        """A frame grabbed after the call (``no_frame`` / ``device_unavailable`` after ``timeout`` s)."""
        return await asyncio.to_thread(self._cam().fresh_frame, timeout)

    def frame_mark(self) -> int:
        """The camera's newest frame index: pass it to :meth:`frames_since` to get only later frames."""
        return self._cam().newest_index()

    def frames_since(self, mark: int, n: int, timeout: float = 2.0) -> list[Frame]:
        """``n`` frames grabbed after ``mark`` (see :meth:`Camera.frames_since`)."""
        return self._cam().frames_since(mark, n, timeout)

    def recent_frames(self, n: int | None = None) -> list[Frame]:
        """The camera's ring buffer, oldest first (for liveness)."""
        return self._cam().recent(n)

    async def preview_jpeg(self, quality: int = 80) -> bytes:
        from idverify.devices.camera import encode_jpeg

        cam = self._cam()
        frame = await asyncio.to_thread(cam.wait_frame, 2.0)
        return await asyncio.to_thread(encode_jpeg, frame.image, quality)
