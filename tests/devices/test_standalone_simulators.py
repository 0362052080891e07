"""The simulators run standalone (``python -m hardware_fixtures.<name>``) and obey their stdin control channel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from idverify.devices.ga467 import Ga467Reader
from idverify.errors import DeviceError

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["ga467", "zhiantec", "camera", "bench_devices"])
def test_help(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"hardware_fixtures.{module}", "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_ga467_standalone_control_channel(tmp_path: Path) -> None:
    link = tmp_path / "ttyGA"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hardware_fixtures.ga467", "--link", str(link), "--card", "1"],
        cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def command(line: str) -> str:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        return proc.stdout.readline()

    try:
        assert "GA 467 simulator on" in proc.stdout.readline()
        with Ga467Reader(str(link)) as reader:
            assert reader.read_document().long_term  # card 1 is the long-term one
            assert command("remove").startswith("ok remove")
            with pytest.raises(DeviceError) as err:
                reader.read_document()
            assert err.value.code == "no_card"
            assert command("insert 0").startswith("ok insert")
            assert command("fault pull_mid_read 1").startswith("ok fault")
            with pytest.raises(DeviceError) as err:
                reader.read_document()
            assert err.value.code == "card_removed"
            assert command("fault nonsense").startswith("error:")
        command("quit")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
