"""Symmetric primitives of ICAO 9303-11 BAC and 3DES secure messaging.

Owns: ISO 9797-1 padding method 2, DES key parity, the key derivation function (§9.7.1), two-key 3DES-CBC
with a zero IV, the ISO 9797-1 MAC algorithm 3 ("retail MAC"), and AES-CBC / AES-CMAC for PACE sessions.
Pure functions over bytes; no protocol state, no I/O. Both the terminal side (:mod:`.bac`, :mod:`.sm`) and
the test chip use them, so the published worked examples in the tests pin them down independently of
either side.

3DES lives in ``cryptography.hazmat.decrepit`` from cryptography 43 on; it is still what BAC mandates.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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


# --- AES (PACE sessions, ICAO 9303-11 §9.8.3 and §9.7.1 with SHA-256 for 192/256-bit keys)

AES_BLOCK = 16


def pad16(data: bytes) -> bytes:
    """ISO 9797-1 method 2 padding to the AES block size."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % AES_BLOCK)


def unpad16(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= AES_BLOCK:
        raise ValueError("bad ISO 9797-1 padding")
    return stripped[:-1]


def derive_aes_key(seed: bytes, counter: int, key_bits: int) -> bytes:
    """KDF for AES keys: SHA-1 for 128-bit keys, SHA-256 for 192 and 256 bits, truncated."""
    data = seed + counter.to_bytes(4, "big")
    if key_bits == 128:
        return hashlib.sha1(data).digest()[:16]  # noqa: S324 - mandated by ICAO 9303-11
    return hashlib.sha256(data).digest()[: key_bits // 8]


def aes_encrypt(key: bytes, data: bytes, iv: bytes = bytes(AES_BLOCK)) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_decrypt(key: bytes, data: bytes, iv: bytes = bytes(AES_BLOCK)) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def aes_block(key: bytes, block: bytes) -> bytes:
    """One raw AES block encryption (the SM IV is E(KSenc, SSC))."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - single block
    return encryptor.update(block) + encryptor.finalize()


def aes_cmac8(key: bytes, data: bytes) -> bytes:
    """AES-CMAC truncated to 8 bytes, as PACE tokens and AES secure messaging use it."""
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()[:8]
