"""Basic Access Control, terminal side (ICAO 9303-11 §4.3 and Appendix D).

Owns the key derivation from the MRZ information and the mutual-authentication arithmetic: building the
EXTERNAL AUTHENTICATE cryptogram from the chip's challenge and checking the chip's answer, ending with the
session keys and send-sequence counter that :mod:`.sm` uses. No APDU transport here (see :mod:`.reader`).
A wrong MAC or a chip that does not echo our random is ``bac_failed``: the keys typed from the data page do
not match the chip (or the chip is not genuine).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from idverify.documents.emrtd import crypto
from idverify.documents.mrz import BacKeys
from idverify.errors import DeviceError, ErrorCode


class BacFailed(DeviceError):
    """The chip rejected our keys or answered with the wrong ones. Usually a mistyped MRZ field."""

    code = ErrorCode.BAC_FAILED
    status_code = 422


@dataclass(frozen=True)
class DocumentKeys:
    """Kenc and Kmac derived from the MRZ; they only open a session, they are not session keys."""

    k_enc: bytes
    k_mac: bytes

    @classmethod
    def from_bac_keys(cls, keys: BacKeys) -> DocumentKeys:
        seed = crypto.key_seed(keys.mrz_information())
        return cls(crypto.derive_key(seed, crypto.ENC_COUNTER), crypto.derive_key(seed, crypto.MAC_COUNTER))


@dataclass(frozen=True)
class SessionKeys:
    ks_enc: bytes
    ks_mac: bytes
    ssc: int  # send sequence counter as an integer (8 bytes for 3DES, 16 for AES)
    cipher: Literal["3des", "aes"] = "3des"


def authentication_cryptogram(keys: DocumentKeys, rnd_ic: bytes, rnd_ifd: bytes, k_ifd: bytes) -> bytes:
    """The 40-byte EXTERNAL AUTHENTICATE data: E.IFD (3DES of RND.IFD‖RND.IC‖K.IFD) ‖ M.IFD (retail MAC)."""
    if len(rnd_ic) != 8 or len(rnd_ifd) != 8 or len(k_ifd) != 16:
        raise ValueError("RND.IC and RND.IFD must be 8 bytes, K.IFD 16 bytes")
    e_ifd = crypto.tdes_encrypt(keys.k_enc, rnd_ifd + rnd_ic + k_ifd)
    return e_ifd + crypto.retail_mac(keys.k_mac, crypto.pad(e_ifd))


def complete_authentication(
    keys: DocumentKeys, rnd_ic: bytes, rnd_ifd: bytes, k_ifd: bytes, response: bytes
) -> SessionKeys:
    """Check the chip's E.IC‖M.IC and derive the session keys (KSseed = K.IFD xor K.IC, SSC from the
    low halves of both randoms). Raises :class:`BacFailed` when anything does not verify."""
    if len(response) != 40:
        raise BacFailed("the document answered mutual authentication with a malformed response")
    e_ic, m_ic = response[:32], response[32:]
    if not hmac.compare_digest(crypto.retail_mac(keys.k_mac, crypto.pad(e_ic)), m_ic):
        raise BacFailed("the document's authentication MAC does not verify: check the typed MRZ fields")
    plain = crypto.tdes_decrypt(keys.k_enc, e_ic)
    if plain[0:8] != rnd_ic or plain[8:16] != rnd_ifd:
        raise BacFailed("the document did not return our challenge: check the typed MRZ fields")
    k_ic = plain[16:32]
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return SessionKeys(
        ks_enc=crypto.derive_key(seed, crypto.ENC_COUNTER),
        ks_mac=crypto.derive_key(seed, crypto.MAC_COUNTER),
        ssc=int.from_bytes(rnd_ic[4:8] + rnd_ifd[4:8], "big"),
    )
