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
import functools
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
from idverify.ledger.note import Note, NoteError, parse_note, signature_line, valid_key_name

ED25519_ALG = b"\x01"
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


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """A signed-note Ed25519 verifier key ``name+keyid+base64(0x01‖key)`` -> (key name, raw public key)."""
    parts = text.strip().split("+", 2)  # a key name cannot contain "+"; base64 can
    if len(parts) != 3 or len(parts[1]) != 8 or not all(c in "0123456789abcdefABCDEF" for c in parts[1]):
        raise CheckpointError("a verifier key is 'name+keyid+base64'")
    name, kid, b64 = parts
    if not valid_key_name(name):
        raise CheckpointError("a verifier key's name must be non-empty and contain no spaces or '+'")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointError("the verifier key is not base64") from None
    if raw[:1] != ED25519_ALG or len(raw) != 33:
        raise CheckpointError("the verifier key is not an Ed25519 key")
    if key_id(name, raw[1:]).hex() != kid.lower():
        raise CheckpointError("the verifier key's id does not match its key")
    return name, raw[1:]


def parse_public_key(text: str) -> bytes:
    """Accept a PEM public key, a raw 32-byte key in base64, or a signed-note verifier key; return raw bytes."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            loaded = serialization.load_pem_public_key(text.encode())
            if not isinstance(loaded, Ed25519PublicKey):
                raise CheckpointError("the PEM key is not an Ed25519 public key")
            return public_key_bytes(loaded)
        parts = text.split("+", 2)
        if len(parts) == 3 and len(parts[1]) == 8 and all(c in "0123456789abcdefABCDEF" for c in parts[1]):
            return parse_verifier_key(text)[1]
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
        line = signature_line(self.origin, self.key_id, signature)
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


@dataclass(frozen=True)
class CheckpointText:
    """The body of a C2SP tlog-checkpoint: origin, size, root hash and the optional extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...]


def parse_checkpoint_text(text: str) -> CheckpointText:
    """Strictly parse a checkpoint body (final newline included): tlog-checkpoint's rules, nothing assumed."""
    lines = text.split("\n")
    if lines[-1] != "" or len(lines) < 4:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line, each ending in a newline")
    lines = lines[:-1]
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("the checkpoint origin is empty")
    if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError("the checkpoint size must be a decimal without leading zeroes")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointError("the checkpoint root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointError("the checkpoint root hash must be 32 bytes")
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint extension lines must not be empty")
    size = int(size_text)
    if size >= 2**63:
        raise CheckpointError("the checkpoint size is too large")
    return CheckpointText(origin, size, root, tuple(extensions))


@functools.lru_cache(maxsize=4096)
def _verifier(name: str, public_key: bytes) -> tuple[bytes, Ed25519PublicKey]:
    """The key id and the loaded key, once per key: a witness checks every clinic's checkpoints with the same few
    hundred keys, and loading one costs as much as a tenth of a verification."""
    return key_id(name, public_key), Ed25519PublicKey.from_public_bytes(public_key)


def verify_ed25519(note: Note, name: str, public_key: bytes) -> bool | None:
    """Check ``note``'s signatures by the Ed25519 key (``name``, ``public_key``).

    True when one verifies, None when the note carries no signature by that key, and :class:`CheckpointError`
    when one claims the key's name and id but does not verify (signed-note: reject the whole note).
    """
    expected, verifier = _verifier(name, public_key)
    verified: bool | None = None
    body = note.text.encode()
    for sig in note.signatures:
        if sig.name != name or sig.key_id != expected:
            continue  # a different key's signature (e.g. a witness); not ours to check
        try:
            verifier.verify(sig.signature, body)
        except InvalidSignature:
            raise CheckpointError("checkpoint signature does not verify with the given public key") from None
        verified = True
    return verified


def open_checkpoint(note: str, public_key: bytes) -> SignedCheckpoint:
    """Verify the note's signature by ``public_key`` and parse it. Raises :class:`CheckpointError`."""
    try:
        parsed = parse_note(note)
    except NoteError as exc:
        raise CheckpointError(f"checkpoint note is malformed: {exc}") from None
    lines = parsed.lines()
    if len(lines) < 4:
        raise CheckpointError("checkpoint body needs origin, size, root and time lines")
    if not verify_ed25519(parsed, lines[0], public_key):
        raise CheckpointError("checkpoint carries no signature by the given public key")
    try:
        body = parse_checkpoint_text(parsed.text)
        if not body.extensions or not body.extensions[0].startswith(TIME_PREFIX):
            raise ValueError("no time line")
        time = parse_time(body.extensions[0][len(TIME_PREFIX):])
    except (ValueError, CheckpointError):
        raise CheckpointError("checkpoint body is malformed") from None
    return SignedCheckpoint(body.origin, body.tree_size, body.root_hash, time, note)
