"""The built-in drivers — GA 467 ID reader, ZhianTec sensor, PC/SC eMRTD reader, camera — and the generic serial
driver the first two share.

Owns: for each device, the setting that configures it, how it is built from settings (opening nothing: serial
ports open on first use, so a missing device never blocks start-up), the probe that says it is alive, and the
PC/SC and camera handles (health, close). :func:`builtin_registry` lists them in the order of the health lines.
Must not touch: wire protocols (``ga467``, ``zhiantec``, ``pcsc``, ``camera``), locking and backoff
(:mod:`idverify.devices.slots`), and the event loop. Drivers import their device modules late: pyscard needs
libpcsclite at import time and OpenCV is slow to load.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic

import structlog

from idverify.config import Settings
from idverify.devices.health import DeviceHealth
from idverify.devices.registry import DriverRegistry, Endpoints
from idverify.devices.slots import D, SerialSlot
from idverify.errors import DeviceError, DeviceUnavailable

if TYPE_CHECKING:
    from idverify.devices.camera import Camera
    from idverify.devices.ga467 import Ga467Reader
    from idverify.devices.zhiantec import ZhianTecSensor
    from idverify.documents.model import IdentityDocument
    from idverify.documents.mrz import BacKeys

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SerialDriver(Generic[D]):
    """A device on a serial port, run through a :class:`~idverify.devices.slots.SerialSlot`.

    ``port`` reads the port from the settings; ``build`` makes the driver object (not opening it); ``check`` is the
    probe — a status query the device answers when alive; ``what`` and ``baud_setting`` word the hint when the
    device answers at another rate."""

    name: str
    kind: str
    setting: str
    baud_setting: str
    what: str
    port: Callable[[Settings], str | None]
    build: Callable[[str, Settings], D]
    check: Callable[[D], object]

    @property
    def serial(self) -> bool:
        return True

    def endpoint(self, settings: Settings) -> object | None:
        return self.port(settings) or None

    def open(self, endpoint: object, settings: Settings, endpoints: Endpoints) -> SerialSlot[D]:
        port = str(endpoint)
        return SerialSlot(self.kind, port, self.build(port, settings), check=self.check, what=self.what,
                          baud_setting=self.baud_setting)


# --- GA 467 ID-card reader ------------------------------------------------------------------------------------------
def _ga467(port: str, settings: Settings) -> Ga467Reader:
    from idverify.devices.ga467 import Ga467Reader
    from idverify.devices.wlt import discover_decoder

    decoder = None
    try:
        decoder = discover_decoder(settings.wlt_library)
    except DeviceError as exc:
        log.warning("wlt_decoder_unavailable", error=exc.message)
    return Ga467Reader(port, settings.id_reader_baud, photo_decoder=decoder)


def _ga467_check(reader: Ga467Reader) -> object:
    return reader.sam_id()


GA467: SerialDriver[Ga467Reader] = SerialDriver(
    name="ga467", kind="id_reader", setting="IDVERIFY_ID_READER_PORT", baud_setting="IDVERIFY_ID_READER_BAUD",
    what="reader", port=lambda s: s.id_reader_port, build=_ga467, check=_ga467_check,
)


# --- ZhianTec / R30x fingerprint sensor -----------------------------------------------------------------------------
def _zhiantec(port: str, settings: Settings) -> ZhianTecSensor:
    from idverify.devices.zhiantec import ZhianTecSensor

    return ZhianTecSensor(port, settings.fingerprint_baud, password=settings.fingerprint_password,
                          fast_baud=settings.fingerprint_fast_baud or None)


def _zhiantec_check(sensor: ZhianTecSensor) -> object:
    sensor.open()
    return sensor.system_parameters()


ZHIANTEC: SerialDriver[ZhianTecSensor] = SerialDriver(
    name="zhiantec", kind="fingerprint", setting="IDVERIFY_FINGERPRINT_PORT",
    baud_setting="IDVERIFY_FINGERPRINT_BAUD", what="sensor", port=lambda s: s.fingerprint_port, build=_zhiantec,
    check=_zhiantec_check,
)


# --- PC/SC eMRTD reader ---------------------------------------------------------------------------------------------
def _pcsc() -> Any:
    """The PC/SC driver module, imported late: pyscard needs libpcsclite at import time."""
    return importlib.import_module("idverify.devices.pcsc")


class PcscHandle:
    """A PC/SC reader chosen by name (or substring). Reads are serialised; health lists the readers pcscd sees."""

    kind = "card_reader"

    def __init__(self, reader_name: str, csca_dir: Path | None) -> None:
        self.reader_name = reader_name
        self.csca_dir = csca_dir
        self._lock = threading.Lock()

    def read(self, mrz_keys: BacKeys, wait: float = 0.0) -> IdentityDocument:
        """Read the passport on the reader with its BAC/PACE keys (``wait``: seconds for it to be placed)."""
        try:
            pcsc = _pcsc()
        except ImportError:
            raise DeviceUnavailable("eMRTD support not installed") from None
        with self._lock:
            reader = pcsc.PcscReader(self.reader_name)
            doc: IdentityDocument = pcsc.read_emrtd(reader, mrz_keys, self.csca_dir, card_wait=wait)
        return doc

    def probe(self) -> None:
        return None  # health() asks pcscd each time; there is no session to keep alive

    def health(self) -> DeviceHealth:
        match, problem = self._find()
        if match is None:
            return problem
        return DeviceHealth(self.kind, match, "ok", None)

    def _find(self) -> tuple[str, DeviceHealth] | tuple[None, DeviceHealth]:
        """The connected reader this handle names, or the health line saying why there is none."""
        wanted = self.reader_name
        args = {"reader": wanted}
        try:
            readers = [str(r) for r in _pcsc().list_readers()]
        except ImportError:
            return None, DeviceHealth(self.kind, wanted, "unavailable", "eMRTD support not installed",
                                      "pcsc_not_installed", args)
        except Exception as exc:  # pcscd down, no PC/SC library: report, never crash the health check
            return None, DeviceHealth(self.kind, wanted, "unavailable", f"PC/SC: {exc.__class__.__name__}",
                                      "pcsc_service_unavailable", args | {"error": exc.__class__.__name__})
        match = next((r for r in readers if wanted.lower() in r.lower()), None)
        if match is None:
            return None, DeviceHealth(self.kind, wanted, "unavailable", "no matching PC/SC reader connected",
                                      "pcsc_reader_missing", args)
        return match, DeviceHealth(self.kind, match, "ok", None)

    def test(self) -> tuple[str, bool]:
        """Talk to this PC/SC reader only: its connected name and whether a card is in its field. Raises
        ``device_unavailable`` naming the problem when the reader is not there — never falls back to another
        reader. (Reading the chip needs the passport's BAC keys; that is the nurse's read, not a device test.)"""
        match, problem = self._find()
        if match is None:
            raise DeviceUnavailable(f"PC/SC reader {self.reader_name!r}: {problem.detail}")
        with self._lock:
            present = bool(_pcsc().PcscReader(match).card_present())
        return match, present

    def wants_probe(self) -> bool:
        return False

    def close(self) -> None:
        return None


class PcscDriver:
    name = "pcsc"
    kind = "card_reader"
    setting = "IDVERIFY_PCSC_READER"
    serial = False

    def endpoint(self, settings: Settings) -> object | None:
        return settings.pcsc_reader or None

    def open(self, endpoint: object, settings: Settings, endpoints: Endpoints) -> PcscHandle:
        return PcscHandle(str(endpoint), endpoints.csca_dir or settings.csca_dir)


# --- camera ---------------------------------------------------------------------------------------------------------
class CameraHandle:
    """The camera's grabbing thread; it reconnects by itself, so the hot-plug monitor leaves it alone."""

    kind = "camera"

    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    def probe(self) -> None:
        with contextlib.suppress(DeviceError):  # health() below says what went wrong
            self.camera.wait_frame(1.0)

    def health(self) -> DeviceHealth:
        status, problem = self.camera.status()
        return DeviceHealth(self.kind, self.camera.name, status, problem,
                            self.camera.problem_code if problem else None)

    def wants_probe(self) -> bool:
        return False

    def close(self) -> None:
        self.camera.stop()


class CameraDriver:
    """``IDVERIFY_CAMERA`` (index, file, folder or URL), or a frame source a runtime started (the demo's)."""

    name = "camera"
    kind = "camera"
    setting = "IDVERIFY_CAMERA"
    serial = False

    def endpoint(self, settings: Settings) -> object | None:
        return settings.camera or None

    def open(self, endpoint: object, settings: Settings, endpoints: Endpoints) -> CameraHandle:
        from idverify.devices.camera import Camera, FrameSource, open_source

        if isinstance(endpoint, FrameSource):
            source = endpoint
        else:
            source = open_source(str(endpoint), width=settings.camera_width, height=settings.camera_height,
                                 fps=settings.camera_fps)
        return CameraHandle(Camera(source, fps=settings.camera_fps).start())


def builtin_registry() -> DriverRegistry:
    """A fresh registry of the built-in drivers, in the order ``idverify devices`` lists them."""
    return DriverRegistry((GA467, ZHIANTEC, PcscDriver(), CameraDriver()))
