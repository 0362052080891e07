"""Device health lines: what ``idverify devices``, ``GET /api/v1/devices`` and ``/healthz`` show per device.

Owns: the :class:`DeviceHealth` record and its JSON shape (``{"kind", "name", "status", "detail", "detail_code",
"detail_args"}``: the code and its values let a screen say the detail in its own language), the line for a device
nobody configured (naming the setting to set), and listing the serial ports present so an admin can pick one.
Must not touch: the devices themselves. Nothing here opens a port; the lines are built from the state each driver
keeps (:mod:`idverify.devices.slots`, :mod:`idverify.devices.drivers`), so reading health is cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    #: A stable word for what ``detail`` says (``not_configured``, ``pcsc_reader_missing``, an error code …) and
    #: the values it names, so a screen can say it in its own language; ``detail`` stays the technical text.
    detail_code: str | None = None
    detail_args: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": self.status, "detail": self.detail,
                "detail_code": self.detail_code, "detail_args": dict(self.detail_args)}


def not_configured(kind: str, setting: str, serial_ports: Sequence[str] = ()) -> DeviceHealth:
    """The line of a device whose setting is empty; for a serial device, the ports present help pick one."""
    note = f"not configured ({setting})"
    args = {"setting": setting}
    if serial_ports:
        note += f"; serial ports present: {', '.join(serial_ports)}"
        args["ports"] = ", ".join(serial_ports)
    return DeviceHealth(kind, "none", "not_configured", note, "not_configured_ports" if serial_ports
                        else "not_configured", args)


def detected_serial_ports() -> list[str]:
    """USB-serial adapters present now (``/dev/ttyUSB*``, ``/dev/ttyACM*``…), to help an admin configure ports."""
    try:
        from serial.tools import list_ports

        return sorted(p.device for p in list_ports.comports())
    except Exception:  # enumeration is a convenience; never fail a health check over it
        return []
