"""The feed: a clinic's ledger entries, accepted only when they verify against the tree its witness cosigned.

A batch is ``{"start", "checkpoint_size", "entries": [leaf text, …], "proof": [base64, …]}``: the entries at
indexes ``[start, end)`` exactly as the clinic's leaves hold them (RFC 8785 bytes, already free of names, ID
numbers and images), and an RFC 6962 consistency proof from ``end`` to ``checkpoint_size``, a size the hub's
witness cosigned. The hub keeps, per clinic, the compact range (left frontier) of the entries it already holds —
``[0, start)`` — so appending the batch's leaf hashes gives the root of ``[0, end)``, and the consistency proof
ties that root to the cosigned root. That is an inclusion proof for every entry of the batch at once (the batch's
first and last entry, and everything between, are in the witnessed tree), at the cost of one proof per batch
instead of one per entry; so a clinic cannot show the hub one history and the witness another.

Batches are resumable by index and idempotent: a batch that starts before the hub's feed size is checked against
what the hub holds (a differing entry is refused) and only the new tail is added; a batch that starts after it is
refused with ``feed_gap`` and the size to resume from; a repeated batch changes nothing. The feed state moves by
compare-and-swap, so two hub processes receiving the same batch cannot both apply it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from idverify.errors import ConflictError, ErrorCode, IdverifyError, ValidationFailed
from idverify.hub import audit, bulk
from idverify.hub import repository as repo
from idverify.hub.models import HubClinic, HubEntry
from idverify.ledger.canonical import parse_time
from idverify.ledger.merkle import CompactRange, ProofError, leaf_hash, verify_consistency
from idverify.store.base import utcnow

MAX_ENTRY_BYTES = 256 * 1024
ENTRY_COLUMNS = (("clinic_id", "text"), ("idx", "bigint"), ("leaf_hash", "bytea"), ("recorded_at", "timestamptz"),
                 ("event_type", "text"), ("canonical", "text"))
_ADVANCE = text("UPDATE hub_clinics SET feed_size = :size, feed_frontier = :frontier, feed_at = :at "
                "WHERE id = :clinic_id AND feed_size = :held")
MAX_PROOF = 63


@dataclass(frozen=True)
class FeedBatch:
    start: int
    checkpoint_size: int
    entries: list[str]
    proof: list[bytes]

    @property
    def end(self) -> int:
        return self.start + len(self.entries)


@dataclass(frozen=True)
class FeedItem:
    """An accepted entry, parsed for the projections (alerts, statistics)."""

    index: int
    recorded_at: datetime
    event: dict[str, Any]


@dataclass(frozen=True)
class FeedResult:
    accepted: int
    feed_size: int

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "feed_size": self.feed_size}


ProjectFn = Callable[[Session, HubClinic, Sequence[FeedItem]], None]


def parse_batch(body: bytes, *, max_batch: int) -> FeedBatch:
    """Validate the request body (422 on anything malformed; nothing is read from the database yet)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise IdverifyError("the feed batch is not JSON", code=ErrorCode.MALFORMED_JSON, status_code=400) from None
    if not isinstance(payload, dict):
        raise ValidationFailed("the feed batch must be a JSON object")
    start, size, entries, proof = (payload.get(k) for k in ("start", "checkpoint_size", "entries", "proof"))
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise ValidationFailed("start must be a non-negative integer")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValidationFailed("checkpoint_size must be a positive integer")
    if not isinstance(entries, list) or not entries or len(entries) > max_batch:
        raise ValidationFailed(f"entries must be a list of 1 to {max_batch} ledger leaves")
    if not all(isinstance(e, str) and 0 < len(e) <= MAX_ENTRY_BYTES for e in entries):
        raise ValidationFailed("every entry must be the leaf's canonical JSON text")
    if not isinstance(proof, list) or len(proof) > MAX_PROOF:
        raise ValidationFailed(f"proof must be a list of at most {MAX_PROOF} base64 hashes")
    hashes: list[bytes] = []
    for item in proof:
        try:
            digest = base64.b64decode(item, validate=True) if isinstance(item, str) else b""
        except (ValueError, binascii.Error):
            digest = b""
        if len(digest) != 32:
            raise ValidationFailed("every proof hash must be 32 bytes in base64")
        hashes.append(digest)
    batch = FeedBatch(start, size, entries, hashes)
    if batch.end > size:
        raise ValidationFailed(f"entries {start}..{batch.end - 1} reach beyond the checkpoint of {size} entries")
    return batch


