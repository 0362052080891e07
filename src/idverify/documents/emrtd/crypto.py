"""Symmetric primitives of ICAO 9303-11 BAC and 3DES secure messaging.

Owns: ISO 9797-1 padding method 2, DES key parity, the SHA-1 key derivation function (§9.7.1), two-key
3DES-CBC with a zero IV, and the ISO 9797-1 MAC algorithm 3 ("retail MAC"). Pure functions over bytes; no
protocol state, no I/O. Both the terminal side (:mod:`.bac`, :mod:`.sm`) and the test chip use them, so the
published ICAO worked example in the tests pins them down independently of either side.

3DES lives in ``cryptography.hazmat.decrepit`` from cryptography 43 on; it is still what BAC mandates.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

BLOCK = 8
ZERO_IV = bytes(BLOCK)
ENC_COUNTER = 1
MAC_COUNTER = 2


def pad(data: bytes) -> bytes:
    """ISO 9797-1 padding method 2: append 0x80 then zeros up to a multiple of 8 bytes."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % BLOCK)


def unpad(data: bytes) -> bytes:
    """Remove method-2 padding; raises ValueError when the padding is malformed."""
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= BLOCK:
        raise ValueError("bad ISO 9797-1 padding")
    return stripped[:-1]


def adjust_parity(key: bytes) -> bytes:
    """Set each byte's least significant bit so the byte has odd parity (DES key convention)."""
    out = bytearray()
    for byte in key:
        high = byte & 0xFE
        out.append(high | (bin(high).count("1") % 2 == 0))
    return bytes(out)


def derive_key(seed: bytes, counter: int) -> bytes:
    """ICAO 9303-11 §9.7.1 KDF for 3DES: SHA-1(seed ‖ counter as 4 bytes), first 16 bytes, parity-adjusted."""
    digest = hashlib.sha1(seed + counter.to_bytes(4, "big")).digest()  # noqa: S324 - mandated by ICAO 9303-11
    return adjust_parity(digest[:16])


def key_seed(mrz_information: str) -> bytes:
    """BAC Kseed: the first 16 bytes of SHA-1 over the MRZ information (§9.7.2)."""
    return hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]  # noqa: S324 - mandated by ICAO 9303-11


def _tdes(key: bytes) -> TripleDES:
    return TripleDES(key)


def tdes_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV) -> bytes:
    """Two-key 3DES in CBC mode; ``data`` must already be a multiple of 8 bytes."""
    encryptor = Cipher(_tdes(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def tdes_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV) -> bytes:
    decryptor = Cipher(_tdes(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO 9797-1 MAC algorithm 3 with DES (Ka, Kb = the two halves of ``key``) over already-padded data.

    Single-DES CBC with Ka over every block, then DES-decrypt with Kb and DES-encrypt with Ka. Single DES
    is TripleDES with a repeated 8-byte key."""
    if len(data) % BLOCK:
        raise ValueError("MAC input must be padded to a multiple of 8 bytes")
    ka, kb = key[:8], key[8:16]
    chain = tdes_encrypt(ka, data)[-BLOCK:]
    step = Cipher(_tdes(kb), modes.ECB()).decryptor()  # noqa: S305 - one block of MAC algorithm 3
    chain = step.update(chain) + step.finalize()
    final = Cipher(_tdes(ka), modes.ECB()).encryptor()  # noqa: S305 - one block of MAC algorithm 3
    return final.update(chain) + final.finalize()
