"""Device health lines: what ``idverify devices``, ``GET /api/v1/devices`` and ``/healthz`` show per device.

Owns: the :class:`DeviceHealth` record and its JSON shape (``{"kind", "name", "status", "detail"}``), the line for a
device nobody configured (naming the setting to set), and listing the serial ports present so an admin can pick one.
Must not touch: the devices themselves. Nothing here opens a port; the lines are built from the state each driver
keeps (:mod:`idverify.devices.slots`, :mod:`idverify.devices.drivers`), so reading health is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# "not_configured": nobody set the device up — not a fault (``/healthz`` stays ``ok``); "unavailable": configured
# but not answering.
DeviceStatus = Literal["ok", "not_configured", "unavailable", "error"]


@dataclass(frozen=True)
class DeviceHealth:
    """One line of ``idverify devices`` / the health endpoint. ``kind`` is the driver's kind (``id_reader``,
    ``card_reader``, ``fingerprint``, ``camera`` for the built-in drivers)."""

    kind: str
    name: str
    status: DeviceStatus
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": self.status, "detail": self.detail}


def not_configured(kind: str, setting: str, serial_ports: Sequence[str] = ()) -> DeviceHealth:
    """The line of a device whose setting is empty; for a serial device, the ports present help pick one."""
    note = f"not configured ({setting})"
    if serial_ports:
        note += f"; serial ports present: {', '.join(serial_ports)}"
    return DeviceHealth(kind, "none", "not_configured", note)


def detected_serial_ports() -> list[str]:
    """USB-serial adapters present now (``/dev/ttyUSB*``, ``/dev/ttyACM*``…), to help an admin configure ports."""
    try:
        from serial.tools import list_ports

        return sorted(p.device for p in list_ports.comports())
    except Exception:  # enumeration is a convenience; never fail a health check over it
        return []
