"""Servers for tests: a free local port, an ASGI app served by uvicorn in a thread (the browser tests drive a
real HTTP server; the app object stays in the test process so fixtures can reach its state), and the daemon or
the hub as a real process (the kill -9 tests)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it; tiny race with other processes, fine for tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(app: Any, port: int | None = None, *, start_timeout_s: float = 60.0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a daemon thread (lifespan on) until the block ends; yields the base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"idverify-test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def idverify_process(args: list[str], env: dict[str, str], cwd: str, health_url: str, *,
                     healthy: tuple[int, ...] = (200,), start_timeout_s: float = 60.0
                     ) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m idverify ARGS`` as a real process (for kill -9 tests), yielded once ``health_url`` answers one
    of ``healthy``; stopped with SIGTERM (then SIGKILL) at the end unless the test killed it already."""
    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "idverify", *args], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()[-2000:]
            try:
                if httpx.get(health_url, timeout=1).status_code in healthy:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"idverify {' '.join(args)} did not start within {start_timeout_s} s"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
