"""Local TCP ports for the demos and benchmarks that start servers of their own (the scenario's daemon, the hub demo's
hub and clinics, the load and hub benchmarks).

Owns: picking a free port. Must not touch: the daemon's configured port (settings decide that).
"""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, chosen by the OS (another process may take it before ours binds it:
    fine for a demo or a benchmark on one machine, never used for the daemon's configured port)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
