"""Writing ledger exports: the verifiable JSON Lines file, and CSV for spreadsheets.

The JSON Lines layout is documented (and checked) in :mod:`idverify.ledger.verify`. The writer reads the
database through the service/repository and streams: memory stays flat for a million entries. It never
creates checkpoints itself — the caller decides whether to sign a fresh one first (the CLI does), so a REST
handler can export against the checkpoint an inspector already holds.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from idverify.errors import NotFoundError, ValidationFailed
from idverify.ledger import repository
from idverify.ledger.canonical import format_time
from idverify.ledger.checkpoint import verifier_key
from idverify.ledger.merkle import range_nodes
from idverify.ledger.models import LedgerCheckpoint, LedgerDamaged, LedgerEntry
from idverify.ledger.progress import SILENT, Meter
from idverify.ledger.proofs import consistency_proof, inclusion_proof, missing_tail
from idverify.ledger.verify import EXPORT_FORMAT, EXPORT_VERSION
from idverify.store.base import utcnow


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _line(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")


@dataclass(frozen=True)
class ExportSummary:
    start: int
    end: int
    tree_size: int
    checkpoint_id: int
    entries: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "tree_size": self.tree_size,
            "checkpoint_id": self.checkpoint_id,
            "entries": self.entries,
        }


def resolve_range(session: Session, tree_size: int, start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """Map a time window ``[start, end)`` on ``recorded_at`` to an index range within ``tree_size``."""
    if start is not None and end is not None and end < start:
        raise ValidationFailed("--to is before --from")
    first = 0
    if start is not None:
        found = repository.index_at_or_after(session, start)
        first = tree_size if found is None else min(found, tree_size)
    last = tree_size
    if end is not None:
        before = repository.index_before(session, end)
        last = 0 if before is None else min(before + 1, tree_size)
    return first, max(first, last)


def export_jsonl(
    session: Session,
    out: IO[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    clinic: str = "",
    checkpoint: LedgerCheckpoint | None = None,
    release_between_batches: bool = True,
    progress: Meter = SILENT,
) -> ExportSummary:
    """Write a verifiable export of the entries recorded in ``[start, end)`` (all when both are None).

    Anchored on ``checkpoint`` (default: the latest); entries after it are left out, because the verifier could
    not check them against a signature. Raises :class:`NotFoundError` when nothing has been signed yet, and
    :class:`LedgerDamaged` — before writing anything — when rows the export needs are missing.
    ``release_between_batches`` ends the session's read transaction between batches of entries
    (:func:`~idverify.ledger.repository.end_read_transaction`) so a long export does not hold up appends on SQLite.
    ``progress`` hears the number of entries to write, then how many are written.
    """
    anchor = checkpoint or repository.latest_checkpoint(session)
    if anchor is None:
        raise NotFoundError("the ledger has no signed checkpoint yet; create one before exporting")
    size = int(anchor.tree_size)
    stored = repository.tree_size(session)
    if stored < size:
        raise missing_tail(stored, anchor)
    first, last = resolve_range(session, size, start, end)
    present = repository.count_entries(session, first, last)
    if present != last - first:
        raise LedgerDamaged(f"the audit ledger lacks {last - first - present} of entries {first}..{last - 1}; "
                            "restore them from a backup (`idverify audit check` names them)")
    public_key = bytes(anchor.public_key)
    _line(
        out,
        {
            "type": "header",
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "clinic": clinic,
            "origin": anchor.origin,
            "public_key": _b64(public_key),
            "verifier_key": verifier_key(anchor.origin, public_key),
            "hash": "sha256-rfc6962",
            "leaf_encoding": "rfc8785",
            "start": first,
            "end": last,
            "tree_size": size,
            "from": format_time(start) if start else None,
            "to": format_time(end) if end else None,
            "exported_at": format_time(utcnow()),
        },
    )
    intermediate = [
        cp
        for cp in repository.checkpoints(session)
        if first < cp.tree_size <= last and cp.tree_size < size and bytes(cp.public_key) == public_key
    ]
    signed = [*intermediate, anchor]
    cosigned = repository.cosignature_lines(session, [int(cp.id) for cp in signed])
    for cp in signed:
        # Witness cosignatures travel as extra signature lines of the note, the C2SP way; verifiers that do not
        # know the witness ignore them.
        _line(
            out,
            {
                "type": "checkpoint",
                "tree_size": int(cp.tree_size),
                "root_hash": _b64(bytes(cp.root_hash)),
                "time": format_time(cp.signed_at),
                "note": cp.note + "".join(cosigned.get(int(cp.id), [])),
            },
        )
    if first:
        hashes = _left_frontier(session, first)
        _line(out, {"type": "proof", "kind": "left_frontier", "size": first, "hashes": [_b64(h) for h in hashes]})
    if last < size:
        cons = consistency_proof(session, last, size)
        _line(
            out,
            {"type": "proof", "kind": "consistency", "old_size": last, "new_size": size,
             "hashes": [_b64(h) for h in cons.hashes]},
        )
    if last > first and (first > 0 or last < size):
        for idx in sorted({first, last - 1}):
            proof = inclusion_proof(session, idx, size)
            _line(
                out,
                {"type": "proof", "kind": "inclusion", "index": idx, "tree_size": size,
                 "hashes": [_b64(h) for h in proof.hashes]},
            )
    # Date-range completeness: the entries just outside the range, with inclusion proofs, show that nothing
    # recorded inside [from, to) was left out (recorded times never decrease along the index).
    for side, idx, wanted in (("before", first - 1, start is not None), ("after", last, end is not None)):
        if wanted and 0 <= idx < size:
            row = next(repository.iter_entry_rows(session, idx, idx + 1), None)
            if row is None:
                raise LedgerDamaged(f"the audit ledger lacks entry {idx}; restore it from a backup")
            proof = inclusion_proof(session, idx, size)
            out.write(
                f'{{"type":"proof","kind":"boundary","side":"{side}","index":{idx},"tree_size":{size},'
                f'"hashes":{json.dumps([_b64(h) for h in proof.hashes])},"leaf_hash":"{_b64(row[3])}",'
                f'"entry":{row[2]}}}\n'
            )
    count = 0
    progress.start(last - first)
    between = (lambda: repository.end_read_transaction(session)) if release_between_batches else None
    for index, _rec, canonical, lh in repository.iter_entry_rows(session, first, last, between_batches=between):
        # The stored canonical text goes in verbatim: it is valid JSON and exactly what the leaf hash covers.
        out.write(f'{{"type":"entry","index":{index},"leaf_hash":"{_b64(lh)}","entry":{canonical}}}\n')
        count += 1
        if not count & 0x3FF:
            progress.update(count)
    progress.update(count)
    _line(out, {"type": "end", "entries": count})
    return ExportSummary(first, last, size, int(anchor.id), count)


def _left_frontier(session: Session, size: int) -> list[bytes]:
    """Hashes of the complete subtrees left of ``size`` (one per set bit), largest first."""
    nodes = range_nodes(0, size)
    found = repository.node_hashes(session, nodes)
    if len(found) != len(nodes):
        raise LedgerDamaged(f"the audit ledger lacks tree nodes below entry {size}; run `idverify audit check`")
    return [found[n] for n in nodes]


CSV_COLUMNS = (
    "index", "recorded_at", "occurred_at", "type", "staff_id", "role", "workstation",
    "patient_id", "couple_id", "cycle_id", "data", "leaf_hash", "label",
)


#: Excel on a Chinese Windows reads a CSV as GBK unless it starts with the UTF-8 byte order mark; Python reads it
#: with ``encoding="utf-8-sig"``, pandas and LibreOffice skip it.
CSV_BOM = "\ufeff"


def write_csv(entries: Iterable[LedgerEntry], out: IO[str],
              label: Callable[[Mapping[str, Any]], str] | None = None, *, progress: Meter = SILENT) -> int:
    """One row per entry (ids only; ``data`` as compact JSON), after the UTF-8 BOM. Returns the number of rows.
    ``label(event)`` is the last column, what the event says in a reader's language (empty without one)."""
    out.write(CSV_BOM)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for entry in entries:
        doc = json.loads(entry.canonical)
        ev = doc["event"]
        actor = ev.get("actor") or {}
        subject = ev.get("subject") or {}
        writer.writerow([
            doc["index"], doc["recorded_at"], ev["occurred_at"], ev["type"], actor.get("staff_id") or "",
            actor.get("role") or "", actor.get("workstation") or "", subject.get("patient_id") or "",
            subject.get("couple_id") or "", subject.get("cycle_id") or "",
            json.dumps(ev.get("data") or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
            bytes(entry.leaf_hash).hex(),
            label(ev) if label is not None else "",
        ])
        rows += 1
        progress.update(rows)
    return rows
