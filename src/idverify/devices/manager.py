"""The device manager: one object owning every configured device, safe to call from the event loop.

Owns: building drivers from :class:`~idverify.config.Settings` (GA 467 reader, PC/SC eMRTD reader, ZhianTec
sensor, camera), starting the simulators instead when ``simulate`` is set, serialising access to each device,
running all blocking I/O in worker threads, reconnecting lost devices with exponential backoff (hot-plug), and
reporting health. Callers (CLI, REST routes, workflow) see only async methods and :class:`DeviceError` with SPEC
codes. Devices know nothing of patients: nothing here logs or stores what a device returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import structlog

from idverify.config import Settings
from idverify.errors import DeviceError, DeviceUnavailable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from idverify.devices.camera import Camera, Frame
    from idverify.devices.ga467 import Ga467Reader
    from idverify.devices.zhiantec import ZhianTecSensor
    from idverify.documents.model import IdentityDocument
    from idverify.documents.mrz import BacKeys

log = structlog.get_logger(__name__)

DeviceKind = Literal["card_reader", "id_reader", "fingerprint", "camera"]
DeviceStatus = Literal["ok", "unavailable", "error"]
T = TypeVar("T")

MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class DeviceHealth:
    """One line of ``idverify devices`` / the health endpoint."""

    kind: DeviceKind
    name: str
    status: DeviceStatus
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class SimulationAssets:
    """What the simulators serve. ``None`` picks the defaults: the bundled made-up cards, and for images the
    public samples beside a source checkout (``../shared/data``) or synthetic patterns when those are absent."""

    cards: list[dict[str, str]] | None = None
    fingerprint_images: Path | None = None
    camera_images: Path | None = None
    auto_finger: bool = True
    #: Simulated people (``hardware_fixtures.personas``: card + face + fingers) with the default cards; presented
    #: through ``simulators["people"]`` or, in the demo, the nurse UI's "Simulated patient" panel.
    personas: bool = True
    #: Also insert the eMRTD engineer's virtual passport into pcscd's vpcd reader (when pcscd and vpcd exist).
    emrtd: bool = True


class _Backoff:
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


@dataclass
class _SerialSlot:
    """A serial device, its lock and its reconnection state."""

    kind: DeviceKind
    port: str
    driver: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    backoff: _Backoff = field(default_factory=_Backoff)
    last_status: DeviceStatus = "unavailable"
    last_detail: str | None = "not checked yet"

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(driver)`` under the device lock; on a lost device close it and schedule a reconnect."""
        with self.lock:
            return self._call_locked(fn)

    def try_call(self, fn: Callable[[Any], T]) -> T | None:
        """Like :meth:`call` but returns None at once when the device is busy (a capture is waiting for a
        finger): a health probe must not queue behind a 10-second capture, and a busy device is alive."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            return self._call_locked(fn)
        finally:
            self.lock.release()

    def _call_locked(self, fn: Callable[[Any], T]) -> T:
        if not self.backoff.ready():
            raise DeviceUnavailable(
                f"{self.kind} unavailable ({self.backoff.last_error}); retrying in {self.backoff.retry_in():.1f} s"
            )
        try:
            result = fn(self.driver)
        except DeviceUnavailable as exc:
            self.driver.close()
            self.backoff.failed(exc.message)
            self.last_status, self.last_detail = "unavailable", exc.message
            log.warning("device_lost", kind=self.kind, retry_in=self.backoff.delay)
            raise
        except DeviceError as exc:
            if exc.code in ("device_timeout", "checksum_error", "frame_truncated"):
                # Resynchronise: the next call reopens the port from a clean state.
                self.driver.close()
                self.last_status, self.last_detail = "error", exc.message
            raise
        self.backoff.succeeded()
        self.last_status, self.last_detail = "ok", None
        return result


def _fixtures_importable() -> None:
    """Make ``hardware_fixtures`` importable from a source checkout (it is not part of the wheel)."""
    try:
        import hardware_fixtures  # noqa: F401
    except ImportError:
        root = Path(__file__).resolve().parents[3]
        if not (root / "hardware_fixtures" / "__init__.py").is_file():
            raise DeviceUnavailable("device simulators need a source checkout (hardware_fixtures/)") from None
        sys.path.insert(0, str(root))


def detected_serial_ports() -> list[str]:
    """USB-serial adapters present now (``/dev/ttyUSB*``, ``/dev/ttyACM*``…), to help an admin configure ports."""
    try:
        from serial.tools import list_ports

        return sorted(p.device for p in list_ports.comports())
    except Exception:  # enumeration is a convenience; never fail a health check over it
        return []


def _pcsc() -> Any:
    """The eMRTD engineer's PC/SC driver, imported late: pyscard needs libpcsclite at import time."""
    return importlib.import_module("idverify.devices.pcsc")


