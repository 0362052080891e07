"""Response models of the audit API (inspector). Ids, hashes and counts only; hashes are base64."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from idverify.api.schemas import ResponseModel
from idverify.ledger.models import LedgerCheckpoint


class AuditEventOut(ResponseModel):
    index: int
    recorded_at: datetime
    occurred_at: str | None
    type: str
    actor: dict[str, Any]
    subject: dict[str, Any]
    data: dict[str, Any]
    leaf_hash: str


class AuditEventPage(ResponseModel):
    items: list[AuditEventOut]
    next_after: int | None  # pass as ``after`` for the next (older) page; null when there is none
    limit: int


class CheckpointOut(ResponseModel):
    id: int
    tree_size: int
    root_hash: str
    signed_at: datetime
    origin: str
    key_id: str
    note: str  # the C2SP signed note, verifiable offline with the clinic's public key

    @classmethod
    def of(cls, cp: LedgerCheckpoint) -> CheckpointOut:
        return cls(id=int(cp.id), tree_size=int(cp.tree_size), root_hash=base64.b64encode(bytes(cp.root_hash)).decode(),
                   signed_at=cp.signed_at, origin=cp.origin, key_id=cp.key_id, note=cp.note)


class CheckpointPage(ResponseModel):
    items: list[CheckpointOut]
    total: int
    offset: int
    limit: int


class InclusionProofOut(ResponseModel):
    index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
    root_hash: str
    checkpoint: CheckpointOut | None  # a signed checkpoint of exactly this tree size, when one exists


class EventTypesOut(ResponseModel):
    """The event types an inspector can filter by: every type the daemon records and any other the ledger holds,
    and their families (``verification`` filters as ``verification.*``)."""

    types: list[str]
    groups: list[str]


class VerificationProofOut(ResponseModel):
    """Where a stage check is in the ledger and, once a signed checkpoint covers it, its RFC 9162 inclusion proof
    (base64 hashes; ``verified``: the daemon checked the proof leads to the checkpoint's signed root).
    ``status``: ``included``, ``pending`` (after the newest checkpoint) or ``missing`` (no entry records it)."""

    verification_id: str
    status: Literal["included", "pending", "missing"]
    index: int | None
    recorded_at: datetime | None
    leaf_hash: str | None
    tree_size: int | None
    hashes: list[str]
    root_hash: str | None
    verified: bool | None
    checkpoint: CheckpointOut | None


class ConsistencyProofOut(ResponseModel):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    hashes: list[str]
    old_checkpoint: CheckpointOut | None
    new_checkpoint: CheckpointOut | None


class IntegrityOut(ResponseModel):
    ok: bool
    tree_size: int
    checkpoints_checked: int
    nodes_checked: int
    problems: list[str]
    first_bad_index: int | None
    checked_at: datetime
    duration_s: float
