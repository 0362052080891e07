"""A serial device simulated on a pseudo-terminal: the shared plumbing of the GA 467 and ZhianTec simulators.

The driver under test opens the pty *slave* path exactly as it would open ``/dev/ttyUSB0``; the simulator reads
and writes the master side in a background thread. A stable symlink (``link``) can name the current slave so that
"unplug" (both pty ends closed: the driver sees EIO / a vanished path) and "replug" (a fresh pty behind the same
name) behave like a USB-serial adapter with a udev symlink.

Optionally paces its output at the configured baud rate (10 bit times per byte, 8N1) so that transfer times are
realistic. Test-only code: never imported by the daemon except in ``--simulate`` mode.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

_SPEEDS = {
    getattr(termios, f"B{b}"): b for b in (9600, 19200, 38400, 57600, 115200, 230400) if hasattr(termios, f"B{b}")
}


class PtyDevice:
    """Subclasses implement :meth:`handle` (bytes from the host) and answer with :meth:`send`."""

    def __init__(
        self, *, baud: int = 115200, realtime: bool = False, link: Path | None = None, strict_baud: bool = False
    ) -> None:
        self.baud = baud
        self.realtime = realtime
        self.strict_baud = strict_baud
        self.link = link
        self._master = -1
        self._slave = -1
        self._slave_path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self.plugged = False

    # --- lifecycle -------------------------------------------------------------------------------------------
    @property
    def port(self) -> str:
        """The path a driver should open: the stable link if one was asked for, else the pty slave."""
        return str(self.link) if self.link else self._slave_path

    def start(self) -> Self:
        self._open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def _open_pty(self) -> None:
        with self._lock:
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo or line editing before the driver configures the port
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            self._slave_path = os.ttyname(slave)
            if self.link:
                tmp = self.link.with_name(self.link.name + ".tmp")
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                tmp.symlink_to(self._slave_path)
                tmp.replace(self.link)
            self.plugged = True

    def _close_pty(self) -> None:
        with self._lock:
            for fd in (self._master, self._slave):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = -1
            self.plugged = False

    def unplug(self) -> None:
        """The cable is pulled: the pty disappears; the driver's next read or write fails."""
        self._close_pty()
        if self.link:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def replug(self) -> None:
        """A fresh pty behind the same link (a real adapter usually comes back under a new tty number too)."""
        if not self.plugged:
            self._open_pty()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.unplug()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- I/O -------------------------------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            fd = self._master
            if fd < 0:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(fd, 4096)
            except OSError:  # unplugged under our feet, or the slave closed with nothing open: wait
                time.sleep(0.02)
                continue
            if data and self.strict_baud and self.host_baud() not in (None, self.baud):
                continue  # a UART at the wrong speed sees only framing errors: say nothing
            if data:
                self.handle(data)

    def host_baud(self) -> int | None:
        """The speed the host configured on its end (a pty shares one termios state between both sides)."""
        try:
            speed = termios.tcgetattr(self._slave)[5]
        except (termios.error, OSError):
            return None
        return _SPEEDS.get(speed)

    def send(self, data: bytes) -> None:
        """Write to the host, paced at the baud rate when ``realtime``; gives up silently if unplugged or if
        the host stops reading (a stuck simulator must not wedge the test run)."""
        view = memoryview(data)
        byte_time = 10.0 / self.baud
        chunk = max(1, int(0.005 / byte_time)) if self.realtime else 4096
        # Give up only well after the wire time (a 40 kB image at 9600 baud takes ~42 s when paced).
        deadline = time.monotonic() + 10.0 + (len(data) * byte_time if self.realtime else 0.0)
        while view and not self._stop.is_set() and time.monotonic() < deadline:
            fd = self._master
            if fd < 0:
                return
            try:
                _, ready, _ = select.select([], [fd], [], 0.05)
                if not ready:
                    continue
                n = os.write(fd, view[:chunk])
            except BlockingIOError:
                continue
            except OSError:
                return
            view = view[n:]
            if self.realtime:
                time.sleep(n * byte_time)

    def set_baud(self, baud: int) -> None:
        """The device now talks at ``baud`` (after a command that changes its rate, answered at the old one)."""
        self.baud = baud

    def handle(self, data: bytes) -> None:
        raise NotImplementedError


def control_loop(sim: Any, banner: str, commands: dict[str, Callable[[list[str]], object]], usage: str) -> None:
    """stdin commands for standalone simulator runs: the simulator's own ``commands`` plus the common
    ``fault NAME [TIMES] | clear | unplug | replug | quit``. Each accepted command answers ``ok <cmd>``."""
    table: dict[str, Callable[[list[str]], object]] = {
        **commands,
        "fault": lambda a: sim.inject(a[0], int(a[1]) if len(a) > 1 else None),
        "clear": lambda _a: sim.clear(),
        "unplug": lambda _a: sim.unplug(),
        "replug": lambda _a: sim.replug(),
    }
    usage = f"commands: {usage} | fault NAME [TIMES] | clear | unplug | replug | quit"
    print(banner, flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        if cmd in ("quit", "exit"):
            break
        handler = table.get(cmd)
        if handler is None:
            print(usage, flush=True)
            continue
        try:
            handler(args)
        except (ValueError, IndexError) as exc:
            print(f"error: {exc}", flush=True)
            continue
        print(f"ok {cmd} (port {sim.port})", flush=True)
