"""Finding audit events for inspectors: filters the ledger's index columns cannot answer alone.

The ledger indexes type, staff, patient and time (:class:`~idverify.ledger.repository.EntryFilter`); the stage
and the decision live inside the event data. This module pages through the ledger with the indexed filters and
applies the rest to each event, with a bound on how far one request scans (the next-page cursor then resumes
where the scan stopped, so paging stays exact). It reads the ledger through ``ledger.entries`` and
``ledger.repository`` only and returns events as recorded — ids, decisions and scores, never names or biometric
data (the workflow never records them).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from idverify.errors import ErrorCode, ValidationFailed
from idverify.ledger import repository as ledger_repo
from idverify.ledger.entries import entry_event, list_entries
from idverify.ledger.models import LedgerEntry

SCAN_BATCH = 500
MAX_SCAN = 20_000


def parse_when(value: str | None, *, end: bool, name: str) -> datetime | None:
    """``YYYY-MM-DD`` (a whole UTC day; as an end, that day is included) or an RFC 3339 timestamp."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            start = datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"'{name}': use YYYY-MM-DD or an RFC 3339 timestamp", code=ErrorCode.BAD_DATE) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class EventQuery:
    """Inspector filters. ``event_type`` is exact, or a prefix when it ends in ``.*`` (``enrollment.*``)."""

    since: datetime | None = None
    until: datetime | None = None
    event_type: str | None = None
    stage: str | None = None
    decision: str | None = None
    staff_id: str | None = None
    patient_id: str | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValidationFailed("'to' is before 'from'", code=ErrorCode.BAD_DATE_RANGE)

    @property
    def type_prefix(self) -> str | None:
        t = self.event_type
        return t[:-1] if t is not None and t.endswith(".*") else None

    @property
    def ledger_filter(self) -> ledger_repo.EntryFilter:
        exact = None if self.type_prefix is not None else self.event_type
        return ledger_repo.EntryFilter(event_type=exact, patient_id=self.patient_id, staff_id=self.staff_id,
                                       since=self.since, until=self.until)

    @property
    def has_content_filters(self) -> bool:
        """True when the query selects events by more than time (a verifiable export cannot have gaps)."""
        return any(v is not None for v in (self.event_type, self.stage, self.decision, self.staff_id,
                                           self.patient_id))

    def matches(self, event: dict[str, Any]) -> bool:
        """Whether the recorded event (the leaf content, the source of truth) passes every filter."""
        etype = str(event.get("type", ""))
        prefix = self.type_prefix
        if prefix is not None and not etype.startswith(prefix):
            return False
        if self.event_type is not None and prefix is None and etype != self.event_type:
            return False
        actor = event.get("actor") or {}
        subject = event.get("subject") or {}
        if self.staff_id is not None and actor.get("staff_id") != self.staff_id:
            return False
        if self.patient_id is not None and subject.get("patient_id") != self.patient_id:
            return False
        data = event.get("data") or {}
        if self.stage is not None and data.get("stage") != self.stage:
            return False
        return self.decision is None or data.get("decision") == self.decision


def event_view(entry: LedgerEntry) -> dict[str, Any]:
    """One entry as the API shows it: the recorded event plus its place in the tree."""
    event = entry_event(entry)
    return {
        "index": int(entry.index),
        "recorded_at": entry.recorded_at,
        "occurred_at": event.get("occurred_at"),
        "type": entry.event_type,
        "actor": event.get("actor") or {},
        "subject": event.get("subject") or {},
        "data": event.get("data") or {},
        "leaf_hash": base64.b64encode(bytes(entry.leaf_hash)).decode(),
    }


@dataclass(frozen=True)
class EventPage:
    items: list[dict[str, Any]]
    next_after: int | None  # cursor for the next (older) page; None when the ledger has no more to scan


def list_events(db: Session, query: EventQuery, *, limit: int = 50, after: int | None = None) -> EventPage:
    """Newest first, keyset-paged on the ledger index; at most ``MAX_SCAN`` entries are read per call."""
    if not 1 <= limit <= 500:
        raise ValidationFailed("limit must be between 1 and 500")
    items: list[dict[str, Any]] = []
    cursor = after
    scanned = 0
    # Only stage, decision and type prefixes are judged here; without them the database filters everything.
    batch = SCAN_BATCH if (query.stage or query.decision or query.type_prefix) else limit
    while True:
        page = list_entries(db, query.ledger_filter, limit=batch, after=cursor, descending=True)
        for entry in page.items:
            scanned += 1
            cursor = int(entry.index)
            if query.matches(entry_event(entry)):
                items.append(event_view(entry))
                if len(items) == limit:
                    more = entry is not page.items[-1] or page.next_after is not None
                    return EventPage(items, cursor if more else None)
        if page.next_after is None:
            return EventPage(items, None)
        if scanned >= MAX_SCAN:
            return EventPage(items, cursor)


def iter_matching(db: Session, query: EventQuery, first: int, last: int) -> Iterator[LedgerEntry]:
    """Entries ``first <= index < last`` that match the content filters (time is already in the range).

    Reads in batches and ends the read transaction between them (on SQLite a transaction holds the write lock,
    so a long export must not stop appends). The entries yielded are detached copies carrying the leaf content.
    """
    between = partial(ledger_repo.end_read_transaction, db)
    for index, recorded_at, canonical, leaf in ledger_repo.iter_entry_rows(db, first, last, batch=2000,
                                                                         between_batches=between):
        doc = json.loads(canonical)
        if query.matches(doc["event"]):
            yield LedgerEntry(index=index, recorded_at=recorded_at, event_type=doc["event"]["type"],
                              canonical=canonical, leaf_hash=leaf)
