"""The chip: an ISO 7816-4 / ICAO 9303-11 card-side state machine (APDU in, R-APDU out).

Implements SELECT (application by AID, EF by file identifier), GET CHALLENGE, EXTERNAL AUTHENTICATE (BAC,
3DES), and 3DES secure messaging for protected SELECT and READ BINARY, as a real eMRTD does: plain file
access before BAC is refused with 6982, a wrong SM MAC ends the session with 6988, a failed BAC answers
6300. The card-side SM code here is written independently of the terminal's :mod:`idverify.documents.emrtd.sm`
(only the byte-level primitives in ``crypto`` are shared; those are pinned by ICAO's worked example).

Fault injection (:class:`Faults`) covers what tests need: a card pulled after N reads, a chip that answers
with a bad MAC, and tampered files (built by :func:`..identity.build_files`).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from idverify.documents.emrtd import crypto
from idverify.documents.emrtd import pace as pace_protocol
from idverify.documents.emrtd.ec import STANDARD_CURVES, Curve, Point
from idverify.documents.emrtd.tlv import find, iter_tlv, tlv
from idverify.documents.mrz import BacKeys

AID = bytes.fromhex("A0000002471001")
FID_CARD_ACCESS = 0x011C
#: ISO 14443-4 card with T=1 and no historical bytes (the PC/SC part 3 contactless convention).
#: T0=80 (TD1 follows), TD1=80 (TD2 follows, T=0), TD2=01 (T=1), TCK = 80^80^01 = 01.
ATR = bytes.fromhex("3B80800101")


def _sw(value: int) -> bytes:
    return value.to_bytes(2, "big")


SW_OK, SW_EOF, SW_AUTH_FAILED = 0x9000, 0x6282, 0x6300
SW_SECURITY, SW_SM_OBJECTS, SW_NOT_FOUND = 0x6982, 0x6988, 0x6A82
SW_WRONG_P1P2, SW_INS, SW_CLA, SW_CONDITIONS = 0x6B00, 0x6D00, 0x6E00, 0x6985


class CardPulled(Exception):
    """Raised by :meth:`EmrtdChip.process` when a fault says the card leaves the field now."""


class CardStalled(Exception):
    """Raised by :meth:`EmrtdChip.process` when a fault says the chip stops answering (but stays)."""


@dataclass(frozen=True)
class PaceConfig:
    """The chip's PACE offer: one PACEInfo (protocol OID, standardized domain parameters)."""

    oid: str = "0.4.0.127.0.7.2.2.4.2.2"  # id-PACE-ECDH-GM-AES-CBC-CMAC-128
    parameter_id: int = 13  # brainpoolP256r1

    @property
    def info(self) -> pace_protocol.PaceInfo:
        return pace_protocol.PaceInfo(self.oid, 2, self.parameter_id)

    @property
    def curve(self) -> Curve:
        return STANDARD_CURVES[self.parameter_id]

    def card_access(self) -> bytes:
        """EF.CardAccess: SET OF { PACEInfo { protocol, version 2, parameterId } }."""
        info = tlv(0x06, self.info.oid_bytes) + tlv(0x02, b"\x02") + tlv(0x02, bytes([self.parameter_id]))
        return tlv(0x31, tlv(0x30, info))


@dataclass
class _PaceState:
    s: int = 0
    generator: Point = None
    terminal: bytes = b""
    chip: bytes = b""
    ks_enc: bytes = b""
    ks_mac: bytes = b""


@dataclass
class Faults:
    pull_after_reads: int | None = None  # READ BINARY commands answered before the card "leaves the field"
    bad_response_mac: bool = False  # corrupt the MAC of protected responses
    stall_after_reads: int | None = None  # READ BINARY commands answered before the chip goes silent


