"""Reading entries back: keyset-paged lists for the audit API and reports, and the event inside an entry.

Owns: :func:`list_entries` (newest first by default, paged on the index so pages stay stable while appends go on)
and :func:`entry_event` (the event as recorded, parsed from the canonical leaf — the source of truth, not the
indexed columns). Must not touch: appending, proofs or integrity; filters are the repository's
(:class:`~idverify.ledger.repository.EntryFilter`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from idverify.errors import ValidationFailed
from idverify.ledger import repository
from idverify.ledger.models import LedgerEntry
from idverify.ledger.repository import EntryFilter


@dataclass(frozen=True)
class EntryPage:
    items: list[LedgerEntry]
    next_after: int | None  # pass as ``after`` for the next page; None when this was the last page


def list_entries(
    session: Session,
    filters: EntryFilter | None = None,
    *,
    limit: int = 50,
    after: int | None = None,
    descending: bool = True,
) -> EntryPage:
    """A page of entries, newest first by default, keyset-paged on the index (stable while appends go on)."""
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000")
    rows = repository.list_entries(
        session, filters or EntryFilter(), limit=limit + 1, after=after, descending=descending
    )
    more = len(rows) > limit
    items = rows[:limit]
    return EntryPage(items, items[-1].index if more and items else None)


def entry_event(entry: LedgerEntry) -> dict[str, Any]:
    """The event as the workflow recorded it (parsed from the canonical leaf, the source of truth)."""
    event: dict[str, Any] = json.loads(entry.canonical)["event"]
    return event
