"""Secure messaging with 3DES (BAC, PACE-3DES) or AES (PACE) session keys, terminal side (ICAO 9303-11 §9.8).

Owns wrapping command APDUs (DO87 encrypted data, DO97 expected length, DO8E MAC over SSC ‖ padded masked
header ‖ data objects) and unwrapping responses (MAC over SSC ‖ DO87 ‖ DO99, then decryption). The send
sequence counter is incremented once before each command and once before each response, exactly as the
chip does, so a dropped or replayed message breaks the MAC. Any verification failure is fatal for the
session: ICAO requires the terminal to stop, and so do we (:class:`SecureMessagingError`).

AES differs from 3DES only in block size (16), SSC length (16 bytes, starting at 0 after PACE), the IV
(E(KSenc, SSC) instead of zero) and the MAC (AES-CMAC truncated to 8 bytes instead of the retail MAC).
"""

from __future__ import annotations

import hmac

from idverify.documents.emrtd import crypto
from idverify.documents.emrtd.bac import SessionKeys
from idverify.documents.emrtd.tlv import encode_length, iter_tlv
from idverify.errors import DeviceError, ErrorCode


class SecureMessagingError(DeviceError):
    """The chip's secure-messaging response did not verify, or the chip reported an SM error."""

    code = ErrorCode.DEVICE_ERROR
    status_code = 502


class SecureMessaging:
    """One session's SM state. One instance per session; not thread-safe (one APDU at a time)."""

    def __init__(self, session: SessionKeys) -> None:
        self._ks_enc = session.ks_enc
        self._ks_mac = session.ks_mac
        self.ssc = session.ssc
        self._aes = session.cipher == "aes"
        self._ssc_len = 16 if self._aes else 8

    def _next_ssc(self) -> bytes:
        self.ssc = (self.ssc + 1) % (1 << (8 * self._ssc_len))
        return self.ssc.to_bytes(self._ssc_len, "big")

    def _pad(self, data: bytes) -> bytes:
        return crypto.pad16(data) if self._aes else crypto.pad(data)

    def _mac(self, data: bytes) -> bytes:
        padded = self._pad(data)
        return crypto.aes_cmac8(self._ks_mac, padded) if self._aes else crypto.retail_mac(self._ks_mac, padded)

    def _encrypt(self, ssc: bytes, data: bytes) -> bytes:
        if self._aes:
            return crypto.aes_encrypt(self._ks_enc, crypto.pad16(data), crypto.aes_block(self._ks_enc, ssc))
        return crypto.tdes_encrypt(self._ks_enc, crypto.pad(data))

    def _decrypt(self, ssc: bytes, data: bytes) -> bytes:
        if self._aes:
            return crypto.unpad16(crypto.aes_decrypt(self._ks_enc, data, crypto.aes_block(self._ks_enc, ssc)))
        return crypto.unpad(crypto.tdes_decrypt(self._ks_enc, data))

    def protect(self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
        """The protected short APDU for a plain command. ``le`` 256 is encoded as ``00`` as usual."""
        header = bytes([cla | 0x0C, ins, p1, p2])
        ssc = self._next_ssc()
        objects = b""
        if data:
            cipher = b"\x01" + self._encrypt(ssc, data)
            objects += b"\x87" + encode_length(len(cipher)) + cipher
        if le is not None:
            objects += b"\x97\x01" + bytes([le % 256])
        mac = self._mac(ssc + self._pad(header) + objects)
        body = objects + b"\x8e\x08" + mac
        if len(body) > 255:
            raise ValueError("command too long for a short APDU")
        return header + bytes([len(body)]) + body + b"\x00"

    def unprotect(self, response: bytes, sw: int) -> tuple[bytes, int]:
        """Verify and decrypt a protected response; returns (plain data, status word from DO99)."""
        ssc = self._next_ssc()
        if not response:
            # Success must be protected. SM errors (6987 missing objects, 6988 bad objects) end the session.
            # Some chips answer other errors (6A82 file not found …) in plain; such a status carries no data,
            # so passing it through cannot smuggle content past the MAC.
            if sw == 0x9000 or sw in (0x6987, 0x6988):
                raise SecureMessagingError(f"the document ended secure messaging (status {sw:04X})")
            return b"", sw
        do87 = do99 = mac = None
        covered = b""
        try:
            for tag, value, raw in iter_tlv(response):
                if tag == 0x87:
                    do87, covered = value, covered + raw
                elif tag == 0x99:
                    do99, covered = value, covered + raw
                elif tag == 0x8E:
                    mac = value
        except ValueError as exc:
            raise SecureMessagingError("malformed secure-messaging response from the document") from exc
        if mac is None or do99 is None or len(do99) != 2:
            raise SecureMessagingError("secure-messaging response lacks its MAC or status")
        expected = self._mac(ssc + covered)
        if not hmac.compare_digest(expected, mac):
            raise SecureMessagingError("secure-messaging MAC of the document's response does not verify")
        plain = b""
        if do87 is not None:
            if not do87 or do87[0] != 0x01:
                raise SecureMessagingError("unsupported padding indicator in the document's response")
            try:
                plain = self._decrypt(ssc, do87[1:])
            except ValueError as exc:
                raise SecureMessagingError("bad padding in the document's encrypted response") from exc
        return plain, int.from_bytes(do99, "big")
