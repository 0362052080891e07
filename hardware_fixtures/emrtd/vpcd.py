"""The vpcd wire protocol, card side: connect to the vpcd driver inside pcscd and serve the chip.

vsmartcard's ``vpcd`` reader driver (Debian ``vsmartcard-vpcd``; ``/etc/reader.conf.d/vpcd``,
``DEVICENAME /dev/null:0x8C7B``) *listens* on TCP 35963 for reader slot ``Virtual PCD 00 00`` (35964 for
``… 00 01``). A virtual card *connects* to it: connected = card inserted, disconnected = card removed. Each
message is a 2-byte big-endian length and a payload. A 1-byte payload is a control code (00 power off,
01 power on, 02 reset, 04 get ATR — only the last is answered, with the ATR); anything longer is a C-APDU,
answered with the R-APDU.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from hardware_fixtures.emrtd.card import ATR, CardPulled, CardStalled, EmrtdChip

VPCD_PORT = 35963
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        # vpcd writes the length and the APDU separately; without quick ACKs, Nagle on its side waits for
        # our delayed ACK (~40 ms) before sending the APDU. Linux only; harmless to skip elsewhere.
        if hasattr(socket, "TCP_QUICKACK"):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class VirtualCard:
    """Insert (connect) and remove (disconnect) a chip on the vpcd reader. Thread-based; one chip per slot."""

    def __init__(self, chip: EmrtdChip, *, host: str = "127.0.0.1", port: int = VPCD_PORT) -> None:
        self.chip = chip
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.apdus = 0

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 5.0) -> None:
        """Connect to vpcd (retrying until ``timeout``: pcscd may still be starting)."""
        if self.inserted:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.chip.power_on()
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="vpcd-card", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Disconnect: pcscd sees the card leave the field."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def __enter__(self) -> VirtualCard:
        self.insert()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                head = _recv_exact(sock, 2)
                if head is None:
                    break
                payload = _recv_exact(sock, int.from_bytes(head, "big"))
                if payload is None:
                    break
                if len(payload) == 1:
                    code = payload[0]
                    if code == GET_ATR:
                        self._send(sock, ATR)
                    elif code in (POWER_ON, RESET):
                        self.chip.power_on()
                    elif code == POWER_OFF:
                        self.chip.power_on()  # state is lost either way
                    continue
                self.apdus += 1
                try:
                    response = self.chip.process(payload)
                except CardPulled:
                    break
                except CardStalled:
                    # Stay in the field without answering until removed (recv then returns EOF).
                    while sock.recv(4096):
                        pass
                    break
                self._send(sock, response)
        except OSError:
            pass
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock = None
            with contextlib.suppress(OSError):
                sock.close()
