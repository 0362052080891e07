"""PC/SC card readers (pcscd through pyscard) and reading an eMRTD passport on one.

Owns: reader discovery, card presence and insert/remove events, connecting and transmitting APDUs with
timeouts, and mapping PC/SC failures to idverify's device error codes (``device_unavailable`` when pcscd or the
reader is missing, ``no_card``, ``card_removed`` when the card leaves mid-read, ``capture_timeout``).
The eMRTD protocol itself lives in :mod:`idverify.documents.emrtd`; this module knows nothing of
patients and never logs document contents.

Public interface (called by the device manager, ``idverify card read`` and the REST layer)::

    list_readers() -> list[str]
    reader = PcscReader("Virtual PCD 00 00")   # name or substring (Settings.pcsc_reader)
    reader.card_present() -> bool
    reader.wait_for_card(timeout) -> bool       # True once a card is in the field
    reader.wait_for_removal(timeout) -> bool
    reader.events(stop_event, timeout=None)     # current state, then each "inserted" / "removed"
    read_emrtd(reader, mrz_keys, csca_dir, *, card_wait=0.0, timeout=30.0) -> IdentityDocument
    read_emrtd_result(...) -> ReadResult        # same, plus raw files, APDU count, seconds, "BAC"/"PACE-AES"

The read uses PACE when the chip offers a supported PACEInfo in EF.CardAccess, else BAC; both are keyed by
the three MRZ fields the nurse types (:class:`idverify.documents.mrz.BacKeys`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from idverify.documents.emrtd.passive_auth import load_trust_store
from idverify.documents.emrtd.reader import ReadResult, read_document
from idverify.documents.model import IdentityDocument
from idverify.documents.mrz import BacKeys
from idverify.errors import DeviceError, DeviceTimeout, DeviceUnavailable, ErrorCode

log = structlog.get_logger(__name__)

#: Longest a single APDU may take before the read is abandoned (a stuck driver must not hang a nurse).
#: A passport answers in milliseconds; pcscd itself waits much longer for a card that stopped talking.
APDU_TIMEOUT_S = 5.0
#: How long pcscd may take to notice a card has gone after a failed exchange (it polls vpcd every 400 ms).
REMOVAL_GRACE_S = 1.0
CARD_REMOVED_MESSAGE = "the card was removed during reading; present it again and hold it still"


class NoCard(DeviceError):
    code = ErrorCode.NO_CARD
    status_code = 422


class CardRemoved(DeviceError):
    code = ErrorCode.CARD_REMOVED
    status_code = 422


def _scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:  # pragma: no cover - pyscard is a hard dependency
        raise DeviceUnavailable("pyscard is not installed") from exc
    return scard


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF


class _Context:
    """A PC/SC context; every failure to establish one means pcscd is not reachable."""

    def __init__(self) -> None:
        self.scard = _scard()
        hresult, self.handle = self.scard.SCardEstablishContext(self.scard.SCARD_SCOPE_USER)
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise DeviceUnavailable("the PC/SC service (pcscd) is not running")

    def close(self) -> None:
        self.scard.SCardReleaseContext(self.handle)

    def readers(self) -> list[str]:
        hresult, names = self.scard.SCardListReaders(self.handle, [])
        if _u32(hresult) == _u32(self.scard.SCARD_E_NO_READERS_AVAILABLE):
            return []
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise DeviceUnavailable("the PC/SC service (pcscd) did not list its readers")
        return list(names)

    def state(self, reader: str, known: int, timeout_ms: int) -> int | None:
        """The reader's event state, waiting up to ``timeout_ms`` for it to differ from ``known``;
        None on timeout."""
        hresult, states = self.scard.SCardGetStatusChange(self.handle, timeout_ms, [(reader, known)])
        if _u32(hresult) == _u32(self.scard.SCARD_E_TIMEOUT):
            return None
        if hresult != self.scard.SCARD_S_SUCCESS:
            if _u32(hresult) in (_u32(self.scard.SCARD_E_UNKNOWN_READER),
                                 _u32(self.scard.SCARD_E_READER_UNAVAILABLE)):
                raise DeviceUnavailable("the PC/SC reader is no longer available")
            raise DeviceUnavailable("the PC/SC service (pcscd) stopped answering")
        return int(states[0][1]) & ~int(self.scard.SCARD_STATE_CHANGED)


def list_readers() -> list[str]:
    """Names of the PC/SC readers pcscd knows now. Raises ``device_unavailable`` when pcscd is down."""
    ctx = _Context()
    try:
        return ctx.readers()
    finally:
        ctx.close()


class PcscConnection:
    """A connected card. ``transmit`` enforces :data:`APDU_TIMEOUT_S` per APDU and maps failures."""

    def __init__(self, reader: PcscReader, ctx: _Context, card: Any, protocol: int) -> None:
        self._reader = reader
        self._ctx = ctx
        self._card = card
        self._protocol = protocol
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pcsc-apdu")
        self._broken = False
        self._stuck = False  # a transmit never returned; its worker thread still holds the card handle

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """One command, with the ISO 7816-3 T=0 transport rules applied: ``61xx`` collects the rest with
        GET RESPONSE, ``6Cxx`` repeats the command with the length the card asked for."""
        data, sw = self._exchange(apdu)
        if sw >> 8 == 0x6C and len(apdu) >= 5:
            data, sw = self._exchange(apdu[:-1] + bytes([sw & 0xFF]))
        collected = data
        for _ in range(64):  # bounded: a card cannot keep us here
            if sw >> 8 != 0x61:
                break
            data, sw = self._exchange(bytes([apdu[0] & 0x03, 0xC0, 0x00, 0x00, sw & 0xFF]))
            collected += data
        return collected, sw

    def _exchange(self, apdu: bytes) -> tuple[bytes, int]:
        if self._broken:
            raise CardRemoved("the connection to the card was lost; present the document again")
        scard = self._ctx.scard
        future = self._pool.submit(scard.SCardTransmit, self._card, self._protocol, list(apdu))
        try:
            hresult, response = future.result(timeout=APDU_TIMEOUT_S)
        except FutureTimeout:
            self._broken = self._stuck = True
            log.warning("pcsc_apdu_timeout", seconds=APDU_TIMEOUT_S)
            raise DeviceTimeout("the card reader did not answer in time; lift the document and present it again")\
                from None
        if hresult != scard.SCARD_S_SUCCESS:
            self._broken = True
            raise self._failure(hresult)
        if len(response) < 2:
            # vpcd and some contactless readers report a card leaving the field as an empty response.
            self._broken = True
            if self._reader.wait_for_removal(REMOVAL_GRACE_S):
                log.info("pcsc_card_removed", pcsc_error="empty response")
                return_error: DeviceError = CardRemoved(CARD_REMOVED_MESSAGE)
            else:
                return_error = DeviceError("the card reader returned a truncated response")
            raise return_error
        data = bytes(response)
        return data[:-2], int.from_bytes(data[-2:], "big")

    def _failure(self, hresult: int) -> DeviceError:
        scard = self._ctx.scard
        code = _u32(hresult)
        removed = {_u32(scard.SCARD_W_REMOVED_CARD), _u32(scard.SCARD_E_NO_SMARTCARD),
                   _u32(scard.SCARD_W_RESET_CARD), _u32(scard.SCARD_E_NOT_TRANSACTED),
                   _u32(scard.SCARD_W_UNPOWERED_CARD), _u32(scard.SCARD_F_COMM_ERROR)}
        if code == _u32(scard.SCARD_E_NO_SERVICE):
            return DeviceUnavailable("the PC/SC service (pcscd) stopped")
        if code in (_u32(scard.SCARD_E_READER_UNAVAILABLE), _u32(scard.SCARD_E_UNKNOWN_READER)):
            return DeviceUnavailable("the card reader was disconnected")
        if code in removed or self._reader.wait_for_removal(REMOVAL_GRACE_S):
            log.info("pcsc_card_removed", pcsc_error=hex(code))
            return CardRemoved(CARD_REMOVED_MESSAGE)
        log.warning("pcsc_transmit_failed", pcsc_error=hex(code))
        return DeviceError("the card reader reported a communication error")

    def _release(self) -> None:
        scard = self._ctx.scard
        try:
            scard.SCardDisconnect(self._card, scard.SCARD_RESET_CARD)
        except Exception:  # disconnecting a vanished card may fail; nothing left to do
            log.debug("pcsc_disconnect_failed")
        self._ctx.close()

    def close(self) -> None:
        """Disconnect and release the context. After an APDU timeout this is queued behind the stuck
        transmit on the worker thread instead, so closing never blocks the caller."""
        if self._stuck:
            self._pool.submit(self._release)
            self._pool.shutdown(wait=False)
            return
        self._release()
        self._pool.shutdown(wait=False, cancel_futures=True)


class PcscReader:
    """One PC/SC reader, chosen by (a substring of) its name. Thread-safe: one operation at a time."""

    def __init__(self, name_substring: str) -> None:
        names = list_readers()
        matches = [n for n in names if name_substring.lower() in n.lower()]
        if not matches:
            raise DeviceUnavailable("no PC/SC reader matches the configured name")
        self.name = matches[0]
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PcscReader({self.name!r})"

    def _state(self, known: int, timeout: float) -> int | None:
        ctx = _Context()
        try:
            return ctx.state(self.name, known, max(0, int(timeout * 1000)))
        finally:
            ctx.close()

    def _present(self, state: int) -> bool:
        scard = _scard()
        return bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE

    def card_present(self) -> bool:
        state = self._state(_scard().SCARD_STATE_UNAWARE, 0)
        return state is not None and self._present(state)

    def _wait(self, want_present: bool, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        state = self._state(_scard().SCARD_STATE_UNAWARE, 0)
        while state is not None and self._present(state) != want_present:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            changed = self._state(state, min(remaining, 1.0))
            state = state if changed is None else changed
        return state is not None

    def wait_for_card(self, timeout: float) -> bool:
        """Block until a card is in the field (True) or ``timeout`` seconds pass (False). Event-driven
        (SCardGetStatusChange), so an insert is seen at once."""
        return self._wait(True, timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        return self._wait(False, timeout)

    def events(self, stop: threading.Event | None = None, *, timeout: float | None = None) -> Iterator[str]:
        """Yield ``"inserted"`` / ``"removed"`` as cards come and go, until ``stop`` is set or ``timeout``
        seconds pass. The first item is the state at the start (``"inserted"`` when a card is already there,
        else ``"removed"``), so a consumer never misses a card placed while it was starting. A card swapped
        faster than pcscd polls still yields both (pcsc-lite's event counter in the reader state changes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ctx = _Context()
        try:
            state = ctx.state(self.name, _scard().SCARD_STATE_UNAWARE, 0)
            if state is not None:
                yield "inserted" if self._present(state) else "removed"
            while state is not None and not (stop is not None and stop.is_set()):
                if deadline is not None and time.monotonic() >= deadline:
                    return
                changed = ctx.state(self.name, state, 200)
                if changed is None or changed == state:
                    continue
                before, after = self._present(state), self._present(changed)
                if before and after and (changed >> 16) != (state >> 16):
                    yield "removed"
                    yield "inserted"
                elif before != after:
                    yield "inserted" if after else "removed"
                state = changed
        finally:
            ctx.close()

    @contextmanager
    def connect(self) -> Iterator[PcscConnection]:
        """Connect to the card now in the reader (``no_card`` if there is none)."""
        with self._lock:
            ctx = _Context()
            scard = ctx.scard
            hresult, card, protocol = scard.SCardConnect(
                ctx.handle, self.name, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
            )
            if hresult != scard.SCARD_S_SUCCESS:
                ctx.close()
                code = _u32(hresult)
                if code in (_u32(scard.SCARD_E_NO_SMARTCARD), _u32(scard.SCARD_W_REMOVED_CARD),
                            _u32(scard.SCARD_W_UNRESPONSIVE_CARD), _u32(scard.SCARD_W_UNPOWERED_CARD)):
                    raise NoCard("no card on the reader: place the passport's photo page on it")
                if code == _u32(scard.SCARD_E_NO_SERVICE):
                    raise DeviceUnavailable("the PC/SC service (pcscd) is not running")
                raise DeviceUnavailable("could not connect to the card reader")
            connection = PcscConnection(self, ctx, card, protocol)
            try:
                yield connection
            finally:
                connection.close()


def read_emrtd_result(
    reader: PcscReader,
    mrz_keys: BacKeys,
    csca_dir: Path | None,
    *,
    card_wait: float = 0.0,
    timeout: float = 30.0,
) -> ReadResult:
    """Like :func:`read_emrtd` but returns the full :class:`ReadResult` (raw files, APDU count, seconds)."""
    if not reader.card_present() and not reader.wait_for_card(card_wait):
        raise NoCard("no card on the reader: place the passport's photo page on it")
    anchors = load_trust_store(csca_dir)
    with reader.connect() as connection:
        return read_document(connection, mrz_keys, anchors, timeout=timeout, source=f"pcsc:{reader.name}")


def read_emrtd(
    reader: PcscReader,
    mrz_keys: BacKeys,
    csca_dir: Path | None,
    *,
    card_wait: float = 0.0,
    timeout: float = 30.0,
) -> IdentityDocument:
    """Read a passport (BAC, DG1 + DG2, passive authentication against ``csca_dir``).

    Raises DeviceError subclasses with the codes ``device_unavailable``, ``no_card`` (none within
    ``card_wait`` seconds), ``card_removed``, ``bac_failed``, ``capture_timeout``."""
    return read_emrtd_result(reader, mrz_keys, csca_dir, card_wait=card_wait, timeout=timeout).document
