"""PACE (ICAO 9303-11 §4.4), terminal side: ECDH generic mapping with 3DES or AES, password = the MRZ.

Owns: parsing EF.CardAccess for PACEInfo, the four GENERAL AUTHENTICATE steps (encrypted nonce, mapping,
key agreement on the mapped generator, mutual authentication tokens) and the resulting session keys for
:mod:`.sm`. Supported: id-PACE-ECDH-GM-3DES-CBC-CBC and -AES-CBC-CMAC-128/192/256 on the standardized
domain parameters 12 (NIST P-256) and 13 (brainpoolP256r1) — what passports carry in practice. Not here:
DH (non-EC) mapping, integrated mapping, chip authentication mapping (CAM), CAN passwords.

A chip that rejects the MRZ-derived password fails the token step: that is ``bac_failed`` (the error code for
"the access keys typed from the data page do not open this chip"), as with BAC.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from asn1crypto import core  # type: ignore[import-untyped]

from idverify.documents.emrtd import crypto
from idverify.documents.emrtd.bac import BacFailed, SessionKeys
from idverify.documents.emrtd.ec import STANDARD_CURVES, Curve
from idverify.documents.emrtd.tlv import find, iter_tlv, tlv
from idverify.documents.mrz import BacKeys
from idverify.errors import DeviceError, ErrorCode

FID_CARD_ACCESS = 0x011C
#: PACE protocol OID -> (cipher, key bits)
PACE_PROTOCOLS: dict[str, tuple[Literal["3des", "aes"], int]] = {
    "0.4.0.127.0.7.2.2.4.2.1": ("3des", 128),
    "0.4.0.127.0.7.2.2.4.2.2": ("aes", 128),
    "0.4.0.127.0.7.2.2.4.2.3": ("aes", 192),
    "0.4.0.127.0.7.2.2.4.2.4": ("aes", 256),
}
PASSWORD_MRZ = 0x01
PACE_INFO_PREFIX = "0.4.0.127.0.7.2.2.4."


class PaceError(DeviceError):
    """PACE could not run (unsupported parameters, malformed answers)."""

    code = ErrorCode.DEVICE_ERROR
    status_code = 422


@dataclass(frozen=True)
class PaceInfo:
    oid: str
    version: int
    parameter_id: int | None

    @property
    def supported(self) -> bool:
        return self.oid in PACE_PROTOCOLS and self.parameter_id in STANDARD_CURVES

    @property
    def oid_bytes(self) -> bytes:
        """The OID's DER contents (without tag and length), as MSE:Set AT and the tokens carry it."""
        return bytes(core.ObjectIdentifier(self.oid).contents)


def parse_card_access(data: bytes) -> list[PaceInfo]:
    """Every PACEInfo in EF.CardAccess (a DER ``SET OF SecurityInfo``); other SecurityInfos are skipped."""
    infos: list[PaceInfo] = []
    try:
        outer = find(data, 0x31)
        if outer is None:
            raise ValueError("EF.CardAccess is not a SET")
        for tag, value, _raw in iter_tlv(outer):
            if tag != 0x30:
                continue
            fields = list(iter_tlv(value))
            if len(fields) < 2 or fields[0][0] != 0x06:
                continue
            oid = core.ObjectIdentifier.load(fields[0][2]).dotted
            if not oid.startswith(PACE_INFO_PREFIX) or fields[1][0] != 0x02:
                continue
            param = int.from_bytes(fields[2][1], "big") if len(fields) > 2 and fields[2][0] == 0x02 else None
            infos.append(PaceInfo(oid, int.from_bytes(fields[1][1], "big"), param))
    except ValueError as exc:
        raise PaceError("EF.CardAccess on the document is malformed") from exc
    return infos


def choose(infos: list[PaceInfo]) -> PaceInfo | None:
    """The strongest supported PACEInfo (AES over 3DES, longer keys first), or None."""
    supported = [i for i in infos if i.supported]
    return max(supported, key=lambda i: (PACE_PROTOCOLS[i.oid][0] == "aes", PACE_PROTOCOLS[i.oid][1]), default=None)


class _Transmit(Protocol):
    def __call__(self, apdu: bytes) -> tuple[bytes, int]: ...


def password_key(keys: BacKeys) -> bytes:
    """K = SHA-1(MRZ information), the full 20 bytes (unlike BAC's 16-byte Kseed)."""
    return hashlib.sha1(keys.mrz_information().encode("ascii")).digest()  # noqa: S324 - mandated by ICAO


def kdf(secret: bytes, counter: int, cipher: str, bits: int) -> bytes:
    if cipher == "3des":
        return crypto.derive_key(secret, counter)
    return crypto.derive_aes_key(secret, counter, bits)


