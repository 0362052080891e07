"""The driver registry: a device added as a driver (here a line-protocol "scale" on a real pty, through the real
serial layer) appears in health, probes, reconnects and gets a baud hint without any edit to the manager."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardware_fixtures.pty_device import PtyDevice

from idverify.config import Settings, load_settings
from idverify.devices.drivers import SerialDriver, builtin_registry
from idverify.devices.manager import DeviceManager
from idverify.devices.registry import DriverRegistry, Endpoints
from idverify.devices.serial_link import SerialLink, detect_baud
from idverify.errors import DeviceError, ErrorCode


class ScaleSimulator(PtyDevice):
    """Answers ``PING\\n`` with ``PONG\\n``."""

    def __init__(self, *, link: Path, baud: int = 115200, strict_baud: bool = False) -> None:
        super().__init__(link=link, baud=baud, strict_baud=strict_baud)
        self._buffer = b""

    def handle(self, data: bytes) -> None:
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line == b"PING":
                self.send(b"PONG\n")


class Scale:
    """The host side: a driver object in the shape :class:`~idverify.devices.slots.SerialDevice` asks for."""

    def __init__(self, port: str, baud: int) -> None:
        self.port, self.baud = port, baud
        self._link: SerialLink | None = None

    @property
    def name(self) -> str:
        return f"scale:{self.port}"

    def ping(self) -> None:
        if self._link is None:
            self._link = SerialLink(self.port, self.baud, label="scale")
        self._link.discard_input()
        self._link.write(b"PING\n")
        if self._link.read_exact(5, time.monotonic() + 0.3) != b"PONG\n":
            raise DeviceError("scale did not answer", code=ErrorCode.DEVICE_TIMEOUT, status_code=504)

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def detect_baud(self) -> int | None:
        return detect_baud(self, (115200, 9600), self.ping)


def _scale_driver(baud: int = 115200) -> SerialDriver[Scale]:
    return SerialDriver(name="scale", kind="scale", setting="IDVERIFY_SCALE_PORT", baud_setting="IDVERIFY_SCALE_BAUD",
                        what="scale", port=lambda _s: None, build=lambda port, _s: Scale(port, baud),
                        check=Scale.ping)


class ScaleRig:
    """A test rig injected like the demo's simulators: starts the scale and says where it is."""

    def __init__(self, link: Path, *, baud: int = 115200, strict_baud: bool = False) -> None:
        self.sim = ScaleSimulator(link=link, baud=baud, strict_baud=strict_baud)

    def start(self) -> Endpoints:
        self.sim.start()
        return Endpoints(at={"scale": self.sim.port}, simulators={"scale": self.sim})

    def stop(self) -> None:
        self.sim.stop()


def _registry(baud: int = 115200) -> DriverRegistry:
    registry = builtin_registry()
    registry.register(_scale_driver(baud))
    return registry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path)


@pytest.fixture
def scale(settings: Settings, tmp_path: Path) -> Iterator[tuple[DeviceManager, ScaleSimulator]]:
    rig = ScaleRig(tmp_path / "scale")
    manager = DeviceManager(settings, wiring=rig, registry=_registry())
    manager.start_sync()
    try:
        yield manager, rig.sim
    finally:
        manager.stop_sync()


def test_a_registered_driver_shows_up_in_health(scale: tuple[DeviceManager, ScaleSimulator]) -> None:
    manager, sim = scale
    health = manager.probe_sync()
    assert [h.kind for h in health] == ["id_reader", "fingerprint", "card_reader", "camera", "scale"]
    line = health[-1]
    assert (line.name, line.status, line.detail) == (f"scale:{sim.port}", "ok", None)
    assert manager.simulators["scale"] is sim
    assert all(h.status == "not_configured" for h in health[:-1])  # nothing else configured


def test_a_registered_serial_device_is_reconnected_with_backoff(scale: tuple[DeviceManager, ScaleSimulator]) -> None:
    manager, sim = scale
    manager.probe_sync()
    sim.unplug()
    status = {h.kind: h for h in manager.probe_sync()}["scale"]
    assert status.status == "unavailable" and "scale" in (status.detail or "")
    sim.replug()
    time.sleep(0.6)  # the first backoff step
    assert {h.kind: h.status for h in manager.probe_sync()}["scale"] == "ok"


def test_a_silent_serial_device_gets_a_baud_hint(settings: Settings, tmp_path: Path) -> None:
    rig = ScaleRig(tmp_path / "scale", baud=9600, strict_baud=True)
    manager = DeviceManager(settings, wiring=rig, registry=_registry(baud=115200))
    manager.start_sync()
    try:
        line = {h.kind: h for h in manager.probe_sync()}["scale"]
    finally:
        manager.stop_sync()
    assert line.status == "error"
    assert line.detail == "scale answers at 9600 baud; set IDVERIFY_SCALE_BAUD=9600"


def test_an_unconfigured_driver_names_its_setting(settings: Settings) -> None:
    manager = DeviceManager(settings, registry=_registry())
    manager.start_sync()
    try:
        line = manager.health()[-1]
    finally:
        manager.stop_sync()
    assert (line.kind, line.status) == ("scale", "not_configured")
    assert (line.detail or "").startswith("not configured (IDVERIFY_SCALE_PORT)")


def test_one_driver_per_name_and_kind() -> None:
    registry = _registry()
    with pytest.raises(ValueError, match="scale"):
        registry.register(_scale_driver())
    with pytest.raises(ValueError, match="id_reader"):
        registry.register(SerialDriver(name="other", kind="id_reader", setting="X", baud_setting="Y", what="reader",
                                       port=lambda _s: None, build=lambda port, _s: Scale(port, 9600),
                                       check=Scale.ping))


@pytest.mark.parametrize(("field", "value"), [("id_reader_port", "/dev/ttyUSB0"), ("fingerprint_port", "/dev/ttyUSB1"),
                                              ("pcsc_reader", "ACS"), ("camera", "0")])
def test_any_configured_asks_every_builtin_driver(tmp_path: Path, field: str, value: str) -> None:
    assert not builtin_registry().any_configured(load_settings(data_dir=tmp_path))
    assert builtin_registry().any_configured(load_settings(data_dir=tmp_path, **{field: value}))
