"""HL7 v2 over MLLP: the TCP listener a hospital's interface engine sends ADT messages to (issue 16.10).

Why a second door beside ``POST /patients/import/hl7v2``: most Chinese HIS interface engines speak HL7 v2 only over
the Minimal Lower Layer Protocol (HL7 v2.5 appendix C, "MLLP release 1"): each message framed as ``<VT> message
<FS><CR>`` (0x0B … 0x1C 0x0D) on a long-lived TCP connection, each answered by an ACK in the same frame, in order.

MLLP carries no credentials, so the listener acts as one API key the clinic's IT issued for the interface engine
(``IDVERIFY_MLLP_API_KEY_FILE``, role nurse, like the REST import): every message is attributed to that
integration in the audit trail, and revoking or expiring the key stops the listener's imports at the next message
(each is answered ``AR`` with the reason). It listens on localhost unless configured otherwise: put it behind the
clinic's VPN or a TLS tunnel, as MLLP itself has no encryption.

Bad input loses nothing and never kills the connection silently: bytes outside a frame are skipped, a frame
longer than the import limit or left unfinished for :data:`FRAME_TIMEOUT_S` is answered ``AR`` where the sender
can still be read, and the connection closed; a message refused for its content is answered ``AE``. The database
work runs on a worker thread, one message at a time per connection, so the event loop keeps serving the API.

It owns the framing and the connection loop only; what a message means is :mod:`idverify.workflow.his_import`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import structlog

from idverify.auth import service as auth_service
from idverify.auth.roles import Role
from idverify.context import AppContext
from idverify.errors import ErrorCode, IdverifyError, PermissionDenied, ValidationFailed
from idverify.workflow import his_import

log = structlog.get_logger(__name__)

START, END, CR = b"\x0b", b"\x1c", b"\x0d"
FRAME_TIMEOUT_S = 30.0  # a frame begun must end within this; an idle connection between frames may stay open
#: The largest frame read: the import limit in characters, at up to 4 bytes per character (UTF-8), plus framing.
MAX_FRAME_BYTES = 4 * his_import.HIS_MESSAGE_MAX + 16


def frame(message: str) -> bytes:
    """One MLLP block: ``<VT> message <FS><CR>`` (the ACK is ASCII plus the sender's own MSH fields, UTF-8)."""
    return START + message.encode("utf-8") + END + CR


class MllpListener:
    """A background subsystem: the MLLP server, started and stopped by the app's lifespan."""

    name = "mllp"

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.host, self.port = ctx.settings.mllp_host, ctx.settings.mllp_port
        self._server: asyncio.Server | None = None
        self._token = ""
        self.received = self.accepted = self.refused = 0
        self.error: str | None = None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (differs from the setting when it is 0 in tests)."""
        if self._server is None or not self._server.sockets:
            return self.port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._token = _read_key(self.ctx.settings.mllp_api_key_file)
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        log.info("mllp_listening", host=self.host, port=self.bound_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)
            self._server = None

    def health(self) -> list[dict[str, Any]]:
        """``degraded`` while the listener is down or its key is refused (HIS registrations then stop arriving)."""
        status = "ok" if self._server is not None and self.error is None else "degraded"
        detail = (f"listening on {self.host}:{self.bound_port}; {self.accepted} accepted, {self.refused} refused"
                  + (f"; API key refused: {self.error}" if self.error else ""))
        code = "key_refused" if self.error else "listening" if self._server is not None else "listener_down"
        return [{"kind": "interface", "name": "HL7 v2 MLLP listener", "status": status, "detail": detail,
                 "detail_code": code, "detail_args": {"address": f"{self.host}:{self.bound_port}"},
                 "received": self.received, "accepted": self.accepted, "refused": self.refused}]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader(reader)
        try:
            while True:
                try:
                    message = await frames.next()
                except FrameError as exc:
                    self.received += 1
                    self.refused += 1
                    log.warning("mllp_frame_refused", reason=exc.reason)
                    error = ValidationFailed(exc.reason, code=ErrorCode.HL7_INVALID)
                    writer.write(frame(his_import.reject_er7(exc.partial, error,
                                                             sender=self.ctx.settings.workstation_id)))
                    await writer.drain()
                    break  # the stream's framing is lost: the sender reconnects
                if message is None:
                    break
                ack = await asyncio.to_thread(self.handle, message)
                writer.write(frame(ack))
                await writer.drain()
        except ConnectionError:
            pass  # the sender left; each message it sent committed or rolled back whole
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def handle(self, raw: bytes) -> str:
        """Import one message as the listener's integration and answer its ACK (runs on a worker thread)."""
        self.received += 1
        sender = self.ctx.settings.workstation_id
        with self.ctx.session_factory() as db:
            try:
                principal = auth_service.authenticate_api_key(db, self._token, default_workstation=sender)
                if principal.role is not Role.NURSE:
                    raise PermissionDenied("the MLLP listener's API key must have the role nurse",
                                           code=ErrorCode.FORBIDDEN)
            except IdverifyError as exc:
                db.rollback()
                self.refused += 1
                self.error = exc.code
                log.warning("mllp_key_refused", code=exc.code)
                return his_import.reject_er7(raw, exc, sender=sender)
            self.error = None
            ack = his_import.import_er7(db, self.ctx.keys, principal, raw, None, sender=sender)
        if "\rMSA|AA|" in ack:
            self.accepted += 1
        else:
            self.refused += 1
        return ack


class FrameError(Exception):
    """A frame that cannot be read whole: too long, or not finished in time. ``partial`` is what arrived of it."""

    def __init__(self, reason: str, partial: bytes) -> None:
        super().__init__(reason)
        self.reason, self.partial = reason, partial


class FrameReader:
    """MLLP blocks from a byte stream: bytes outside a block are skipped, a block may arrive in any pieces."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buffer = bytearray()

    async def next(self) -> bytes | None:
        """The next message, None at the end of the stream (a block cut off by it is dropped: never imported)."""
        while (start := self.buffer.find(START)) < 0:
            self.buffer.clear()  # idle bytes (keep-alive newlines) between blocks
            if not await self._fill(None):
                return None
        del self.buffer[:start + 1]
        deadline = asyncio.get_running_loop().time() + FRAME_TIMEOUT_S
        while (end := self.buffer.find(END + CR)) < 0:
            if len(self.buffer) > MAX_FRAME_BYTES:
                raise FrameError(f"the frame is longer than {MAX_FRAME_BYTES} bytes", bytes(self.buffer[:4096]))
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                if remaining <= 0 or not await self._fill(remaining):
                    if remaining <= 0:
                        raise TimeoutError
                    return None
            except TimeoutError:
                raise FrameError(f"the frame did not end within {FRAME_TIMEOUT_S:.0f} s",
                                 bytes(self.buffer[:4096])) from None
        message = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return message

    async def _fill(self, timeout: float | None) -> bool:
        chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
        self.buffer += chunk
        return bool(chunk)


def _read_key(path: Path | None) -> str:
    """The integration's API key, read at start: a listener without one would import as nobody, so it stops the
    daemon with the setting to fix."""
    if path is None:
        raise IdverifyError("IDVERIFY_MLLP_PORT is set but IDVERIFY_MLLP_API_KEY_FILE is not: issue an API key with "
                            "the role nurse for the interface engine and put it in that file",
                            code=ErrorCode.CONFIG_ERROR)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise IdverifyError(f"cannot read IDVERIFY_MLLP_API_KEY_FILE ({exc.strerror})",
                            code=ErrorCode.CONFIG_ERROR) from None
    if not token:
        raise IdverifyError("IDVERIFY_MLLP_API_KEY_FILE is empty", code=ErrorCode.CONFIG_ERROR)
    return token
