"""C2SP signed-note framing: split a note into its text and signature lines, strictly.

A note is UTF-8 text ending in a newline, a blank line, then one or more lines ``— <key name> base64(key id ‖
signature)``. The text is separated from the signatures by the *last* blank line; key names are non-empty and
contain neither spaces nor ``+``; no control characters but the newline. This module only frames: which key
verifies which signature (Ed25519 checkpoints in :mod:`idverify.ledger.checkpoint`, timestamped witness
cosignatures in :mod:`idverify.ledger.cosignature`) is decided by the callers.

Pure functions, no I/O: the offline verifier and the hub's witness use it as is.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

SIGNATURE_PREFIX = "\u2014 "  # em dash + space
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_NAME_FORBIDDEN = re.compile(r"[\s+]")


class NoteError(ValueError):
    """The text is not a well-formed signed note; the message says which rule it breaks."""


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # what follows the key id
    line: str  # the whole line, newline included

    @property
    def key_hint(self) -> int:
        return int.from_bytes(self.key_id, "big")


@dataclass(frozen=True)
class Note:
    text: str  # what is signed: every line of the body, final newline included
    signatures: tuple[NoteSignature, ...]

    def lines(self) -> list[str]:
        return self.text.split("\n")[:-1]

    def serialise(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def valid_key_name(name: str) -> bool:
    return bool(name) and not _NAME_FORBIDDEN.search(name) and not _CONTROL.search(name)


def signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    if not valid_key_name(name):
        raise NoteError("a key name must be non-empty and contain no spaces or '+'")
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(key_id + signature).decode()}\n"


def parse_signature_line(line: str) -> NoteSignature:
    """One ``— name base64`` line (with or without its newline)."""
    body = line[:-1] if line.endswith("\n") else line
    if not body.startswith(SIGNATURE_PREFIX):
        raise NoteError("a signature line must start with an em dash and a space")
    name, sep, b64 = body[len(SIGNATURE_PREFIX):].partition(" ")
    if not sep or not valid_key_name(name) or " " in b64:
        raise NoteError("a signature line is '— <key name> <base64>'")
    try:
        blob = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error):
        raise NoteError("a signature is not base64") from None
    if len(blob) < 5:
        raise NoteError("a signature is shorter than its key id")
    return NoteSignature(name, blob[:4], blob[4:], body + "\n")


def parse_note(data: str | bytes) -> Note:
    """Split ``data`` into text and signatures, checking the signed-note framing rules."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"a note is limited to {MAX_NOTE_BYTES} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note must be UTF-8") from None
    elif len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"a note is limited to {MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(data):
        raise NoteError("a note must not contain control characters other than newline")
    if not data.endswith("\n"):
        raise NoteError("a note must end with a newline")
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("a note needs a blank line between its text and its signatures")
    text, block = data[:split + 1], data[split + 2:]
    if not text.strip("\n"):
        raise NoteError("a note's text is empty")
    raw_lines = block.split("\n")[:-1]
    if not raw_lines:
        raise NoteError("a note has no signature lines")
    if len(raw_lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(parse_signature_line(line) for line in raw_lines))
