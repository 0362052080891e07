"""Signed-note checkpoints: format, signature checks, key formats, key file creation."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from idverify.ledger.checkpoint import (
    CheckpointError,
    CheckpointSigner,
    open_checkpoint,
    parse_public_key,
    public_key_pem,
    verifier_key,
)

ROOT = bytes(range(32))
WHEN = datetime(2026, 11, 23, 6, 0, 0, 123456, tzinfo=UTC)


def test_note_follows_tlog_checkpoint_layout(signer: CheckpointSigner) -> None:
    signed = signer.sign(42, ROOT, WHEN)
    body, sigs = signed.note.split("\n\n")
    root = base64.b64encode(ROOT).decode()
    assert body.split("\n") == [signer.origin, "42", root, "time 2026-11-23T06:00:00.123456Z"]
    assert sigs.startswith(f"\u2014 {signer.origin} ")
    blob = base64.b64decode(sigs.split(" ")[-1])
    assert blob[:4] == signer.key_id and len(blob) == 4 + 64
    opened = open_checkpoint(signed.note, signer.public_key)
    assert (opened.tree_size, opened.root_hash, opened.time) == (42, ROOT, WHEN)


def test_tampered_note_or_other_key_is_refused(signer: CheckpointSigner, tmp_path: Path) -> None:
    note = signer.sign(42, ROOT, WHEN).note
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), signer.public_key)
    other = CheckpointSigner.from_file(tmp_path / "other.key")
    with pytest.raises(CheckpointError, match="no signature by the given public key"):
        open_checkpoint(note, other.public_key)
    with pytest.raises(CheckpointError):
        open_checkpoint(note.split("\n\n")[0], signer.public_key)


def test_public_key_formats_all_parse(signer: CheckpointSigner) -> None:
    raw = signer.public_key
    assert parse_public_key(public_key_pem(raw)) == raw
    assert parse_public_key(base64.b64encode(raw).decode() + "\n") == raw
    assert parse_public_key(verifier_key(signer.origin, raw)) == raw
    with pytest.raises(CheckpointError):
        parse_public_key("bm90IGEga2V5")
    broken = verifier_key(signer.origin, raw).replace(signer.key_id.hex(), "00000000")
    with pytest.raises(CheckpointError, match="id does not match"):
        parse_public_key(broken)


def test_key_file_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.key"
    first = CheckpointSigner.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CheckpointSigner.from_file(path).public_key == first.public_key
