"""`idverify demo --scenario`: a full cycle through the REST API of a live daemon with simulated devices,
summarised as one JSON object on the last line of stdout."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ..servers import free_port


def test_scenario_summary(shared_data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "IDVERIFY_DATA_DIR": str(tmp_path / "data"), "IDVERIFY_SHARED_DATA": str(shared_data)}
    env.pop("IDVERIFY_DATABASE_URL", None)
    port = free_port()
    proc = subprocess.run([sys.executable, "-m", "idverify", "demo", "--scenario", "--port", str(port)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    last = proc.stdout.strip().splitlines()[-1]
    summary = json.loads(last)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert summary["enrolled"] == 2
    assert [c["stage"] for c in summary["checks"]] == ["sperm_retrieval", "egg_retrieval", "embryo_transfer"]
    assert all(c["decision"] == "accept" for c in summary["checks"])
    assert summary["impostor_decision"] == "reject"
    assert summary["override_recorded"] is True and summary["ledger_verified"] is True
    assert summary["data_dir"] == str(tmp_path / "data")
    assert summary["port"] == port  # --port is honoured
    assert (tmp_path / "data" / "idverify.db").is_file()


def test_scenario_on_a_busy_port_is_a_clear_error(shared_data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "IDVERIFY_DATA_DIR": str(tmp_path / "data"), "IDVERIFY_SHARED_DATA": str(shared_data)}
    env.pop("IDVERIFY_DATABASE_URL", None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "idverify", "demo", "--scenario", "--port", str(port)],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 1
    error = json.loads(proc.stdout.strip().splitlines()[-1])["error"]
    assert error["code"] == "port_in_use" and str(port) in error["message"]
