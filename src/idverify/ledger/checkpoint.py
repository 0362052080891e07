"""Signed checkpoints: the clinic's Ed25519 key vouching for (tree size, root hash, time).

Text format: a C2SP ``tlog-checkpoint`` body inside a C2SP ``signed-note``, so generic transparency tooling can
read it::

    idverify/3f2a9c1e0b7d4a66          <- origin (log identity, derived from the public key)
    1024                               <- tree size
    <base64 root hash>
    time 2026-11-23T14:00:00.000000Z   <- extension line: when the clinic signed it
    <blank line>
    — idverify/3f2a9c1e0b7d4a66 <base64(4-byte key id ‖ Ed25519 signature)>

The key id is the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key) (signed-note, Ed25519 = 0x01).
The public key travels as a *verifier key* ``name+hex(key id)+base64(0x01 ‖ key)``, PEM or raw base64.

This module knows nothing of the database: the offline verifier uses it as is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from idverify.errors import CryptoError
from idverify.ledger.canonical import format_time, parse_time

ED25519_ALG = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash + space, per signed-note
TIME_PREFIX = "time "


class CheckpointError(ValueError):
    """A checkpoint note is malformed or its signature does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALG + public_key).digest()[:4]


def origin_for(public_key: bytes) -> str:
    """The log's origin line: stable for as long as the signing key, free of personal data and whitespace."""
    return "idverify/" + hashlib.sha256(public_key).hexdigest()[:16]


def verifier_key(name: str, public_key: bytes) -> str:
    """signed-note verifier key string ``name+keyid+base64(0x01‖key)``."""
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519_ALG + public_key).decode()}"


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(public_key: bytes) -> str:
    return (
        Ed25519PublicKey.from_public_bytes(public_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def parse_public_key(text: str) -> bytes:
    """Accept a PEM public key, a raw 32-byte key in base64, or a signed-note verifier key; return raw bytes."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            loaded = serialization.load_pem_public_key(text.encode())
            if not isinstance(loaded, Ed25519PublicKey):
                raise CheckpointError("the PEM key is not an Ed25519 public key")
            return public_key_bytes(loaded)
        parts = text.split("+", 2)  # a key name cannot contain "+"; base64 can
        if len(parts) == 3 and len(parts[1]) == 8 and all(c in "0123456789abcdefABCDEF" for c in parts[1]):
            name, kid, b64 = parts
            raw = base64.b64decode(b64, validate=True)
            if raw[:1] != ED25519_ALG or len(raw) != 33:
                raise CheckpointError("the verifier key is not an Ed25519 key")
            if key_id(name, raw[1:]).hex() != kid.lower():
                raise CheckpointError("the verifier key's id does not match its key")
            return raw[1:]
        raw = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError("public key is neither PEM, a verifier key nor base64 of 32 bytes") from None
    if len(raw) != 32:
        raise CheckpointError(f"a raw Ed25519 public key has 32 bytes, not {len(raw)}")
    return raw


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the clinic's key (PKCS#8 PEM), creating it with mode 0600 on first use.

    Creation uses O_EXCL so two daemons starting together cannot each write a different key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: use its key
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CryptoError(f"cannot read the ledger signing key {path}: {type(exc).__name__}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise CryptoError(f"the ledger signing key {path} is not an Ed25519 key")
    return loaded


@dataclass(frozen=True)
class CheckpointSigner:
    """Signs checkpoint notes with the clinic's key; the key name is the log origin."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.private_key.public_key())

    @property
    def origin(self) -> str:
        return origin_for(self.public_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.origin, self.public_key)

    def sign(self, tree_size: int, root_hash: bytes, time: datetime) -> SignedCheckpoint:
        body = checkpoint_body(self.origin, tree_size, root_hash, time)
        signature = self.private_key.sign(body.encode())
        line = f"{SIGNATURE_PREFIX}{self.origin} {base64.b64encode(self.key_id + signature).decode()}\n"
        return SignedCheckpoint(self.origin, tree_size, root_hash, parse_time(format_time(time)), body + "\n" + line)

    @classmethod
    def from_file(cls, path: Path) -> CheckpointSigner:
        return cls(load_or_create_signing_key(path))


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes, time: datetime) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n{TIME_PREFIX}{format_time(time)}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    time: datetime
    note: str


def open_checkpoint(note: str, public_key: bytes) -> SignedCheckpoint:
    """Verify the note's signature by ``public_key`` and parse it. Raises :class:`CheckpointError`."""
    body, sep, sigs = note.partition("\n\n")
    if not sep or not body:
        raise CheckpointError("checkpoint note has no signature block")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 4:
        raise CheckpointError("checkpoint body needs origin, size, root and time lines")
    origin = lines[0]
    expected_id = key_id(origin, public_key)
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    verified = False
    for sig_line in sigs.splitlines():
        if not sig_line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError("malformed signature line")
        name, _, b64 = sig_line[len(SIGNATURE_PREFIX):].rpartition(" ")
        try:
            blob = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error):
            raise CheckpointError("signature is not base64") from None
        if name != origin or blob[:4] != expected_id:
            continue  # a different key's signature (e.g. a witness); not ours to check
        try:
            verifier.verify(blob[4:], body.encode())
        except InvalidSignature:
            raise CheckpointError("checkpoint signature does not verify with the given public key") from None
        verified = True
    if not verified:
        raise CheckpointError("checkpoint carries no signature by the given public key")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
        if not lines[3].startswith(TIME_PREFIX):
            raise ValueError("no time line")
        time = parse_time(lines[3][len(TIME_PREFIX):])
    except (ValueError, binascii.Error):
        raise CheckpointError("checkpoint body is malformed") from None
    if size < 0 or len(root) != 32 or lines[1] != str(size):
        raise CheckpointError("checkpoint size or root is malformed")
    return SignedCheckpoint(origin, size, root, time, note)
