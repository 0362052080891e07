"""What a device driver is, where the devices are, and the registry the device manager loops over.

Owns: the two protocols a device implements — :class:`DeviceDriver` (name, kind, the setting that configures it,
how to open it) and :class:`DeviceHandle` (the opened device: probe, health, close) — the :class:`Endpoints` a
runtime hands the manager (ports, frame sources and reader names it started itself, e.g. the demo's simulators),
the :class:`DeviceWiring` protocol of the object that starts them, and :class:`DriverRegistry`.

Adding a device is a driver (an object of this shape, usually :class:`idverify.devices.drivers.SerialDriver`)
registered here: the manager, the health endpoint and ``idverify devices`` pick it up without an edit.
Must not touch: concrete drivers (:mod:`idverify.devices.drivers`) or the manager; this module is a leaf so that
every other device module can import it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from idverify.config import Settings
    from idverify.devices.health import DeviceHealth


class DeviceHandle(Protocol):
    """An opened device as the manager holds it. ``probe`` may block (run it off the event loop); ``health`` may
    not talk to hardware for longer than a local query (it is called on the event loop)."""

    @property
    def kind(self) -> str: ...

    def probe(self) -> None:
        """Talk to the device now; never raises: the outcome is what :meth:`health` reports next."""

    def health(self) -> DeviceHealth: ...

    def wants_probe(self) -> bool:
        """True when the device is down and may be retried now (the manager's hot-plug monitor asks)."""

    def close(self) -> None: ...


class DeviceDriver(Protocol):
    """One kind of device the manager can run."""

    @property
    def name(self) -> str:
        """Short, stable id (``ga467``): the key of this driver's endpoint in :attr:`Endpoints.at`."""

    @property
    def kind(self) -> str:
        """The health line's kind (``id_reader``); the manager finds a device for an operation by its kind."""

    @property
    def setting(self) -> str:
        """The setting that configures it (``IDVERIFY_ID_READER_PORT``), named when it is not configured."""

    @property
    def serial(self) -> bool:
        """A serial device: when it is not configured, the health line lists the serial ports present."""

    def endpoint(self, settings: Settings) -> object | None:
        """Where the settings put the device (port name, camera spec, reader name), or None: not configured."""

    def open(self, endpoint: object, settings: Settings, endpoints: Endpoints) -> DeviceHandle:
        """The device at ``endpoint``, ready to probe. Must not block on hardware: a serial port opens on first
        use, so a missing device never delays start-up."""


@dataclass(frozen=True)
class Endpoints:
    """Devices a runtime started itself, handed to the manager; anything here overrides the settings."""

    #: Driver name -> endpoint: a port name, a frame source, a PC/SC reader name.
    at: Mapping[str, object] = field(default_factory=dict)
    #: Trust anchors for passive authentication that go with those devices (the demo passport's CSCA).
    csca_dir: Path | None = None
    #: Handles for a demo's controls (e.g. ``simulators["people"]``, the nurse UI's simulated-patient panel).
    simulators: Mapping[str, Any] = field(default_factory=dict)


class DeviceWiring(Protocol):
    """Starts devices before the manager opens them and stops them after it closed them (the demo's simulators,
    a test rig). Injected by the runtime; the manager calls ``start`` in its own start-up, off the event loop."""

    def start(self) -> Endpoints: ...

    def stop(self) -> None: ...


class DriverRegistry:
    """The drivers of one workstation, in the order their health lines appear. One driver per name and per kind:
    the manager's operations (read a document, capture a finger) find their device by kind."""

    def __init__(self, drivers: tuple[DeviceDriver, ...] = ()) -> None:
        self._drivers: list[DeviceDriver] = []
        for driver in drivers:
            self.register(driver)

    def register(self, driver: DeviceDriver) -> None:
        for known in self._drivers:
            if known.name == driver.name or known.kind == driver.kind:
                raise ValueError(f"a driver named {known.name!r} already handles kind {known.kind!r}")
        self._drivers.append(driver)

    def __iter__(self) -> Iterator[DeviceDriver]:
        return iter(tuple(self._drivers))

    def of_kind(self, kind: str) -> DeviceDriver | None:
        return next((d for d in self._drivers if d.kind == kind), None)

    def any_configured(self, settings: Settings) -> bool:
        """Whether the settings configure at least one device (a daemon without any runs no device manager)."""
        return any(d.endpoint(settings) is not None for d in self._drivers)
