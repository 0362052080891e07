"""Signed notes, checkpoints and cosignature/v1 against other implementations' published data."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idverify.ledger.checkpoint import (
    CheckpointError,
    parse_checkpoint_text,
    parse_verifier_key,
    verify_ed25519,
)
from idverify.ledger.cosignature import (
    CosignatureError,
    CosignatureSigner,
    parse_witness_key,
    verify_cosignatures,
    witness_verifier_key,
)
from idverify.ledger.note import NoteError, parse_note

DATA = Path(__file__).resolve().parents[1] / "data" / "c2sp"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (GO_TEXT + "\n\u2014 PeterNeumann "
           "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")


def _keys() -> dict[str, str]:
    return {line.split("+", 1)[0]: line for line in (DATA / "keys.txt").read_text().splitlines() if line}


def test_go_sumdb_note_example_verifies_and_a_changed_text_does_not() -> None:
    name, key = parse_verifier_key(GO_VKEY)
    note = parse_note(GO_NOTE)
    assert note.text == GO_TEXT
    assert verify_ed25519(note, name, key) is True
    with pytest.raises(CheckpointError):
        verify_ed25519(parse_note(GO_NOTE.replace("cryptography", "cryptographY")), name, key)


def test_public_witness_cosignatures_verify() -> None:
    note = (DATA / "cosigned_checkpoint.txt").read_text()
    keys = _keys()
    witnesses = [parse_witness_key(keys[n]) for n in
                 ("remora.n621.de", "witness.stagemole.eu", "witness1.smartit.nu/witness1",
                  "transparency.dev/DEV:witness-little-garden")]
    found = verify_cosignatures(note, witnesses)
    assert {c.witness.name for c in found} == {w.name for w in witnesses}
    assert all(c.timestamp > 1_700_000_000 for c in found)  # real POSIX times
    body = parse_checkpoint_text(parse_note(note).text)
    assert body.origin == "arche2025h1.staging.ct.transparency.dev" and body.tree_size == 1432088532
    name, log_key = parse_verifier_key(keys["arche2025h1.staging.ct.transparency.dev"])
    assert verify_ed25519(parse_note(note), name, log_key) is True  # the log's own note signature
    with pytest.raises(CosignatureError, match="does not verify"):
        verify_cosignatures(note.replace("1432088532", "1432088533"), witnesses[:1])


def test_cosignature_roundtrip_and_unknown_keys_ignored() -> None:
    signer = CosignatureSigner("hub.example/witness", Ed25519PrivateKey.generate())
    vkey = signer.key.vkey
    assert parse_witness_key(vkey) == signer.key
    text = "example.org/log\n5\n" + "A" * 43 + "=\n"
    note = text + "\n" + "\u2014 example.org/log AAAAAAAA\n" + signer.cosign(text, 1_700_000_123)
    found = verify_cosignatures(note, [signer.key])
    assert [c.timestamp for c in found] == [1_700_000_123]
    other = CosignatureSigner("hub.example/witness", Ed25519PrivateKey.generate())
    assert verify_cosignatures(note, [other.key]) == []  # same name, other key id: not ours to check
    forged = note.replace(signer.cosign(text, 1_700_000_123), signer.cosign(text, 1_700_000_124)[:-10] + "AAAAAAAA=\n")
    with pytest.raises(CosignatureError):
        verify_cosignatures(forged, [signer.key])


@pytest.mark.parametrize("bad", [
    "remora.n621.de+da77ade7+AevN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",  # type 0x01, not 0x04
    "remora.n621.de+da77ade8+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",  # wrong key id
    "remora n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",  # space in the name
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmt",  # truncated
    "no-plus-signs",
])
def test_malformed_witness_keys_are_refused(bad: str) -> None:
    with pytest.raises(CosignatureError):
        parse_witness_key(bad)


def test_witness_verifier_key_refuses_bad_names() -> None:
    with pytest.raises(CosignatureError):
        witness_verifier_key("a b", b"\x00" * 32)


@pytest.mark.parametrize("note", [
    "text\n",                                   # no signatures
    "text\n\n",                                 # blank line but no signature lines
    "\n\n\u2014 a AAAAAAA=\n",                  # empty text
    "text\n\n\u2014 a AAAA\n",                  # signature shorter than its key id
    "text\n\n- a AAAAAAAA\n",                   # hyphen, not an em dash
    "text\n\n\u2014 a\x01 AAAAAAAA\n",          # control character
    "text\n\n\u2014 a AAAAAAAA",                # no final newline
    "text\n\n\u2014 a+b AAAAAAAA\n",            # plus in the key name
])
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        parse_note(note)


def test_note_text_may_hold_blank_lines_the_last_one_separates() -> None:
    note = parse_note("a\n\nb\n\n\u2014 k AAAAAAAA\n")
    assert note.text == "a\n\nb\n" and [s.name for s in note.signatures] == ["k"]


@pytest.mark.parametrize("text,message", [
    ("o\n01\n" + "A" * 43 + "=\n", "leading zeroes"),
    ("o\n1\nAAAA\n", "32 bytes"),
    ("\n1\n" + "A" * 43 + "=\n", "origin is empty"),
    ("o\n1\n" + "A" * 43 + "=\n\n", "extension lines"),
    ("o\n1\n", "origin, a size and a root"),
])
def test_checkpoint_text_rules(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint_text(text)