def _default_shared(sub: str) -> Path | None:
    path = Path(__file__).resolve().parents[4] / "shared" / "data" / sub
    return path if path.exists() else None


class DeviceManager:
    """All devices of one workstation. Create with settings, ``await start()``, ``await stop()`` at shutdown."""

    def __init__(self, settings: Settings, *, assets: SimulationAssets | None = None) -> None:
        self.settings = settings
        self.assets = assets or SimulationAssets()
        self.simulators: dict[str, Any] = {}
        self._id_reader: _SerialSlot | None = None
        self._fingerprint: _SerialSlot | None = None
        self._camera: Camera | None = None
        self._camera_error: str | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._tmp: Any = None
        self._pcsc_name: str | None = settings.pcsc_reader
        self._pcsc_lock = threading.Lock()
        self._csca_dir: Path | None = settings.csca_dir
        self.started = False

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start_sync(self) -> None:
        """Start simulators (if ``simulate``), build drivers and start the camera thread. Opens no serial port:
        that happens on first use or health check, so a missing device never blocks start-up."""
        if self.started:
            return
        s = self.settings
        id_port, fp_port, camera_source = s.id_reader_port, s.fingerprint_port, None
        if s.simulate:
            id_port, fp_port, camera_source = self._start_simulators()
        if id_port:
            from idverify.devices.ga467 import Ga467Reader
            from idverify.devices.wlt import discover_decoder

            decoder = None
            try:
                decoder = discover_decoder(s.wlt_library)
            except DeviceError as exc:
                log.warning("wlt_decoder_unavailable", error=exc.message)
            self._id_reader = _SerialSlot("id_reader", id_port, Ga467Reader(id_port, s.id_reader_baud,
                                                                          photo_decoder=decoder))
        if fp_port:
            from idverify.devices.zhiantec import ZhianTecSensor

            sensor = ZhianTecSensor(fp_port, s.fingerprint_baud, password=s.fingerprint_password)
            self._fingerprint = _SerialSlot("fingerprint", fp_port, sensor)
        if camera_source is not None or s.camera:
            from idverify.devices.camera import Camera, open_source

            source = camera_source or open_source(
                str(s.camera), width=s.camera_width, height=s.camera_height, fps=s.camera_fps
            )
            self._camera = Camera(source, fps=s.camera_fps).start()
        self.started = True
        log.info("devices_started", simulate=s.simulate)

    def _start_simulators(self) -> tuple[str, str, Any]:
        import tempfile

        _fixtures_importable()
        from hardware_fixtures.camera import SimulatedCamera
        from hardware_fixtures.ga467 import Ga467Simulator, load_cards
        from hardware_fixtures.personas import PersonaDesk, build_personas
        from hardware_fixtures.synthetic import synthetic_images
        from hardware_fixtures.zhiantec import ZhianTecSimulator

        self._tmp = tempfile.TemporaryDirectory(prefix="idverify-sim-")
        tmp = Path(self._tmp.name)
        a = self.assets
        cards, personas = a.cards, None
        if a.personas and cards is None:
            personas, cards = build_personas(load_cards(), faces_root=_default_shared("face/asian_dev"),
                                             fingers_root=_default_shared("fingerprint/FVC2002_DB1_B"), scratch=tmp)
        ga = Ga467Simulator(cards, link=tmp / "ga467", baud=self.settings.id_reader_baud).start()
        fp_images = a.fingerprint_images or _default_shared("fingerprint/FVC2004_DB4_B") or synthetic_images(tmp)
        zt = ZhianTecSimulator(
            fp_images, link=tmp / "zhiantec", baud=self.settings.fingerprint_baud,
            password=self.settings.fingerprint_password, auto_finger=a.auto_finger,
        ).start()
        cam_images = a.camera_images or _default_shared("face/asian_dev") or synthetic_images(tmp, kind="face")
        cam = SimulatedCamera(cam_images, width=self.settings.camera_width, height=self.settings.camera_height)
        self.simulators = {"ga467": ga, "zhiantec": zt, "camera": cam}
        if personas:
            self.simulators["people"] = PersonaDesk(personas, reader=ga, sensor=zt, camera=cam)
        if a.emrtd:
            self._start_emrtd(tmp)
        return ga.port, zt.port, cam

    def _start_emrtd(self, tmp: Path) -> None:
        """Best effort: the virtual passport needs the real pcscd with vsmartcard's vpcd driver. When they are
        missing the card reader is simply reported unavailable, as on a workstation without one."""
        try:
            # Imported by name: the eMRTD fixtures are another area's test code, not type-checked with ours.
            emrtd = importlib.import_module("hardware_fixtures.emrtd")
            pcscd_mod = importlib.import_module("hardware_fixtures.emrtd.pcscd")
            from idverify.documents.mrz import BacKeys

            reason = pcscd_mod.unavailable_reason()
            if reason is not None:
                log.info("emrtd_simulator_skipped", reason=reason)
                return
            pcscd = pcscd_mod.Pcscd.ensure()
            if _pcsc().PcscReader(pcscd_mod.VPCD_READER).card_present():
                # Another process (an eMRTD test run, another demo) holds the single vpcd slot: leave it alone.
                log.info("emrtd_simulator_skipped", reason="vpcd slot busy")
                pcscd.stop()
                return
            pki = emrtd.TestPki.generate()
            identity = emrtd.TestIdentity()
            keys = BacKeys(identity.document_number, identity.birth_date, identity.expiry_date)
            card = emrtd.VirtualCard(emrtd.EmrtdChip(emrtd.build_files(identity, pki), keys))
            card.insert()
            if not _pcsc().PcscReader(pcscd_mod.VPCD_READER).wait_for_card(5):
                card.remove()
                raise TimeoutError("virtual passport did not appear in the vpcd reader")
        except Exception as exc:  # a demo without a passport is still a demo
            log.warning("emrtd_simulator_unavailable", error=exc.__class__.__name__)
            return
        self._csca_dir = self._write_csca(pki, tmp)
        self._pcsc_name = str(pcscd_mod.VPCD_READER)
        self.simulators.update({"pcscd": pcscd, "emrtd_card": card, "emrtd_identity": identity,
                                "emrtd_keys": keys})

    @staticmethod
    def _write_csca(pki: Any, tmp: Path) -> Path:
        directory = tmp / "csca"
        pki.write_csca(directory)
        return directory

    def stop_sync(self) -> None:
        if self._camera is not None:
            self._camera.stop()
        for slot in (self._id_reader, self._fingerprint):
            if slot is not None:
                with slot.lock:
                    slot.driver.close()
        for name in ("ga467", "zhiantec"):
            sim = self.simulators.get(name)
            if sim is not None:
                sim.stop()
        if "emrtd_card" in self.simulators:
            self.simulators["emrtd_card"].remove()
            self.simulators["pcscd"].stop()  # only stops a pcscd we started
        self.simulators = {}
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
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
            for slot in (self._id_reader, self._fingerprint):
                if slot is not None and slot.last_status != "ok" and slot.backoff.ready():
                    await asyncio.to_thread(self._probe, slot)

    # --- health ------------------------------------------------------------------------------------------------
    @staticmethod
    def _probe(slot: _SerialSlot) -> None:
        def check(driver: Any) -> None:
            if slot.kind == "id_reader":
                driver.sam_id()
            else:
                driver.open()
                driver.system_parameters()

        try:
            slot.try_call(check)
        except DeviceError as exc:
            if slot.last_status == "ok":  # an error outside the reconnect path (e.g. wrong password)
                slot.last_status, slot.last_detail = "error", f"{exc.code}: {exc.message}"
            elif slot.last_detail is None or exc.code != "device_unavailable":
                slot.last_detail = f"{exc.code}: {exc.message}"
            if exc.code == "device_timeout":
                DeviceManager._baud_hint(slot)

    @staticmethod
    def _baud_hint(slot: _SerialSlot) -> None:
        """A silent reader is most often one set to another speed: find it and say so in the health detail."""
        try:
            with slot.lock:
                found = slot.driver.detect_baud()
        except DeviceError:
            return
        if found is not None and found != slot.driver.baud:
            what, setting = (
                ("reader", "IDVERIFY_ID_READER_BAUD") if slot.kind == "id_reader"
                else ("sensor", "IDVERIFY_FINGERPRINT_BAUD")
            )
            slot.last_status = "error"
            slot.last_detail = f"{what} answers at {found} baud; set {setting}={found}"

    def probe_sync(self) -> list[DeviceHealth]:
        """Talk to every serial device now, then report (blocking; use :meth:`check_health` from async code)."""
        for slot in (self._id_reader, self._fingerprint):
            if slot is not None:
                self._probe(slot)
        if self._camera is not None:
            with contextlib.suppress(DeviceError):  # status() below says what went wrong
                self._camera.wait_frame(1.0)
        return self.health()

    async def check_health(self) -> list[DeviceHealth]:
        return await asyncio.to_thread(self.probe_sync)

    def health(self) -> list[DeviceHealth]:
        """Last known state of every device kind, without touching hardware (cheap; safe on the event loop)."""
        out: list[DeviceHealth] = []
        ports = detected_serial_ports() if self._id_reader is None or self._fingerprint is None else []
        serial_devices: tuple[tuple[DeviceKind, _SerialSlot | None, str], ...] = (
            ("id_reader", self._id_reader, "IDVERIFY_ID_READER_PORT"),
            ("fingerprint", self._fingerprint, "IDVERIFY_FINGERPRINT_PORT"),
        )
        for kind, slot, setting in serial_devices:
            if slot is None:
                note = f"not configured ({setting})"
                if ports:
                    note += f"; serial ports present: {', '.join(ports)}"
                out.append(DeviceHealth(kind, "none", "unavailable", note))
            else:
                out.append(DeviceHealth(slot.kind, slot.driver.name, slot.last_status, slot.last_detail))
        out.append(self._pcsc_health())
        if self._camera is None:
            out.append(DeviceHealth("camera", "none", "unavailable", "not configured (IDVERIFY_CAMERA)"))
        else:
            status, problem = self._camera.status()
            out.append(DeviceHealth("camera", self._camera.name, status, problem))
        return out

    def _pcsc_health(self) -> DeviceHealth:
        wanted = self._pcsc_name
        if not wanted:
            return DeviceHealth("card_reader", "none", "unavailable", "not configured (IDVERIFY_PCSC_READER)")
        try:
            readers = [str(r) for r in _pcsc().list_readers()]
        except ImportError:
            return DeviceHealth("card_reader", wanted, "unavailable", "eMRTD support not installed")
        except Exception as exc:  # pcscd down, no PC/SC library: report, never crash the health check
            return DeviceHealth("card_reader", wanted, "unavailable", f"PC/SC: {exc.__class__.__name__}")
        match = next((r for r in readers if wanted.lower() in r.lower()), None)
        if match is None:
            return DeviceHealth("card_reader", wanted, "unavailable", "no matching PC/SC reader connected")
        return DeviceHealth("card_reader", match, "ok", None)

    # --- operations --------------------------------------------------------------------------------------------
    def _slot(self, slot: _SerialSlot | None, what: str, setting: str) -> _SerialSlot:
        if slot is None:
            raise DeviceUnavailable(f"no {what} configured ({setting})")
        return slot

    def read_document_sync(self, mrz_keys: BacKeys | None = None, wait: float = 0.0) -> IdentityDocument:
        if mrz_keys is not None or (self._id_reader is None and self._pcsc_name):
            return self._read_emrtd(mrz_keys, wait)
        slot = self._slot(self._id_reader, "ID-card reader", "IDVERIFY_ID_READER_PORT")
        reader: Callable[[Ga467Reader], IdentityDocument] = lambda r: r.read_document(wait=wait)  # noqa: E731
        return slot.call(reader)

    def _read_emrtd(self, mrz_keys: BacKeys | None, wait: float = 0.0) -> IdentityDocument:
        if not self._pcsc_name:
            raise DeviceUnavailable("no PC/SC reader configured (IDVERIFY_PCSC_READER)")
        if mrz_keys is None:
            raise DeviceError(
                "an eMRTD needs the document number, birth date and expiry date (BAC)", code="mrz_required",
                status_code=422,
            )
        try:
            pcsc = _pcsc()
        except ImportError:
            raise DeviceUnavailable("eMRTD support not installed") from None
        with self._pcsc_lock:
            reader = pcsc.PcscReader(self._pcsc_name)
            doc: IdentityDocument = pcsc.read_emrtd(reader, mrz_keys, self._csca_dir, card_wait=wait)
        return doc

    async def read_document(self, mrz_keys: BacKeys | None = None, wait: float = 0.0) -> IdentityDocument:
        """Read the document on the reader: GA 467 (Chinese cards) or, with BAC keys, an eMRTD over PC/SC.

        ``wait``: seconds to wait for a document to be placed before ``no_card``."""
        return await asyncio.to_thread(self.read_document_sync, mrz_keys, wait)

    def capture_fingerprint_sync(self, timeout: float = 10.0) -> NDArray[np.uint8]:
        slot = self._slot(self._fingerprint, "fingerprint sensor", "IDVERIFY_FINGERPRINT_PORT")

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
        slot = self._slot(self._fingerprint, "fingerprint sensor", "IDVERIFY_FINGERPRINT_PORT")

        def run(sensor: ZhianTecSensor) -> T:
            sensor.open()
            return fn(sensor)

        return slot.call(run)

    async def with_fingerprint_sensor(self, fn: Callable[[ZhianTecSensor], T]) -> T:
        return await asyncio.to_thread(self.with_fingerprint_sensor_sync, fn)

    def _cam(self) -> Camera:
        if self._camera is None:
            raise DeviceUnavailable("no camera configured (IDVERIFY_CAMERA)")
        return self._camera

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
