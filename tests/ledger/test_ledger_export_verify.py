"""Exports and the offline verifier: intact exports pass (twice), every kind of tampering is caught and named."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from idverify.ledger.append import append
from idverify.ledger.checkpoint import CheckpointSigner, public_key_pem
from idverify.ledger.export import export_jsonl
from idverify.ledger.merkle import leaf_hash
from idverify.ledger.proofs import create_checkpoint
from idverify.ledger.verify import ExportInvalid, verify_export

from .conftest import EventFactory

DAY1 = datetime(2026, 11, 1, 8, tzinfo=UTC)


@pytest.fixture
def ledger(session: Session, make_event: EventFactory, signer: CheckpointSigner) -> Session:
    """30 entries over three days, a checkpoint after each day."""
    for day in range(3):
        now = DAY1 + timedelta(days=day)
        for i in range(10):
            append(session, make_event(day * 10 + i), now=now + timedelta(minutes=i))
        create_checkpoint(session, signer, now=now + timedelta(hours=1))
        session.commit()
    return session


def _export(session: Session, path: Path, **kwargs: Any) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        export_jsonl(session, fh, clinic="Test clinic", **kwargs)
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def _entry(records: list[dict[str, Any]], index: int) -> dict[str, Any]:
    return next(r for r in records if r["type"] == "entry" and r["index"] == index)


def _rewrite(entry: dict[str, Any], change: Any, *, rehash: bool) -> None:
    """Edit an exported entry like an attacker would; ``rehash`` also fixes up its listed leaf hash."""
    change(entry["entry"])
    if rehash:
        entry["leaf_hash"] = base64.b64encode(leaf_hash(rfc8785.dumps(entry["entry"]))).decode()


def test_full_export_verifies_twice(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    path = _export(ledger, tmp_path / "all.jsonl")
    records = _records(path)
    assert records[0]["type"] == "header" and records[0]["start"] == 0 and records[0]["end"] == 30
    assert [r["type"] for r in records].count("checkpoint") == 3  # two intermediate + the anchor
    for _ in range(2):
        result = verify_export(path, public_key_pem(signer.public_key))
        assert (result.entries, result.tree_size, result.checkpoints) == (30, 30, 3)
    assert result.warnings == []
    assert verify_export(path).warnings  # without a trusted key: verified, with a warning


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"start": DAY1 + timedelta(days=1)}, (10, 30)),
        ({"end": DAY1 + timedelta(days=1)}, (0, 10)),
        ({"start": DAY1 + timedelta(days=1), "end": DAY1 + timedelta(days=2)}, (10, 20)),
        ({"start": DAY1 + timedelta(days=1, minutes=3), "end": DAY1 + timedelta(days=1, minutes=4)}, (13, 14)),
        ({"start": DAY1 + timedelta(days=9)}, (30, 30)),
    ],
    ids=["from", "to", "one-day", "one-entry", "empty"],
)
def test_range_exports_verify_against_the_signed_checkpoint(
    ledger: Session, tmp_path: Path, signer: CheckpointSigner, kwargs: dict[str, Any], expected: tuple[int, int]
) -> None:
    path = _export(ledger, tmp_path / "range.jsonl", **kwargs)
    result = verify_export(path, signer.public_key)
    assert (result.start, result.end) == expected
    kinds = {r.get("kind") for r in _records(path) if r["type"] == "proof"}
    if expected[0]:
        assert "left_frontier" in kinds
    if expected[1] < 30:
        assert "consistency" in kinds


def test_range_export_tampering_is_caught(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    path = _export(ledger, tmp_path / "range.jsonl", start=DAY1 + timedelta(days=1), end=DAY1 + timedelta(days=2))
    records = _records(path)
    _rewrite(_entry(records, 15), lambda d: d["event"]["data"].update(decision="reject"), rehash=True)
    with pytest.raises(ExportInvalid) as err:
        verify_export(_write(tmp_path / "bad.jsonl", records), signer.public_key)
    assert err.value.index == 10  # the interval [10, 20) between signed checkpoints


def test_date_range_completeness_is_proven(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    day2, day3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
    path = _export(ledger, tmp_path / "day2.jsonl", start=day2, end=day3)
    result = verify_export(path, signer.public_key)
    assert (result.date_from, result.date_to) == ("2026-11-02T08:00:00.000000Z", "2026-11-03T08:00:00.000000Z")
    records = _records(path)
    boundaries = {r["side"]: r["index"] for r in records if r.get("kind") == "boundary"}
    assert boundaries == {"before": 9, "after": 20}
    # claiming a wider range than the entries present is caught by the boundary entries
    wider = [dict(r) for r in records]
    wider[0]["from"] = "2026-11-01T00:00:00.000000Z"
    with pytest.raises(ExportInvalid, match="left out of the export") as err:
        verify_export(_write(tmp_path / "wider.jsonl", wider), signer.public_key)
    assert err.value.index == 9
    later = [dict(r) for r in records]
    later[0]["to"] = "2026-11-05T00:00:00.000000Z"
    with pytest.raises(ExportInvalid, match="left out of the export"):
        verify_export(_write(tmp_path / "later.jsonl", later), signer.public_key)
    stripped = [r for r in records if r.get("kind") != "boundary"]
    with pytest.raises(ExportInvalid, match="just before its range"):
        verify_export(_write(tmp_path / "stripped.jsonl", stripped), signer.public_key)


def _check_fails(path: Path, signer: CheckpointSigner, index: int | None, words: str) -> None:
    with pytest.raises(ExportInvalid) as err:
        verify_export(path, signer.public_key)
    assert words in err.value.message
    assert err.value.index == index


def test_changed_entry_is_named(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    _rewrite(_entry(records, 5), lambda d: d["event"]["data"].update(decision="reject"), rehash=False)
    _check_fails(_write(tmp_path / "bad.jsonl", records), signer, 5, "does not match its leaf hash")


def test_changed_entry_with_recomputed_hash_is_localised(
    ledger: Session, tmp_path: Path, signer: CheckpointSigner
) -> None:
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    _rewrite(_entry(records, 24), lambda d: d["event"]["subject"].update(patient_id="someone-else"), rehash=True)
    _check_fails(_write(tmp_path / "bad.jsonl", records), signer, 20, "entries 20..29 do not match")


@pytest.mark.parametrize(
    ("edit", "index", "words"),
    [
        (lambda rs: rs.remove(_entry(rs, 7)), 7, "found entry 8 (entry 7 is missing"),
        (lambda rs: rs.insert(rs.index(_entry(rs, 7)), rs.pop(rs.index(_entry(rs, 8)))), 7, "out of order"),
        (lambda rs: rs.insert(rs.index(_entry(rs, 7)), dict(_entry(rs, 7))), 8, "inserted, duplicated or moved"),
        (lambda rs: rs.remove(_entry(rs, 29)), 29, "missing"),
    ],
    ids=["removed", "reordered", "inserted", "last-removed"],
)
def test_removed_reordered_inserted_entries_are_named(
    ledger: Session, tmp_path: Path, signer: CheckpointSigner, edit: Any, index: int, words: str
) -> None:
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    edit(records)
    _check_fails(_write(tmp_path / "bad.jsonl", records), signer, index, words)


def test_back_dated_entry_is_named(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    _rewrite(_entry(records, 12), lambda d: d.update(recorded_at="2026-10-01T00:00:00.000000Z"), rehash=True)
    _check_fails(_write(tmp_path / "bad.jsonl", records), signer, 12, "back-dated")


def test_entry_after_its_checkpoint_is_named(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    _rewrite(_entry(records, 29), lambda d: d.update(recorded_at="2027-01-01T00:00:00.000000Z"), rehash=True)
    _check_fails(_write(tmp_path / "bad.jsonl", records), signer, 29, "after the checkpoint")


def test_moved_entry_content_is_named(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    _rewrite(_entry(records, 3), lambda d: d.update(index=4), rehash=True)
    _check_fails(_write(tmp_path / "bad.jsonl", records), signer, 3, "claims index 4")


def test_bad_signature_and_wrong_key_are_refused(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    path = _export(ledger, tmp_path / "e.jsonl")
    records = _records(path)
    anchor = [r for r in records if r["type"] == "checkpoint"][-1]
    anchor["note"] = anchor["note"].replace("\n30\n", "\n31\n")
    _check_fails(_write(tmp_path / "sig.jsonl", records), signer, None, "does not verify")
    stranger = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(ExportInvalid, match="differs from the export header"):
        verify_export(path, stranger)


def test_export_resigned_with_another_key_is_refused(
    ledger: Session, tmp_path: Path, signer: CheckpointSigner
) -> None:
    """A forger rebuilds the whole file under their own key: only the trusted key exposes it."""
    forger = CheckpointSigner(Ed25519PrivateKey.generate())
    records = _records(_export(ledger, tmp_path / "e.jsonl"))
    records[0]["public_key"] = base64.b64encode(forger.public_key).decode()
    path = _write(tmp_path / "forged.jsonl", records)
    with pytest.raises(ExportInvalid, match="differs from the export header"):
        verify_export(path, signer.public_key)


def test_truncated_or_garbled_files_are_refused(ledger: Session, tmp_path: Path, signer: CheckpointSigner) -> None:
    path = _export(ledger, tmp_path / "e.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    (tmp_path / "cut.jsonl").write_text("".join(lines[:-1]))
    with pytest.raises(ExportInvalid, match="end record"):
        verify_export(tmp_path / "cut.jsonl", signer.public_key)
    (tmp_path / "garbled.jsonl").write_text("".join([*lines[:5], "{not json\n", *lines[5:]]))
    with pytest.raises(ExportInvalid, match="not JSON"):
        verify_export(tmp_path / "garbled.jsonl", signer.public_key)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ExportInvalid, match="empty"):
        verify_export(tmp_path / "empty.jsonl", signer.public_key)


def test_export_without_checkpoint_is_refused(session: Session, tmp_path: Path, make_event: EventFactory) -> None:
    from idverify.errors import NotFoundError

    append(session, make_event(0))
    with pytest.raises(NotFoundError), (tmp_path / "x.jsonl").open("w") as fh:
        export_jsonl(session, fh)


def test_offline_verifier_imports_no_database_code() -> None:
    code = (
        "import sys, idverify.ledger.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'alembic', 'psycopg'}\n"
        "             or m.startswith(('idverify.store', 'idverify.ledger.models', 'idverify.ledger.repository',\n"
        "                              'idverify.ledger.append', 'idverify.ledger.proofs', 'idverify.ledger.entries',\n"
        "                              'idverify.ledger.integrity')))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_export_reformatted_by_another_tool_still_verifies(
    ledger: Session, tmp_path: Path, signer: CheckpointSigner
) -> None:
    """Key order and spacing of the lines are not what is signed; the leaf content is."""
    path = _export(ledger, tmp_path / "e.jsonl")
    records = _records(path)
    reformatted = tmp_path / "reformatted.jsonl"
    reformatted.write_text("".join(json.dumps(r, sort_keys=True, indent=None) + "\n" for r in records))
    assert reformatted.read_text() != path.read_text()
    assert verify_export(reformatted, signer.public_key).entries == 30
