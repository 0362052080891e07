"""Simulator wiring: only ``idverify.device_wiring`` reaches ``hardware_fixtures``, and only when simulating."""

from __future__ import annotations

import ast
from pathlib import Path

from hardware_fixtures.wiring import SimulatedWorkstation

from idverify.config import load_settings
from idverify.device_wiring import device_manager

SRC = Path(__file__).resolve().parents[2] / "src" / "idverify"


def _imports_fixtures(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        if any(n == "hardware_fixtures" or n.startswith("hardware_fixtures.") for n in names):
            return True
    return False


def test_only_the_wiring_point_imports_the_simulators() -> None:
    importers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _imports_fixtures(p))
    assert importers == ["device_wiring.py"]


def test_the_simulators_are_injected_only_when_simulating(tmp_path: Path) -> None:
    assert device_manager(load_settings(data_dir=tmp_path)).wiring is None
    assert isinstance(device_manager(load_settings(data_dir=tmp_path, simulate=True)).wiring, SimulatedWorkstation)
