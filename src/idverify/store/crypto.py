"""Envelope encryption for everything personal at rest: templates, raw samples, identity blobs.

Each record gets its own random 256-bit data key (DEK). The record is sealed with AES-256-GCM under the DEK, with
additional authenticated data naming the row (``"template:<id>"``) so a ciphertext copied onto another row fails
to open. The DEK is wrapped with the master key (KEK) by AES key wrap (RFC 3394), and the envelope records which
KEK wrapped it::

    b"IDV1" | kek_id (8 bytes) | wrapped DEK (40 bytes) | nonce (12 bytes) | ciphertext + GCM tag

Rotation re-wraps the 40-byte DEK under a new master key and leaves the ciphertext untouched, so no re-enrolment
is needed. A missing or wrong key raises :class:`~idverify.errors.CryptoError` — never garbage, never ``None``.

Document numbers are looked up through an HMAC-SHA256 keyed by a separate random secret (see
:class:`LookupHasher`), so the clear number is never stored and the lookup survives master-key rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from idverify.errors import CryptoError

MAGIC = b"IDV1"
KEY_BYTES = 32
_KID_BYTES = 8
_WRAPPED_BYTES = KEY_BYTES + 8
_NONCE_BYTES = 12
_HEADER = len(MAGIC) + _KID_BYTES + _WRAPPED_BYTES + _NONCE_BYTES


def key_id(key: bytes) -> str:
    """Public fingerprint of a master key (16 hex digits); safe to store and log."""
    return hashlib.sha256(b"idverify-kek-id\x00" + key).digest()[:_KID_BYTES].hex()


def parse_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(f"{source}: not valid base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoError(f"{source}: a master key must be {KEY_BYTES} bytes (base64), got {len(key)}")
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Create a key file readable by its owner only. Refuses to overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode() + "\n")


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass
class KeyRing:
    """The active master key plus retired ones still able to unwrap older envelopes."""

    active: bytes
    retired: dict[str, bytes] = field(default_factory=dict)

    @property
    def active_id(self) -> str:
        return key_id(self.active)

    def _kek(self, kid: str) -> bytes:
        if kid == self.active_id:
            return self.active
        try:
            return self.retired[kid]
        except KeyError:
            raise CryptoError(
                f"data was encrypted with master key {kid}, which is not loaded: the key file was lost or "
                "replaced. Restore it (or add it to keys/retired/) — nothing can be decrypted without it."
            ) from None

    def encrypt(self, plaintext: bytes, aad: str) -> bytes:
        dek = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(dek).encrypt(nonce, plaintext, aad.encode())
        wrapped = aes_key_wrap(self.active, dek)
        return MAGIC + bytes.fromhex(self.active_id) + wrapped + nonce + sealed

    def decrypt(self, envelope: bytes, aad: str) -> bytes:
        kid, wrapped, nonce, sealed = _split(envelope)
        try:
            dek = aes_key_unwrap(self._kek(kid), wrapped)
        except InvalidUnwrap:
            raise CryptoError(f"master key {kid} does not unwrap this record: wrong key file") from None
        try:
            return AESGCM(dek).decrypt(nonce, sealed, aad.encode())
        except InvalidTag:
            raise CryptoError("record failed authentication: tampered, truncated or moved from another row") from None

    def rewrap(self, envelope: bytes) -> bytes:
        """Re-wrap the data key under the active master key; the sealed data is not touched."""
        kid, wrapped, nonce, sealed = _split(envelope)
        if kid == self.active_id:
            return envelope
        try:
            dek = aes_key_unwrap(self._kek(kid), wrapped)
        except InvalidUnwrap:
            raise CryptoError(f"master key {kid} does not unwrap this record: wrong key file") from None
        return MAGIC + bytes.fromhex(self.active_id) + aes_key_wrap(self.active, dek) + nonce + sealed


def envelope_key_id(envelope: bytes) -> str:
    return _split(envelope)[0]


def _split(envelope: bytes) -> tuple[str, bytes, bytes, bytes]:
    if len(envelope) < _HEADER + 16 or not envelope.startswith(MAGIC):
        raise CryptoError("not an idverify encrypted record (bad header or truncated)")
    pos = len(MAGIC)
    kid = envelope[pos : pos + _KID_BYTES].hex()
    pos += _KID_BYTES
    wrapped = envelope[pos : pos + _WRAPPED_BYTES]
    pos += _WRAPPED_BYTES
    nonce = envelope[pos : pos + _NONCE_BYTES]
    return kid, wrapped, nonce, envelope[pos + _NONCE_BYTES :]


def load_keyring(key_file: Path, master_key_b64: str | None, *, create: bool) -> KeyRing:
    """Active key from ``IDVERIFY_MASTER_KEY`` or the key file (created when ``create``), retired keys from
    ``<key dir>/retired/*.key``. A missing key file without ``create`` is an error, never a silent new key:
    a new key would make every stored template unreadable."""
    if master_key_b64:
        active = parse_key(master_key_b64, "IDVERIFY_MASTER_KEY")
    elif key_file.is_file():
        active = parse_key(key_file.read_text(), str(key_file))
    elif create:
        active = generate_key()
        write_key_file(key_file, active)
    else:
        raise CryptoError(f"master key file {key_file} not found; set IDVERIFY_KEY_FILE or IDVERIFY_MASTER_KEY")
    retired: dict[str, bytes] = {}
    retired_dir = key_file.parent / "retired"
    # ``<key>.new`` exists only if a rotation stopped between committing and installing the new key file;
    # loading it lets the daemon read what that rotation already re-wrapped.
    candidates = sorted(retired_dir.glob("*.key")) if retired_dir.is_dir() else []
    pending = key_file.with_suffix(".new")
    if pending.is_file():
        candidates.append(pending)
    if candidates:
        for path in candidates:
            key = parse_key(path.read_text(), str(path))
            retired[key_id(key)] = key
    return KeyRing(active=active, retired=retired)


class LookupHasher:
    """Keyed hash for finding a record by a personal identifier without storing it."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise CryptoError("lookup secret too short")
        self._secret = secret

    def digest(self, value: str) -> str:
        normalised = "".join(value.split()).upper()
        return hmac.new(self._secret, normalised.encode(), hashlib.sha256).hexdigest()
