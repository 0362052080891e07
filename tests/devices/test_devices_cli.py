"""``idverify devices``, ``card read`` and ``finger capture``: JSON summary on the last line, error JSON on failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import pytest
from hardware_fixtures.wiring import SimulatedWorkstation
from typer.testing import CliRunner

from idverify.cli import app

runner = CliRunner()


def _last_json(output: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IDVERIFY_DATA_DIR", str(tmp_path / "data"))
    for var in ("IDVERIFY_SIMULATE", "IDVERIFY_ID_READER_PORT", "IDVERIFY_FINGERPRINT_PORT", "IDVERIFY_CAMERA",
                "IDVERIFY_PCSC_READER", "IDVERIFY_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    # Leave the shared vpcd slot to the eMRTD tests: no virtual passport in these CLI runs.
    monkeypatch.setattr(SimulatedWorkstation, "_start_emrtd", lambda self, tmp: None)
    return tmp_path


def test_devices_simulated_json(env: Path) -> None:
    result = runner.invoke(app, ["devices", "--simulate", "--json"])
    assert result.exit_code == 0, result.output
    devices = {d["kind"]: d for d in _last_json(result.output)["devices"]}
    assert devices["id_reader"]["status"] == "ok"
    assert devices["fingerprint"]["status"] == "ok"
    assert devices["card_reader"]["status"] == "not_configured"
    assert set(devices["camera"]) == {"kind", "name", "status", "detail", "detail_code", "detail_args"}


def test_devices_human_table(env: Path) -> None:
    result = runner.invoke(app, ["devices"])
    assert result.exit_code == 0
    assert "id_reader" in result.output and "not configured" in result.output


def test_card_read_simulated(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDVERIFY_SIMULATE", "true")
    result = runner.invoke(app, ["card", "read", "--json"])
    assert result.exit_code == 0, result.output
    doc = _last_json(result.output)
    assert doc["document_type"] == "cn_resident_id"
    assert doc["sex"] == "F" and doc["birth_date"] == "1990-03-07" and doc["nationality"] == "CHN"
    assert doc["photo"] == "unavailable"
    assert doc["checks"] == {"checksum": True, "expired": False, "passive_auth": "not_applicable"}


def test_card_read_without_reader_is_spec_error(env: Path) -> None:
    result = runner.invoke(app, ["card", "read", "--json"])
    assert result.exit_code == 4  # a device that cannot be reached
    assert _last_json(result.output)["error"]["code"] == "device_unavailable"


def test_card_read_missing_port_is_spec_error(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDVERIFY_ID_READER_PORT", str(env / "ttyUSB7"))
    result = runner.invoke(app, ["card", "read", "--json"])
    assert result.exit_code == 4
    error = _last_json(result.output)["error"]
    assert error["code"] == "device_unavailable" and "Traceback" not in result.output


def test_card_read_partial_bac_fields_rejected(env: Path) -> None:
    result = runner.invoke(app, ["card", "read", "--document-number", "L898902C", "--json"])
    assert result.exit_code == 2  # usage: BAC needs all three fields
    assert _last_json(result.output)["error"]["code"] == "validation_error"


def test_finger_capture_simulated(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDVERIFY_SIMULATE", "1")
    out = env / "caps" / "finger.png"
    result = runner.invoke(app, ["finger", "capture", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = _last_json(result.output)
    assert (summary["width"], summary["height"]) == (256, 288)
    image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape == (288, 256) and image.dtype.name == "uint8"


def test_finger_capture_without_sensor(env: Path) -> None:
    result = runner.invoke(app, ["finger", "capture", "--out", str(env / "f.png"), "--json"])
    assert result.exit_code == 4
    assert _last_json(result.output)["error"]["code"] == "device_unavailable"