def decrypt_nonce(k_pi: bytes, z: bytes, cipher: str) -> bytes:
    return crypto.aes_decrypt(k_pi, z) if cipher == "aes" else crypto.tdes_decrypt(k_pi, z)


def auth_token(ks_mac: bytes, oid_bytes: bytes, public_key: bytes, cipher: str) -> bytes:
    """T = MAC(KSmac, 7F49 { 06 OID, 86 public point }) truncated to 8 bytes."""
    data = tlv(0x7F49, tlv(0x06, oid_bytes) + tlv(0x86, public_key))
    return crypto.aes_cmac8(ks_mac, data) if cipher == "aes" else crypto.retail_mac(ks_mac, crypto.pad(data))


def _general_authenticate(transmit: _Transmit, data_object: bytes, *, last: bool) -> bytes:
    body = tlv(0x7C, data_object)
    apdu = bytes([0x00 if last else 0x10, 0x86, 0x00, 0x00, len(body)]) + body + b"\x00"
    response, sw = transmit(apdu)
    if sw != 0x9000:
        if last or sw in (0x6300, 0x6982):
            raise BacFailed("the document rejected the access keys: check document number, birth and expiry dates")
        raise PaceError(f"the document refused a PACE step (status {sw:04X})")
    inner = find(response, 0x7C) if response else None
    if inner is None:
        raise PaceError("the document sent a malformed PACE response")
    return inner


def _field(inner: bytes, tag: int) -> bytes:
    value = find(inner, tag)
    if value is None:
        raise PaceError("the document's PACE response lacks a data object")
    return value


def establish(
    transmit: _Transmit,
    keys: BacKeys,
    info: PaceInfo,
    *,
    scalar: Callable[[Curve], int] | None = None,
) -> SessionKeys:
    """Run PACE with the MRZ password. ``scalar`` supplies ephemeral private keys (tests pin them)."""
    if not info.supported or info.parameter_id is None:
        raise PaceError("unsupported PACE parameters")
    cipher, bits = PACE_PROTOCOLS[info.oid]
    curve = STANDARD_CURVES[info.parameter_id]
    oid_bytes = info.oid_bytes

    def new_private() -> int:
        return scalar(curve) if scalar is not None else curve.keypair(curve.g)[0]

    mse = tlv(0x80, oid_bytes) + tlv(0x83, bytes([PASSWORD_MRZ]))
    _data, sw = transmit(bytes([0x00, 0x22, 0xC1, 0xA4, len(mse)]) + mse)
    if sw != 0x9000:
        raise PaceError(f"the document refused PACE set-up (status {sw:04X})")
    # 1. encrypted nonce
    z = _field(_general_authenticate(transmit, b"", last=False), 0x80)
    k_pi = kdf(password_key(keys), 3, cipher, bits)
    try:
        s = int.from_bytes(decrypt_nonce(k_pi, z, cipher), "big")
    except ValueError as exc:
        raise PaceError("the document sent a malformed PACE nonce") from exc
    try:
        # 2. generic mapping: G' = s*G + H, H = our mapping key times the chip's
        map_private = new_private()
        map_public = curve.multiply(map_private, curve.g)
        chip_map = curve.decode(_field(_general_authenticate(transmit, tlv(0x81, curve.encode(map_public)),
                                                             last=False), 0x82))
        shared = curve.multiply(map_private, chip_map)
        mapped = curve.add(curve.multiply(s, curve.g), shared)
        if shared is None or mapped is None:
            raise PaceError("PACE mapping produced the point at infinity")
        # 3. key agreement on G'
        eph_private = new_private()
        eph_public = curve.encode(curve.multiply(eph_private, mapped))
        chip_eph_raw = _field(_general_authenticate(transmit, tlv(0x83, eph_public), last=False), 0x84)
        chip_eph = curve.decode(chip_eph_raw)
        if chip_eph_raw == eph_public:
            raise PaceError("the document echoed our PACE key")
        secret = curve.multiply(eph_private, chip_eph)
        if secret is None:
            raise PaceError("PACE key agreement produced the point at infinity")
    except ValueError as exc:
        raise PaceError("the document sent an invalid PACE public key") from exc
    k = secret[0].to_bytes(curve.size, "big")
    ks_enc, ks_mac = kdf(k, 1, cipher, bits), kdf(k, 2, cipher, bits)
    # 4. mutual authentication tokens
    t_ic = _field(_general_authenticate(transmit, tlv(0x85, auth_token(ks_mac, oid_bytes, chip_eph_raw, cipher)),
                                        last=True), 0x86)
    if not hmac.compare_digest(t_ic, auth_token(ks_mac, oid_bytes, eph_public, cipher)):
        raise BacFailed("the document's PACE token does not verify: check the typed MRZ fields")
    return SessionKeys(ks_enc=ks_enc, ks_mac=ks_mac, ssc=0, cipher=cipher)
