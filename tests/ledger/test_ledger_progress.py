"""Progress bars of ``idverify audit export|verify|check`` (issue 16.14): drawn on stderr when it is a terminal —
here a real pseudo-terminal — and never on stdout, never with ``--json``, never without a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import idverify
from idverify.ledger.append import append_many
from idverify.ledger.progress import SILENT, progress_bar, wanted

from .conftest import EventFactory

EVENTS = 2500


def _run_on_pty(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run ``python -m idverify ARGS`` with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "idverify", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


@pytest.fixture
def cli_env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDVERIFY_")}
    src = str(Path(idverify.__file__).resolve().parents[1])
    return env | {"PYTHONPATH": os.pathsep.join([src, env.get("PYTHONPATH", "")]), "TERM": "xterm",
                  "COLUMNS": "100", "IDVERIFY_DATA_DIR": str(tmp_path / "data"),
                  "IDVERIFY_DATABASE_URL": sqlite_url, "IDVERIFY_CLINIC_NAME": "Test clinic",
                  "IDVERIFY_WORKSTATION_ID": "ws-test"}


def test_bars_on_a_terminal_only_on_stderr(cli_env: dict[str, str], session: Session, make_event: EventFactory,
                                          tmp_path: Path) -> None:
    append_many(session, [make_event(i) for i in range(EVENTS)])
    session.commit()
    total = EVENTS + 1  # and the export.created event the export records first
    out = tmp_path / "audit.jsonl"
    code, stdout, stderr = _run_on_pty(["audit", "export", "--out", str(out)], cli_env, tmp_path)
    assert code == 0, stderr
    assert "exporting" in stderr and f"{total}/{total}" in stderr  # the bar, at its end
    assert stdout.splitlines() == [f"wrote {total} entries (0..{total}) to {out}"]  # stdout: the answer only

    code, stdout, stderr = _run_on_pty(["audit", "verify", str(out)], cli_env, tmp_path)
    assert code == 0, stderr
    assert "verifying" in stderr and f"{total}/{total}" in stderr
    assert stdout.startswith("OK: entries 0..") and "verifying" not in stdout and "\x1b" not in stdout

    code, stdout, stderr = _run_on_pty(["audit", "check"], cli_env, tmp_path)
    assert code == 0, stderr
    assert "checking" in stderr and f"{total}/{total}" in stderr
    assert stdout.startswith("OK:") and "\x1b" not in stdout

    for args in (["audit", "export", "--out", str(tmp_path / "b.fhir.json"), "--format", "fhir", "--json"],
                 ["audit", "verify", str(out), "--json"], ["audit", "check", "--json"]):
        code, stdout, stderr = _run_on_pty(args, cli_env, tmp_path)
        assert code == 0, stderr
        assert not any(word in stderr for word in ("exporting", "verifying", "checking", "━"))  # --json: silent
        assert stdout.count("\n") == 1 and stdout.startswith("{")  # one JSON line, nothing else


def test_helper_force_flag_and_silence(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("exporting", as_json=False, force=True) as meter:
        meter.start(3)
        for done in range(1, 4):
            meter.update(done)
    captured = capsys.readouterr()
    assert "exporting" in captured.err and "3/3" in captured.err and captured.out == ""
    for as_json, force in ((True, True), (False, False)):
        with progress_bar("exporting", as_json=as_json, force=force) as meter:
            assert meter is SILENT
    assert capsys.readouterr() == ("", "")
    assert not wanted(as_json=False)  # pytest's stderr is no terminal
