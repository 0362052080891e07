"""Offline verification of a ledger export — what an inspector runs without trusting the clinic's server.

Imports no database code (a test enforces it): only the export file, the clinic's public key and the Merkle
arithmetic of :mod:`idverify.ledger.merkle`.

Export format (JSON Lines, written by :mod:`idverify.ledger.export`), in this order:

1. ``{"type": "header", "format": "idverify-ledger-export", "version": 1, "clinic", "origin", "public_key",
   "verifier_key", "start", "end", "tree_size", "exported_at"}`` — ``[start, end)`` is the exported index range.
2. ``{"type": "checkpoint", "note", ...}`` lines: signed checkpoints whose size lies in ``(start, end]``, in
   size order, then the anchor — the signed checkpoint of ``tree_size`` entries the export is checked against.
3. ``{"type": "proof", "kind": "left_frontier" | "consistency" | "inclusion", ...}``: for a range that does not
   start at 0 the complete-subtree hashes left of ``start`` (so the range's own root can be recomputed), a
   consistency proof from ``end`` to the anchor when ``end < tree_size``, inclusion proofs of the first and
   last entry, and for a date range the ``boundary`` entries just before and after it (content + inclusion proof),
   which prove that no entry recorded inside ``[from, to)`` was left out.
4. ``{"type": "entry", "index", "leaf_hash", "entry"}`` per entry, ``entry`` being the leaf document
   ``{"event", "index", "recorded_at", "v"}`` written as its exact RFC 8785 bytes — the bytes the leaf hash covers
   (a tool that re-serialises the line does no harm: the verifier re-canonicalises what it cannot slice).
5. ``{"type": "end", "entries": n}``.

What is checked, first failure reported with the entry index where one can be named: the header's key equals the
key the inspector supplied; every checkpoint signature; indices contiguous (removed / inserted / reordered
entries); each leaf hash recomputed from its content (changed entries); the index inside the content; recorded
times non-decreasing (back-dating) and not after the checkpoints that cover them; each intermediate checkpoint's
root when the stream reaches its size (localises a rewrite whose hashes were recomputed to one checkpoint
interval); finally the range root against the anchor (directly, or through the consistency proof).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785

from idverify.ledger.checkpoint import CheckpointError, SignedCheckpoint, open_checkpoint, parse_public_key
from idverify.ledger.cosignature import CosignatureError, WitnessKey, verify_cosignatures
from idverify.ledger.merkle import (
    CompactRange,
    ProofError,
    leaf_hash,
    range_nodes,
    root_from_inclusion,
    verify_consistency,
)
from idverify.ledger.progress import SILENT, Meter

EXPORT_FORMAT = "idverify-ledger-export"
EXPORT_VERSION = 1


class ExportInvalid(Exception):
    """The export failed a check. ``index`` is the first bad entry when one can be named."""

    def __init__(self, message: str, *, index: int | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.line = line


@dataclass
class VerifyResult:
    entries: int = 0
    start: int = 0
    end: int = 0
    tree_size: int = 0
    origin: str = ""
    checkpoints: int = 0
    root_hash: str = ""
    date_from: str | None = None
    date_to: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    witnesses: list[str] = field(default_factory=list)  # witnesses whose cosignature on the anchor verified
    quorum: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "entries": self.entries,
            "start": self.start,
            "end": self.end,
            "tree_size": self.tree_size,
            "origin": self.origin,
            "checkpoints": self.checkpoints,
            "root_hash": self.root_hash,
            "from": self.date_from,
            "to": self.date_to,
            "seconds": round(self.seconds, 3),
            "cosigned_by": self.witnesses,
            "quorum": self.quorum,
        }


def _b64(value: Any, what: str, line: int) -> bytes:
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise ExportInvalid(f"{what} is not base64", line=line) from None


# Fast path for the line shape our writer produces: the leaf's canonical bytes are sliced out of the line and
# hashed as they are. Anything else (a line re-serialised by another tool, or tampered) is parsed and
# re-canonicalised (RFC 8785), so the fast path changes the speed, never the verdict.
_ENTRY_LINE = re.compile(
    rb'\{"type":"entry","index":(\d+),"leaf_hash":"([A-Za-z0-9+/=]{44})","entry":(\{"event":.*\})\}\r?\n?\Z'
)
_LEAF_TAIL = re.compile(rb',"index":(\d+),"recorded_at":"([0-9T:.Z-]{27})","v":1\}\Z')


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    match_entry = _ENTRY_LINE.match
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            m = match_entry(raw)
            if m is not None:
                yield number, {"type": "entry", "index": int(m.group(1)), "leaf_hash": m.group(2).decode(),
                               "canonical": m.group(3)}
                continue
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                raise ExportInvalid(f"line {number} is not JSON", line=number) from None
            if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
                raise ExportInvalid(f"line {number} has no record type", line=number)
            if obj["type"] == "entry":
                try:
                    obj["canonical"] = bytes(rfc8785.dumps(obj.get("entry")))
                except (rfc8785.CanonicalizationError, ValueError, TypeError):
                    raise ExportInvalid(f"line {number}: the entry cannot be canonicalised", line=number) from None
            yield number, obj


def _open(obj: dict[str, Any], key: bytes, line: int) -> SignedCheckpoint:
    note = obj.get("note")
    if not isinstance(note, str):
        raise ExportInvalid(f"checkpoint on line {line} has no signed note", line=line)
    try:
        return open_checkpoint(note, key)
    except CheckpointError as exc:
        raise ExportInvalid(f"checkpoint on line {line}: {exc}", line=line) from None


def verify_export(
    path: Path,
    public_key: str | bytes | None = None,
    *,
    witnesses: Sequence[WitnessKey] = (),
    quorum: int | None = None,
    progress: Meter = SILENT,
) -> VerifyResult:
    """Check the export at ``path``; raise :class:`ExportInvalid` at the first problem, else return a summary.

    ``public_key`` is the key the inspector trusts (PEM, base64 or verifier-key text, or raw 32 bytes). Without
    it the header's key is used — which proves integrity of the file but not that the clinic signed it.

    With ``witnesses`` the signed checkpoint the export is anchored on — the one every entry is finally checked
    against — must carry valid cosignature/v1 signatures of at least ``quorum`` of them (default: all of them):
    then the clinic cannot have shown this history to the inspector and another to the witnesses. A cosignature
    that claims a trusted witness but does not verify fails the export (a forged cosignature is not just absent).
    """
    started = time.perf_counter()
    if witnesses:
        needed = len(witnesses) if quorum is None else quorum
        if not 1 <= needed <= len(witnesses):
            raise ExportInvalid(f"--quorum must be between 1 and the {len(witnesses)} witness key(s) given")
    elif quorum:
        raise ExportInvalid("--quorum needs at least one --witness-key")
    run = _Run(_lines(path))
    run.header(public_key)
    progress.start(run.result.end - run.result.start)
    run.checkpoints_and_proofs()
    if witnesses:
        _check_quorum(run, list(witnesses), needed)
    run.entries(progress)
    run.finish()
    run.result.seconds = time.perf_counter() - started
    return run.result


class _Run:
    """One streaming pass over an export; each method consumes one section of the file."""

    def __init__(self, stream: Iterator[tuple[int, dict[str, Any]]]) -> None:
        self.stream = stream
        self.result = VerifyResult()
        self.line = 0
        self.obj: dict[str, Any] = {"type": "eof"}
        self.key = b""
        self.origin: Any = None
        self.checkpoints: list[SignedCheckpoint] = []
        self.anchor_line = 0
        self.proofs: dict[str, list[dict[str, Any]]] = {}
        self.frontier = CompactRange()
        self.last_time = ""
        self.first_time = ""
        self.date_from: str | None = None
        self.date_to: str | None = None
        self.edge_leaves: dict[int, str] = {}

    def advance(self) -> None:
        self.line, self.obj = next(self.stream, (self.line + 1, {"type": "eof"}))

    @property
    def anchor(self) -> SignedCheckpoint:
        return self.checkpoints[-1]

    def header(self, public_key: str | bytes | None) -> None:
        self.advance()
        line, header = self.line, self.obj
        if header.get("type") == "eof":
            raise ExportInvalid("the export is empty")
        if header.get("type") != "header" or header.get("format") != EXPORT_FORMAT:
            raise ExportInvalid("the first line is not an idverify ledger export header", line=line)
        if header.get("version") != EXPORT_VERSION:
            raise ExportInvalid(f"unsupported export version {header.get('version')!r}", line=line)
        header_key = _b64(header.get("public_key"), "header public_key", line)
        if public_key is None:
            self.key = header_key
            self.result.warnings.append(
                "no --public-key given: the signature was checked with the key in the file itself"
            )
        else:
            try:
                self.key = public_key if isinstance(public_key, bytes) else parse_public_key(public_key)
            except CheckpointError as exc:
                raise ExportInvalid(f"--public-key: {exc}") from None
            if self.key != header_key:
                raise ExportInvalid("the public key given differs from the export header's key", line=line)
        try:
            start, end, size = int(header["start"]), int(header["end"]), int(header["tree_size"])
        except (KeyError, TypeError, ValueError):
            raise ExportInvalid("header lacks start, end or tree_size", line=line) from None
        if not 0 <= start <= end <= size:
            raise ExportInvalid(f"header range [{start}, {end}) does not fit a tree of {size}", line=line)
        self.result.start, self.result.end, self.result.tree_size = start, end, size
        self.origin = header.get("origin")
        self.result.origin = str(self.origin)
        self.date_from = header.get("from") if isinstance(header.get("from"), str) else None
        self.date_to = header.get("to") if isinstance(header.get("to"), str) else None
        self.result.date_from, self.result.date_to = self.date_from, self.date_to

    def checkpoints_and_proofs(self) -> None:
        self.advance()
        while self.obj["type"] == "checkpoint":
            cp = _open(self.obj, self.key, self.line)
            if cp.origin != self.origin:
                raise ExportInvalid(f"checkpoint on line {self.line} is for another log", line=self.line)
            if self.checkpoints and (
                cp.tree_size < self.checkpoints[-1].tree_size or cp.time < self.checkpoints[-1].time
            ):
                raise ExportInvalid(f"checkpoint on line {self.line} is older than the one before it", line=self.line)
            self.checkpoints.append(cp)
            self.anchor_line = self.line
            self.advance()
        if not self.checkpoints:
            raise ExportInvalid("the export has no signed checkpoint", line=self.line)
        if self.anchor.tree_size != self.result.tree_size:
            raise ExportInvalid(
                f"the signed checkpoint covers {self.anchor.tree_size} entries, the header {self.result.tree_size}"
            )
        self.result.checkpoints = len(self.checkpoints)
        while self.obj["type"] == "proof":
            self.proofs.setdefault(str(self.obj.get("kind")), []).append(self.obj | {"_line": self.line})
            self.advance()
        start = self.result.start
        if start:
            left = self.proofs.get("left_frontier", [])
            if len(left) != 1:
                raise ExportInvalid("a range export needs exactly one left_frontier proof")
            hashes = [_b64(h, "left_frontier hash", left[0]["_line"]) for h in left[0].get("hashes") or []]
            if len(hashes) != len(range_nodes(0, start)) or any(len(h) != 32 for h in hashes):
                raise ExportInvalid("the left_frontier proof has the wrong shape", line=left[0]["_line"])
            self.frontier = CompactRange(start, hashes)
        _check_inclusions(self.proofs.get("inclusion", []), self.anchor, start, self.result.end)

    def entries(self, progress: Meter = SILENT) -> None:
        """The hot loop: ~1 µs of hashing and two C-level JSON parses per entry (the meter hears every 4096)."""
        start, end = self.result.start, self.result.end
        pending = [cp for cp in self.checkpoints[:-1] if start < cp.tree_size <= end]
        expected = lower = start
        previous = ""
        frontier = self.frontier
        b64encode = base64.b64encode
        while self.obj["type"] == "entry":
            obj, line = self.obj, self.line
            index = obj.get("index")
            if index != expected:
                what = (
                    f"entry {expected} is missing or the entries are out of order"
                    if isinstance(index, int) and index > expected
                    else "an entry was inserted, duplicated or moved"
                )
                raise ExportInvalid(
                    f"entry {expected}: expected here, found entry {index!r} ({what})", index=expected, line=line
                )
            canonical: bytes = obj["canonical"]
            lh = leaf_hash(canonical)
            listed = obj.get("leaf_hash")
            if b64encode(lh).decode() != listed:
                raise ExportInvalid(
                    f"entry {index}: content does not match its leaf hash (changed)", index=index, line=line
                )
            recorded = _leaf_time(canonical, index, line)
            if recorded < previous:
                raise ExportInvalid(
                    f"entry {index}: recorded before the entry preceding it (back-dated)", index=index, line=line
                )
            previous = recorded
            if index == start:
                self.first_time = recorded
            if index in (start, end - 1):
                self.edge_leaves[index] = listed
            frontier.append(lh)
            expected += 1
            if not expected & 0xFFF:
                progress.update(expected - start)
            while pending and pending[0].tree_size == frontier.size:
                _check_checkpoint_root(pending.pop(0), frontier, previous, lower)
                lower = frontier.size
            self.advance()
        progress.update(expected - start)
        self.last_time = previous
        if expected != end:
            raise ExportInvalid(
                f"entry {expected}: missing (the export stops after {expected - start} of {end - start} entries)",
                index=expected,
                line=self.line,
            )

    def finish(self) -> None:
        start, end, size = self.result.start, self.result.end, self.result.tree_size
        if self.obj["type"] != "end":
            raise ExportInvalid(f"line {self.line}: expected the end record, found {self.obj['type']!r}",
                                line=self.line)
        if self.obj.get("entries") != end - start:
            raise ExportInvalid("the end record's entry count differs from the entries present", line=self.line)
        if next(self.stream, None) is not None:
            raise ExportInvalid("records after the end record")
        anchor = self.anchor
        if self.last_time and self.last_time > _time_text(anchor):
            raise ExportInvalid(f"entry {end - 1}: recorded after the checkpoint that covers it", index=end - 1)
        range_root = self.frontier.root()
        if end == size:
            if range_root != anchor.root_hash:
                raise ExportInvalid(_mismatch(self.checkpoints, start, end),
                                    index=_window(self.checkpoints, start, end))
        else:
            cons = self.proofs.get("consistency", [])
            if len(cons) != 1 or cons[0].get("old_size") != end or cons[0].get("new_size") != size:
                raise ExportInvalid(f"missing consistency proof from {end} to {size}")
            hashes = [_b64(h, "consistency hash", cons[0]["_line"]) for h in cons[0].get("hashes") or []]
            try:
                verify_consistency(end, size, range_root, anchor.root_hash, hashes)
            except ProofError:
                raise ExportInvalid(_mismatch(self.checkpoints, start, end),
                                    index=_window(self.checkpoints, start, end)) from None
        for idx, b64 in self.edge_leaves.items():
            _check_inclusion_leaf(self.proofs.get("inclusion", []), idx, b64, anchor.root_hash)
        _check_boundaries(self)
        self.result.entries = end - start
        self.result.root_hash = base64.b64encode(anchor.root_hash).decode()


def _check_quorum(run: _Run, witnesses: list[WitnessKey], needed: int) -> None:
    """The anchor's note must carry ``needed`` valid cosignatures of the given witnesses."""
    anchor, line = run.anchor, run.anchor_line
    try:
        found = verify_cosignatures(anchor.note, witnesses)
    except CosignatureError as exc:
        raise ExportInvalid(f"checkpoint on line {line}: {exc}", line=line) from None
    run.result.witnesses = sorted(c.witness.name for c in found)
    run.result.quorum = needed
    if len(found) < needed:
        raise ExportInvalid(
            f"the signed checkpoint of {anchor.tree_size} entries carries {len(found)} valid cosignature(s) of the "
            f"{len(witnesses)} witness key(s) given; {needed} required",
            line=line,
        )