def _frontier(clinic: HubClinic) -> CompactRange:
    raw = bytes(clinic.feed_frontier)
    return CompactRange(int(clinic.feed_size), [raw[i:i + 32] for i in range(0, len(raw), 32)])


_DECODE = json.JSONDecoder().raw_decode  # json.loads without its wrapper's two whitespace scans (leaves are RFC 8785)


def _parse_leaf(text: str, index: int) -> FeedItem:
    try:
        doc, end = _DECODE(text)
        if end != len(text) or doc["index"] != index or doc["v"] != 1:
            raise ValueError
        event = doc["event"]
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError
        return FeedItem(index, parse_time(doc["recorded_at"]), event)
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed(f"entry {index} is not a ledger leaf for index {index}",
                               code=ErrorCode.BAD_ENTRY) from None


def ingest(session: Session, clinic: HubClinic, batch: FeedBatch, *, project: ProjectFn | None = None
           ) -> FeedResult:
    """Verify and store one batch (commits). Raises ValidationFailed (422) / ConflictError (409)."""
    root = repo.cosigned_root(session, clinic.id, batch.checkpoint_size)
    if root is None:
        raise ValidationFailed(f"the hub's witness never cosigned a checkpoint of {batch.checkpoint_size} entries "
                               "for this clinic; ask for a cosignature first", code=ErrorCode.NOT_COSIGNED)
    held = int(clinic.feed_size)
    if batch.start > held:
        raise ConflictError(f"the hub holds entries up to {held}; resume from there", code=ErrorCode.FEED_GAP,
                            details={"feed_size": held})
    overlap = min(batch.end, held) - batch.start
    if overlap > 0:
        stored: dict[int, bytes] = dict(session.execute(
            select(HubEntry.index, HubEntry.leaf_hash)
            .where(HubEntry.clinic_id == clinic.id, HubEntry.index >= batch.start,
                   HubEntry.index < batch.start + overlap)
        ).all())
        for offset in range(overlap):
            index = batch.start + offset
            if bytes(stored.get(index, b"")) != leaf_hash(batch.entries[offset].encode()):
                raise ConflictError(f"entry {index} differs from the one the hub accepted before",
                                    code=ErrorCode.FEED_CONFLICT, details={"index": index})
    if batch.end <= held:
        session.commit()  # a repeated batch: nothing to add (only its nonce is remembered)
        return FeedResult(0, held)
    new = batch.entries[max(overlap, 0):]
    frontier = _frontier(clinic)
    items = [_parse_leaf(leaf_text, held + offset) for offset, leaf_text in enumerate(new)]
    hashes = [leaf_hash(leaf_text.encode()) for leaf_text in new]
    frontier.extend(hashes)
    rows = [(clinic.id, item.index, lh, item.recorded_at, item.event["type"][:64], leaf_text)
            for item, lh, leaf_text in zip(items, hashes, new, strict=True)]
    try:
        verify_consistency(batch.end, batch.checkpoint_size, frontier.root(), root, batch.proof)
    except ProofError as exc:
        raise ValidationFailed(f"entries {held}..{batch.end - 1} do not verify against the cosigned checkpoint of "
                               f"{batch.checkpoint_size} entries: {exc}", code=ErrorCode.PROOF_FAILED) from None
    moved = session.execute(_ADVANCE, {"size": batch.end, "frontier": b"".join(frontier.hashes), "at": utcnow(),
                                       "clinic_id": clinic.id, "held": held})
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        raise ConflictError("another request advanced this clinic's feed first; resume from its size",
                            code=ErrorCode.FEED_GAP, details={"feed_size": _current_size(session, clinic.id)})
    # The compare-and-swap above holds the clinic row until COMMIT: no other request can store these indexes.
    bulk.copy_rows(session, "hub_entries", ENTRY_COLUMNS, rows)
    if project is not None:
        project(session, clinic, items)
    audit.record(session, "feed.accepted", {"clinic_id": clinic.id, "start": held, "end": batch.end,
                                            "checkpoint_size": batch.checkpoint_size})
    session.commit()
    return FeedResult(batch.end - held, batch.end)


def _current_size(session: Session, clinic_id: str) -> int:
    return int(session.scalar(select(HubClinic.feed_size).where(HubClinic.id == clinic_id)) or 0)
