"""Simulator wiring: only ``idverify.device_wiring`` reaches ``hardware_fixtures``, and only when simulating."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
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


def test_the_simulators_find_the_samples_where_the_environment_says(tmp_path: Path, monkeypatch: Any) -> None:
    """The demo's simulators, the scenario and the tests read the samples from one place: a checkout that is not
    beside ``../shared`` (a worktree, CI's clone elsewhere) points ``IDVERIFY_SHARED_DATA`` at them."""
    from hardware_fixtures.wiring import default_shared

    from idverify.config import sample_data_root
    from idverify.errors import ErrorCode
    from idverify.scenario import ScenarioError, find_samples

    (tmp_path / "face" / "asian_dev").mkdir(parents=True)
    monkeypatch.setenv("IDVERIFY_SHARED_DATA", str(tmp_path))
    assert sample_data_root() == tmp_path
    assert default_shared("face/asian_dev") == tmp_path / "face" / "asian_dev"
    assert default_shared("fingerprint/FVC2002_DB1_B") is None  # absent: the simulators fall back to synthetic images
    with pytest.raises(ScenarioError, match=f"under {tmp_path} .*IDVERIFY_SHARED_DATA") as missing:
        find_samples()  # faces there, no fingers: the scenario names where it looked
    assert missing.value.code == ErrorCode.SAMPLE_DATA_MISSING
    monkeypatch.delenv("IDVERIFY_SHARED_DATA")
    assert sample_data_root() == SRC.parents[2] / "shared" / "data"