def _check_boundaries(run: _Run) -> None:
    """For a date-range export: the entries just outside the range prove that the range is complete."""
    header_from, header_to = run.date_from, run.date_to
    start, end, size = run.result.start, run.result.end, run.result.tree_size
    boundaries = {b.get("side"): b for b in run.proofs.get("boundary", [])}
    if header_from and start > 0:
        if "before" not in boundaries:
            raise ExportInvalid("a --from export must carry the entry just before its range")
        index, when = _boundary_time(boundaries["before"], run.anchor)
        if index != start - 1 or when >= header_from:
            raise ExportInvalid(f"entry {start - 1}: recorded at or after --from but left out of the export",
                                index=start - 1)
    if header_to and end < size:
        if "after" not in boundaries:
            raise ExportInvalid("a --to export must carry the entry just after its range")
        index, when = _boundary_time(boundaries["after"], run.anchor)
        if index != end or when < header_to:
            raise ExportInvalid(f"entry {end}: recorded before --to but left out of the export", index=end)
    if (header_from and run.first_time and run.first_time < header_from) or (
        header_to and run.last_time and run.last_time >= header_to
    ):
        raise ExportInvalid("the export holds entries outside its --from/--to range")


def _boundary_time(item: dict[str, Any], anchor: SignedCheckpoint) -> tuple[int, str]:
    """Verify a boundary entry (content, leaf hash, inclusion in the anchor); return its index and time."""
    line = item["_line"]
    index = item.get("index")
    if not isinstance(index, int) or item.get("tree_size") != anchor.tree_size:
        raise ExportInvalid("a boundary proof is malformed", line=line)
    try:
        canonical = bytes(rfc8785.dumps(item.get("entry")))
    except (rfc8785.CanonicalizationError, ValueError, TypeError):
        raise ExportInvalid("a boundary entry cannot be canonicalised", line=line) from None
    leaf = leaf_hash(canonical)
    if base64.b64encode(leaf).decode() != item.get("leaf_hash"):
        raise ExportInvalid(f"boundary entry {index}: content does not match its leaf hash", index=index, line=line)
    hashes = [_b64(h, "boundary hash", line) for h in item.get("hashes") or []]
    try:
        root = root_from_inclusion(index, anchor.tree_size, leaf, hashes)
    except ProofError as exc:
        raise ExportInvalid(f"boundary entry {index}: {exc}", index=index, line=line) from None
    if root != anchor.root_hash:
        raise ExportInvalid(f"boundary entry {index}: not included in the signed checkpoint", index=index, line=line)
    return index, _leaf_time(canonical, index, line)


