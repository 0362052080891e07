"""Which devices a daemon or a device command drives: the configured hardware, or the demo's simulators.

Owns: building the :class:`~idverify.devices.manager.DeviceManager` for a settings object and, when ``simulate``
is on, injecting the simulated workstation (:class:`hardware_fixtures.wiring.SimulatedWorkstation`: GA 467 and
ZhianTec on ptys, a camera from image files, the virtual passport in pcscd's vpcd slot). This is the one module of
``idverify`` that imports ``hardware_fixtures``, and only when asked to simulate: a clinic's daemon never loads
simulator code. Used by :func:`idverify.subsystems.attach` (the daemon) and :mod:`idverify.devices.cli`.
Must not touch: the drivers (``idverify.devices``) or the simulators' internals.
"""

from __future__ import annotations

import sys
from pathlib import Path

from idverify.config import Settings
from idverify.devices.manager import DeviceManager
from idverify.devices.registry import DeviceWiring
from idverify.errors import DeviceUnavailable


def device_manager(settings: Settings) -> DeviceManager:
    """The manager for these settings: the simulated workstation when ``simulate`` is on, else the hardware the
    settings configure."""
    return DeviceManager(settings, wiring=simulated_workstation(settings) if settings.simulate else None)


def simulated_workstation(settings: Settings) -> DeviceWiring:
    _fixtures_importable()
    from hardware_fixtures.wiring import SimulatedWorkstation

    return SimulatedWorkstation(settings)


def demo_faces_folder(settings: Settings) -> Path | None:
    """The folder the demo's simulated people take their photos from, or None: then no face can be shown."""
    _fixtures_importable()
    from hardware_fixtures.wiring import demo_faces

    return demo_faces(settings)


def _fixtures_importable() -> None:
    """``hardware_fixtures`` ships in the wheel beside ``idverify``; in a source checkout run with only ``src`` on
    the path it sits at the repository root: put that on the path."""
    try:
        import hardware_fixtures  # noqa: F401
    except ImportError:
        root = Path(__file__).resolve().parents[2]
        if not (root / "hardware_fixtures" / "__init__.py").is_file():
            raise DeviceUnavailable("device simulators need hardware_fixtures (installed with idverify)") from None
        sys.path.insert(0, str(root))
