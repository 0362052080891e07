"""Wire formats between a clinic and the hub, shared by both sides. Pure: no database, no HTTP client.

**add-checkpoint** (C2SP tlog-witness): the body is ``old <size>\\n``, at most 63 base64 hash lines (an RFC 6962
consistency proof from the old size to the checkpoint's size), a blank line, then the checkpoint as a signed note.
:func:`parse_add_checkpoint` enforces every framing rule and raises :class:`WitnessRequestError` (→ 400); the
semantic checks (origin, signature, sizes, proof) are the witness's (:mod:`idverify.hub.witness`). A 409 answer is
``<size>\\n`` with ``Content-Type: text/x.tlog.size``; a 200 answer is one or more cosignature lines.

**Signed requests** (the feed): a clinic signs each request with its ledger key (the Ed25519 key whose verifier
key the commission registered), over a domain-separated message that binds method, path, origin, time, a fresh
nonce and the body's SHA-256 — see :func:`request_message`. The hub checks the signature, the clock skew and the
nonce's uniqueness within the skew window (replay protection).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from idverify.ledger.checkpoint import CheckpointError, CheckpointText, parse_checkpoint_text
from idverify.ledger.note import Note, NoteError, parse_note

MAX_PROOF_LINES = 63
MAX_ADD_CHECKPOINT_BYTES = 128 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"
COSIGNATURE_CONTENT_TYPE = "text/plain; charset=utf-8"
WITNESS_PATH = "/witness/add-checkpoint"


class WitnessRequestError(ValueError):
    """The add-checkpoint body breaks the protocol's framing (answered 400, nothing changes)."""


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    note: Note
    checkpoint: CheckpointText
    note_text: str  # the checkpoint note exactly as received (body + signatures)


def _decimal(text: str, what: str) -> int:
    if not text or not text.isascii() or not text.isdigit() or (text != "0" and text.startswith("0")):
        raise WitnessRequestError(f"{what} must be a decimal without leading zeroes")
    value = int(text)
    if value >= 2**63:
        raise WitnessRequestError(f"{what} is too large")
    return value


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    if len(body) > MAX_ADD_CHECKPOINT_BYTES:
        raise WitnessRequestError(f"the request body is limited to {MAX_ADD_CHECKPOINT_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRequestError("the request body must be UTF-8") from None
    first, sep, rest = text.partition("\n")
    if not sep or not first.startswith("old "):
        raise WitnessRequestError("the body must start with an 'old <size>' line")
    old_size = _decimal(first[4:], "the old size")
    proof: list[bytes] = []
    while True:
        line, sep, rest = rest.partition("\n")
        if not sep:
            raise WitnessRequestError("the proof lines must be followed by an empty line and the checkpoint")
        if line == "":
            break
        if len(proof) == MAX_PROOF_LINES:
            raise WitnessRequestError(f"at most {MAX_PROOF_LINES} consistency proof lines are allowed")
        try:
            digest = base64.b64decode(line, validate=True)
        except (ValueError, binascii.Error):
            raise WitnessRequestError("a proof line is not base64") from None
        if len(digest) != 32:
            raise WitnessRequestError("a proof line must encode a 32-byte hash")
        proof.append(digest)
    try:
        note = parse_note(rest)
        checkpoint = parse_checkpoint_text(note.text)
    except (NoteError, CheckpointError) as exc:
        raise WitnessRequestError(f"the checkpoint is malformed: {exc}") from None
    if old_size == 0 and proof:
        raise WitnessRequestError("the proof must be empty when the old size is 0")
    return AddCheckpoint(old_size, proof, note, checkpoint, rest)


def add_checkpoint_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    """The request body a clinic sends (client side of :func:`parse_add_checkpoint`)."""
    lines = [f"old {old_size}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n", note]
    return "".join(lines).encode()


def size_body(size: int) -> str:
    return f"{size}\n"


def parse_size_body(text: str) -> int:
    """The tree size in a 409 ``text/x.tlog.size`` answer."""
    if not text.endswith("\n"):
        raise WitnessRequestError("a size body ends with a newline")
    return _decimal(text[:-1], "the size")


# ---------------------------------------------------------------------------------------- signed requests
REQUEST_DOMAIN = "idverify-hub-request/v1"
ORIGIN_HEADER = "x-idverify-origin"
TIMESTAMP_HEADER = "x-idverify-timestamp"
NONCE_HEADER = "x-idverify-nonce"
SIGNATURE_HEADER = "x-idverify-signature"


def request_message(method: str, path: str, origin: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The bytes a clinic signs for one request.

    ``idverify-hub-request/v1`` opens it, so no signed request can pass for a signed checkpoint (whose first line
    is an origin such as ``idverify/3f2a…``) or the other way round; method and path stop a signature for one
    endpoint from being replayed on another; the body hash binds the content.
    """
    digest = hashlib.sha256(body).hexdigest()
    return f"{REQUEST_DOMAIN}\n{method.upper()}\n{path}\n{origin}\n{timestamp}\n{nonce}\n{digest}\n".encode()