def _leaf_time(canonical: bytes, index: int, line: int) -> str:
    """The leaf's ``recorded_at`` after checking it is a well-formed leaf for ``index``.

    RFC 8785 sorts keys, so a leaf ends with its top-level ``index``, ``recorded_at`` and ``v``: reading that tail
    avoids parsing every event. Anything unusual gets the full parse.
    """
    tail = canonical.rfind(b',"index":')
    m = _LEAF_TAIL.match(canonical, tail) if tail > 0 else None
    if m is not None:
        claimed: Any = int(m.group(1))
        recorded: Any = m.group(2).decode()
    else:
        try:
            doc = json.loads(canonical)
            claimed, recorded = doc["index"], doc["recorded_at"]
            if not isinstance(recorded, str) or len(recorded) != 27 or not isinstance(doc["event"], dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ExportInvalid(f"entry {index}: content is not a ledger leaf", index=index, line=line) from None
    if claimed != index:
        raise ExportInvalid(f"entry {index}: content claims index {claimed!r} (moved)", index=index, line=line)
    return str(recorded)


def _time_text(cp: SignedCheckpoint) -> str:
    return cp.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_checkpoint_root(cp: SignedCheckpoint, frontier: CompactRange, last_time: str, lower: int) -> None:
    if frontier.root() != cp.root_hash:
        raise ExportInvalid(
            f"entries {lower}..{cp.tree_size - 1} do not match the checkpoint signed at size {cp.tree_size}: "
            "an entry in that interval was changed and its hash recomputed, or entries were added or removed",
            index=lower,
        )
    if last_time > _time_text(cp):
        raise ExportInvalid(f"entry {cp.tree_size - 1}: recorded after the checkpoint that covers it",
                            index=cp.tree_size - 1)


def _window(checkpoints: list[SignedCheckpoint], start: int, end: int) -> int:
    """The first index the signed data can still vouch for: after the last intermediate checkpoint that matched."""
    lower = start
    for cp in checkpoints[:-1]:
        if start < cp.tree_size <= end:
            lower = cp.tree_size
    return lower


def _mismatch(checkpoints: list[SignedCheckpoint], start: int, end: int) -> str:
    lower = _window(checkpoints, start, end)
    return (
        f"entries {lower}..{end - 1} do not match the signed checkpoint: an entry in that interval was changed "
        "and its hash recomputed, or entries were added or removed"
    )


def _check_inclusions(items: list[dict[str, Any]], anchor: SignedCheckpoint, start: int, end: int) -> None:
    """Inclusion proofs must be for the anchor tree and verify against its root (leaf checked later)."""
    for item in items:
        if item.get("tree_size") != anchor.tree_size or not isinstance(item.get("index"), int):
            raise ExportInvalid("an inclusion proof is not for the signed checkpoint", line=item["_line"])
        if not start <= item["index"] < end:
            raise ExportInvalid("an inclusion proof is for an entry outside the range", line=item["_line"])


def _check_inclusion_leaf(items: list[dict[str, Any]], index: int, leaf_b64: str, anchor_root: bytes) -> None:
    for item in items:
        if item["index"] != index:
            continue
        leaf = base64.b64decode(leaf_b64)
        hashes = [_b64(h, "inclusion hash", item["_line"]) for h in item.get("hashes") or []]
        try:
            root = root_from_inclusion(index, int(item["tree_size"]), leaf, hashes)
        except ProofError as exc:
            raise ExportInvalid(f"entry {index}: inclusion proof invalid ({exc})", index=index) from None
        if root != anchor_root:
            raise ExportInvalid(f"entry {index}: not included in the signed checkpoint", index=index)

