"""C2SP tlog-cosignature ``cosignature/v1``: a witness's timestamped Ed25519 signature on a checkpoint.

The witness signs ``"cosignature/v1\\n" ‖ "time <unix seconds>\\n" ‖ <checkpoint text>`` and the signature line
carries ``base64(key id ‖ u64 big-endian timestamp ‖ 64-byte Ed25519 signature)``, where the key id is
``SHA-256(<witness name> ‖ "\\n" ‖ 0x04 ‖ public key)[:4]``. A cosignature says: as of that time, this is the
largest tree the witness has seen for the origin, and it was consistent with everything it saw before.

Witness public keys travel as signed-note verifier keys with signature type 0x04
(``name+hex(key id)+base64(0x04 ‖ key)``). Signatures from keys the caller did not name are ignored; a
signature from a named key that fails to verify makes the whole note suspect (:class:`CosignatureError`).

Pure code (no database, no I/O): used by the hub to cosign, by the clinic to check what the hub returned, and by
the offline verifier to count a quorum.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from idverify.ledger.checkpoint import public_key_bytes
from idverify.ledger.note import Note, NoteError, parse_note, signature_line, valid_key_name

COSIGNATURE_ALG = b"\x04"
HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1


class CosignatureError(ValueError):
    """A witness key is malformed, or a cosignature by a trusted witness does not verify."""


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_ALG + public_key).digest()[:4]


def signed_message(note_text: str, timestamp: int) -> bytes:
    """What the witness signs: header, time line, then the checkpoint text (final newline included)."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise CosignatureError("a cosignature timestamp must be between 0 and 2^63-1")
    return f"{HEADER}time {timestamp}\n{note_text}".encode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness the caller trusts: its name and Ed25519 public key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return cosigner_key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        return witness_verifier_key(self.name, self.public_key)


def witness_verifier_key(name: str, public_key: bytes) -> str:
    if not valid_key_name(name):
        raise CosignatureError("a witness name must be non-empty and contain no spaces or '+'")
    key_id = cosigner_key_id(name, public_key).hex()
    return f"{name}+{key_id}+{base64.b64encode(COSIGNATURE_ALG + public_key).decode()}"


def parse_witness_key(text: str) -> WitnessKey:
    """A verifier key ``name+keyid+base64(0x04 ‖ key)``; raises :class:`CosignatureError`."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not valid_key_name(parts[0]):
        raise CosignatureError("a witness key is 'name+keyid+base64' (a signed-note verifier key)")
    name, kid, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
        expected = bytes.fromhex(kid)
    except (ValueError, binascii.Error):
        raise CosignatureError("a witness key's id must be hex and its key base64") from None
    if len(raw) != 33 or raw[:1] != COSIGNATURE_ALG:
        raise CosignatureError("a witness key must be an Ed25519 cosignature/v1 key (type 0x04)")
    key = WitnessKey(name, raw[1:])
    if key.key_id != expected:
        raise CosignatureError("the witness key's id does not match its name and key")
    return key


@dataclass(frozen=True)
class CosignatureSigner:
    """The witness side: signs checkpoint texts under ``name``."""

    name: str
    private_key: Ed25519PrivateKey

    @functools.cached_property
    def key(self) -> WitnessKey:
        return WitnessKey(self.name, public_key_bytes(self.private_key.public_key()))

    @functools.cached_property
    def _key_id(self) -> bytes:  # a hash per cosignature otherwise (a witness signs thousands a second)
        return self.key.key_id

    def cosign(self, note_text: str, timestamp: int) -> str:
        """The signature line (newline-terminated) for a checkpoint text at ``timestamp``."""
        signature = self.private_key.sign(signed_message(note_text, timestamp))
        return signature_line(self.name, self._key_id, struct.pack(">Q", timestamp) + signature)


@dataclass(frozen=True)
class Cosignature:
    witness: WitnessKey
    timestamp: int
    line: str


def verify_cosignatures(note: str | Note, witnesses: Iterable[WitnessKey]) -> list[Cosignature]:
    """The valid cosignatures on ``note`` by the given witnesses (at most one per witness).

    Signatures by other keys are ignored (signed-note rule). A signature that claims a trusted witness's name and
    key id but does not verify raises :class:`CosignatureError`: a forged or corrupted cosignature is not merely
    absent, it is evidence that someone tampered with the checkpoint.
    """
    try:
        parsed = note if isinstance(note, Note) else parse_note(note)
    except NoteError as exc:
        raise CosignatureError(str(exc)) from None
    by_id = {(w.name, w.key_id): w for w in witnesses}
    found: dict[WitnessKey, Cosignature] = {}
    for sig in parsed.signatures:
        witness = by_id.get((sig.name, sig.key_id))
        if witness is None:
            continue
        if len(sig.signature) != 8 + 64:
            raise CosignatureError(f"the cosignature by {witness.name} has the wrong length")
        (timestamp,) = struct.unpack(">Q", sig.signature[:8])
        try:
            Ed25519PublicKey.from_public_bytes(witness.public_key).verify(
                sig.signature[8:], signed_message(parsed.text, timestamp)
            )
        except (InvalidSignature, CosignatureError):
            raise CosignatureError(f"the cosignature by {witness.name} does not verify") from None
        found.setdefault(witness, Cosignature(witness, timestamp, sig.line))
    return list(found.values())


def add_signatures(note: str, lines: Sequence[str]) -> str:
    """``note`` with extra signature lines appended (those it already carries are not repeated)."""
    present = set(parse_note(note).signatures)
    extra = [line if line.endswith("\n") else line + "\n" for line in lines]
    known = {s.line for s in present}
    return note + "".join(line for line in extra if line not in known)
