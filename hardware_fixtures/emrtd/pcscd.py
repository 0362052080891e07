"""Start the real ``pcscd`` for tests and benchmarks if it is not running, and stop only what we started.

``pcscd --foreground`` keeps it as our child (so we can stop it by its own pid); the vpcd driver comes
from ``/etc/reader.conf.d/vpcd``. :func:`unavailable_reason` says why it cannot run here, for skip messages.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VPCD_READER = "Virtual PCD 00 00"  # vpcd slot 0, TCP 35963: demos and the simulator CLI
#: vpcd slot 1 (TCP 35964). Tests use this one so they do not collide with a demo's passport in slot 0.
VPCD_TEST_READER = "Virtual PCD 00 01"
VPCD_TEST_PORT = 35964


def _vpcd_readers() -> list[str] | None:
    """Reader names, or None when pcscd does not answer."""
    try:
        from idverify.devices.pcsc import list_readers
        from idverify.errors import DeviceError

        try:
            return list_readers()
        except DeviceError:
            return None
    except ImportError:
        return None


def unavailable_reason() -> str | None:
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        return "pcscd is not installed (apt-get install pcscd)"
    if not VPCD_CONF.exists():
        return "vsmartcard's vpcd driver is not installed (apt-get install vsmartcard-vpcd)"
    try:
        import smartcard  # noqa: F401
    except ImportError:
        return "pyscard is not installed"
    return None


@dataclass
class Pcscd:
    process: subprocess.Popen[bytes] | None  # None when an already-running pcscd is used

    @classmethod
    def ensure(cls, timeout: float = 15.0) -> Pcscd:
        """Use the running pcscd if it lists the vpcd reader, else start one and wait for the reader."""
        readers = _vpcd_readers()
        if readers is not None and any(VPCD_READER in r for r in readers):
            return cls(process=None)
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        process = subprocess.Popen(
            [binary, "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        handle = cls(process=process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"pcscd exited at start with status {process.returncode}")
            readers = _vpcd_readers()
            if readers is not None and any(VPCD_READER in r for r in readers):
                return handle
            time.sleep(0.1)
        handle.stop()
        raise RuntimeError("pcscd started but the vpcd reader did not appear")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