class EmrtdChip:
    def __init__(self, files: dict[int, bytes], keys: BacKeys, *, faults: Faults | None = None,
                 rng: Callable[[int], bytes] = os.urandom, pace: PaceConfig | None = None,
                 bac: bool = True) -> None:
        self.files = files
        self.faults = faults or Faults()
        self._rng = rng
        seed = crypto.key_seed(keys.mrz_information())
        self._k_enc = crypto.derive_key(seed, crypto.ENC_COUNTER)
        self._k_mac = crypto.derive_key(seed, crypto.MAC_COUNTER)
        self._password = pace_protocol.password_key(keys)
        self.pace = pace
        self.bac = bac
        self.card_access = pace.card_access() if pace else None
        self.reads = 0
        self.power_on()

    # --- power and session state
    def power_on(self) -> None:
        self._app_selected = False
        self._challenge: bytes | None = None
        self._ks_enc = self._ks_mac = b""
        self._ssc = 0
        self._aes = False
        self._authenticated = False
        self._current: int | None = None
        self._mf_file: int | None = None  # EF.CardAccess, readable in plain before authentication
        self._pace_step = 0
        self._pace = _PaceState()

    def _end_session(self) -> None:
        self._authenticated = False
        self._current = None

    # --- dispatch
    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return _sw(0x6700)
        cla, ins = apdu[0], apdu[1]
        if cla & 0x0C == 0x0C:
            return self._secure(apdu)
        if cla == 0x10 and ins == 0x86:  # command chaining: the first three PACE steps
            return self._general_authenticate(apdu)
        if cla != 0x00:
            return _sw(SW_CLA)
        if ins == 0xA4:
            return self._plain_select(apdu)
        if ins == 0x84:
            return self._get_challenge(apdu)
        if ins == 0x82:
            return self._external_authenticate(apdu)
        if ins == 0xB0:
            # Plain READ BINARY: only EF.CardAccess; the application's files need BAC or PACE.
            if self._mf_file is not None and self.card_access is not None and not self._authenticated:
                offset, le = (apdu[2] << 8) | apdu[3], (apdu[4] if len(apdu) > 4 else 0) or 256
                chunk = self.card_access[offset : offset + le]
                return chunk + _sw(SW_OK if len(chunk) == le else SW_EOF)
            return _sw(SW_SECURITY)
        if ins == 0x22:
            return self._mse_set_at(apdu)
        if ins == 0x86:
            return self._general_authenticate(apdu)
        return _sw(SW_INS)

    def _plain_select(self, apdu: bytes) -> bytes:
        p1, data = apdu[2], apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if p1 == 0x04:
            if data == AID:
                self.power_on()
                self._app_selected = True
                return _sw(SW_OK)
            return _sw(SW_NOT_FOUND)
        if p1 == 0x02 and data == FID_CARD_ACCESS.to_bytes(2, "big") and not self._app_selected:
            if self.card_access is None:
                return _sw(SW_NOT_FOUND)
            self._mf_file = FID_CARD_ACCESS
            return _sw(SW_OK)
        return _sw(SW_SECURITY)  # EFs of the eMRTD application need BAC or PACE

    def _get_challenge(self, apdu: bytes) -> bytes:
        if not self.bac:
            return _sw(SW_SECURITY)
        if not self._app_selected or len(apdu) != 5 or apdu[4] != 8:
            return _sw(SW_CONDITIONS if not self._app_selected else SW_WRONG_P1P2)
        self._challenge = self._rng(8)
        return self._challenge + _sw(SW_OK)

    def _external_authenticate(self, apdu: bytes) -> bytes:
        challenge, self._challenge = self._challenge, None  # one attempt per challenge
        if challenge is None or len(apdu) < 5 + 40 or apdu[4] != 40:
            return _sw(SW_CONDITIONS)
        data = apdu[5:45]
        e_ifd, m_ifd = data[:32], data[32:]
        if not hmac.compare_digest(crypto.retail_mac(self._k_mac, crypto.pad(e_ifd)), m_ifd):
            return _sw(SW_AUTH_FAILED)
        plain = crypto.tdes_decrypt(self._k_enc, e_ifd)
        rnd_ifd, rnd_ic, k_ifd = plain[0:8], plain[8:16], plain[16:32]
        if rnd_ic != challenge:
            return _sw(SW_AUTH_FAILED)
        k_ic = self._rng(16)
        e_ic = crypto.tdes_encrypt(self._k_enc, rnd_ic + rnd_ifd + k_ic)
        m_ic = crypto.retail_mac(self._k_mac, crypto.pad(e_ic))
        seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
        self._ks_enc = crypto.derive_key(seed, crypto.ENC_COUNTER)
        self._ks_mac = crypto.derive_key(seed, crypto.MAC_COUNTER)
        self._ssc = int.from_bytes(rnd_ic[4:8] + rnd_ifd[4:8], "big")
        self._authenticated = True
        self._current = None
        return e_ic + m_ic + _sw(SW_OK)

    # --- secure messaging
    def _next_ssc(self) -> bytes:
        size = 16 if self._aes else 8
        self._ssc = (self._ssc + 1) % (1 << (8 * size))
        return self._ssc.to_bytes(size, "big")

    # --- PACE (chip side of ICAO 9303-11 §4.4, generic mapping)
    def _mse_set_at(self, apdu: bytes) -> bytes:
        if self.pace is None or apdu[2:4] != b"\xc1\xa4" or len(apdu) < 5:
            return _sw(SW_WRONG_P1P2 if self.pace else SW_INS)
        body = apdu[5 : 5 + apdu[4]]
        try:
            oid, password = find(body, 0x80), find(body, 0x83)
        except ValueError:
            return _sw(0x6A80)
        if oid != self.pace.info.oid_bytes or password != b"\x01":
            return _sw(0x6A80)
        self._pace_step, self._pace = 1, _PaceState()
        self._authenticated = False
        return _sw(SW_OK)

    def _pace_fail(self) -> bytes:
        self._pace_step, self._pace = 0, _PaceState()
        return _sw(SW_AUTH_FAILED)

    def _general_authenticate(self, apdu: bytes) -> bytes:
        if self.pace is None or self._pace_step == 0 or len(apdu) < 5:
            return _sw(SW_CONDITIONS)
        try:
            inner = find(apdu[5 : 5 + apdu[4]], 0x7C)
        except ValueError:
            return self._pace_fail()
        if inner is None:
            return self._pace_fail()
        cipher, bits = pace_protocol.PACE_PROTOCOLS[self.pace.info.oid]
        curve = self.pace.curve
        state = self._pace
        try:
            if self._pace_step == 1:
                nonce = self._rng(16 if cipher == "aes" else 8)
                k_pi = pace_protocol.kdf(self._password, 3, cipher, bits)
                z = crypto.aes_encrypt(k_pi, nonce) if cipher == "aes" else crypto.tdes_encrypt(k_pi, nonce)
                state.s = int.from_bytes(nonce, "big")
                self._pace_step = 2
                return tlv(0x7C, tlv(0x80, z)) + _sw(SW_OK)
            if self._pace_step == 2:
                terminal_map = curve.decode(find(inner, 0x81) or b"")
                private, public = curve.keypair(curve.g)
                shared = curve.multiply(private, terminal_map)
                state.generator = curve.add(curve.multiply(state.s, curve.g), shared)
                self._pace_step = 3
                return tlv(0x7C, tlv(0x82, curve.encode(public))) + _sw(SW_OK)
            if self._pace_step == 3:
                terminal_raw = find(inner, 0x83) or b""
                terminal_eph = curve.decode(terminal_raw)
                private, public = curve.keypair(state.generator)
                secret = curve.multiply(private, terminal_eph)
                if secret is None:
                    return self._pace_fail()
                k = secret[0].to_bytes(curve.size, "big")
                state.terminal, state.chip = terminal_raw, curve.encode(public)
                state.ks_enc = pace_protocol.kdf(k, 1, cipher, bits)
                state.ks_mac = pace_protocol.kdf(k, 2, cipher, bits)
                self._pace_step = 4
                return tlv(0x7C, tlv(0x84, curve.encode(public))) + _sw(SW_OK)
            if self._pace_step == 4 and apdu[0] == 0x00:
                oid = self.pace.info.oid_bytes
                expected = pace_protocol.auth_token(state.ks_mac, oid, state.chip, cipher)
                if not hmac.compare_digest(find(inner, 0x85) or b"", expected):
                    return self._pace_fail()
                token = pace_protocol.auth_token(state.ks_mac, oid, state.terminal, cipher)
                self._ks_enc, self._ks_mac, self._ssc = state.ks_enc, state.ks_mac, 0
                self._aes = cipher == "aes"
                self._authenticated, self._app_selected, self._current = True, False, None
                self._pace_step, self._pace = 0, _PaceState()
                return tlv(0x7C, tlv(0x86, token)) + _sw(SW_OK)
        except ValueError:
            return self._pace_fail()
        return self._pace_fail()

    # --- secure messaging (3DES after BAC, AES or 3DES after PACE)
    def _sm_pad(self, data: bytes) -> bytes:
        return crypto.pad16(data) if self._aes else crypto.pad(data)

    def _sm_mac(self, data: bytes) -> bytes:
        if self._aes:
            return crypto.aes_cmac8(self._ks_mac, crypto.pad16(data))
        return crypto.retail_mac(self._ks_mac, crypto.pad(data))

    def _sm_encrypt(self, ssc: bytes, data: bytes) -> bytes:
        if self._aes:
            return crypto.aes_encrypt(self._ks_enc, crypto.pad16(data), crypto.aes_block(self._ks_enc, ssc))
        return crypto.tdes_encrypt(self._ks_enc, crypto.pad(data))

    def _sm_decrypt(self, ssc: bytes, data: bytes) -> bytes:
        if self._aes:
            return crypto.unpad16(crypto.aes_decrypt(self._ks_enc, data, crypto.aes_block(self._ks_enc, ssc)))
        return crypto.unpad(crypto.tdes_decrypt(self._ks_enc, data))

    def _secure(self, apdu: bytes) -> bytes:
        if not self._authenticated:
            return _sw(SW_SM_OBJECTS)
        header = apdu[:4]
        body = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        ssc = self._next_ssc()
        covered, do87, le, mac = b"", None, None, None
        try:
            for tag, value, raw in iter_tlv(body):
                if tag == 0x87:
                    do87, covered = value, covered + raw
                elif tag == 0x97:
                    le, covered = (value[0] if value else 0) or 256, covered + raw
                elif tag == 0x8E:
                    mac = value
                else:
                    raise ValueError("unexpected SM data object")
        except ValueError:
            self._end_session()
            return _sw(SW_SM_OBJECTS)
        expected = self._sm_mac(ssc + self._sm_pad(header) + covered)
        if mac is None or not hmac.compare_digest(mac, expected):
            self._end_session()
            return _sw(SW_SM_OBJECTS)
        data = b""
        if do87 is not None:
            try:
                data = self._sm_decrypt(ssc, do87[1:])
            except ValueError:
                self._end_session()
                return _sw(SW_SM_OBJECTS)
        ins, p1, p2 = header[1], header[2], header[3]
        if ins == 0xA4 and p1 == 0x04:
            self._app_selected = data == AID
            payload, sw = b"", SW_OK if self._app_selected else SW_NOT_FOUND
        elif ins == 0xA4:
            payload, sw = self._select_ef(p1, data) if self._app_selected else (b"", SW_CONDITIONS)
        elif ins == 0xB0:
            payload, sw = self._read_binary(p1, p2, le or 256)
        else:
            payload, sw = b"", SW_INS
        return self._wrap(payload, sw)

    def _wrap(self, payload: bytes, sw: int) -> bytes:
        ssc = self._next_ssc()
        objects = b""
        if payload:
            objects += tlv(0x87, b"\x01" + self._sm_encrypt(ssc, payload))
        objects += tlv(0x99, _sw(sw))
        mac = self._sm_mac(ssc + objects)
        if self.faults.bad_response_mac:
            mac = bytes([mac[0] ^ 0xFF]) + mac[1:]
        return objects + tlv(0x8E, mac) + _sw(sw)

    def _select_ef(self, p1: int, fid: bytes) -> tuple[bytes, int]:
        if p1 != 0x02 or len(fid) != 2:
            return b"", SW_WRONG_P1P2
        number = int.from_bytes(fid, "big")
        if number not in self.files:
            return b"", SW_NOT_FOUND
        self._current = number
        return b"", SW_OK

    def _read_binary(self, p1: int, p2: int, le: int) -> tuple[bytes, int]:
        if self._current is None:
            return b"", SW_CONDITIONS
        self.reads += 1
        if self.faults.pull_after_reads is not None and self.reads > self.faults.pull_after_reads:
            raise CardPulled
        if self.faults.stall_after_reads is not None and self.reads > self.faults.stall_after_reads:
            raise CardStalled
        content = self.files[self._current]
        offset = ((p1 & 0x7F) << 8) | p2
        if offset > len(content):
            return b"", SW_WRONG_P1P2
        chunk = content[offset : offset + le]
        return chunk, SW_OK if len(chunk) == le else SW_EOF
