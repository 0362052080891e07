"""Reading the tree: roots, signed checkpoints (tree heads) and the RFC 9162 proofs against them.

Owns: :func:`root_at` and :func:`tree_size`, :func:`create_checkpoint` (sign size, root and time with the clinic's
key, never earlier than the newest entry) and :func:`latest_checkpoint`, and the inclusion and consistency proofs an
inspector or the export checks — all computed from stored complete nodes, O(log n) reads each. Like appends,
nothing here commits: a checkpoint is stored in the caller's transaction.
Must not touch: appending (:mod:`.append`), the signed-note format (:mod:`.checkpoint`), or re-verifying what is
stored (:mod:`.integrity`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from idverify.errors import NotFoundError, ValidationFailed
from idverify.ledger import repository
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.merkle import consistency_ranges, fold, inclusion_ranges, range_nodes
from idverify.ledger.models import LedgerCheckpoint, LedgerDamaged
from idverify.store.base import utcnow

log = structlog.get_logger(__name__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def tree_size(session: Session) -> int:
    return repository.tree_size(session)


def _range_hashes(session: Session, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    per_range = [range_nodes(s, e) for s, e in ranges]
    wanted = [n for nodes in per_range for n in nodes]
    found = repository.node_hashes(session, wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise LedgerDamaged(f"the audit ledger is missing {len(missing)} tree node(s); run `idverify audit check`")
    return [fold([found[n] for n in nodes]) for nodes in per_range]


def root_at(session: Session, size: int) -> bytes:
    """Root hash of the first ``size`` entries, from stored complete nodes (O(log n) reads)."""
    current = repository.tree_size(session)
    if not 0 <= size <= current:
        raise NotFoundError(f"the ledger has {current} entries; no tree of size {size}")
    return _range_hashes(session, [(0, size)])[0] if size else fold([])


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]
    root_hash: bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": _b64(self.leaf_hash),
            "hashes": [_b64(h) for h in self.hashes],
            "root_hash": _b64(self.root_hash),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: list[bytes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": _b64(self.old_root),
            "new_root": _b64(self.new_root),
            "hashes": [_b64(h) for h in self.hashes],
        }


def _size_or_current(session: Session, size: int | None) -> int:
    current = repository.tree_size(session)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise NotFoundError(f"the ledger has {current} entries; no tree of size {size}")
    return size


def inclusion_proof(session: Session, index: int, tree_size: int | None = None) -> InclusionProof:
    """Audit path of entry ``index`` in the tree of ``tree_size`` entries (default: the whole ledger)."""
    size = _size_or_current(session, tree_size)
    if not 0 <= index < size:
        raise NotFoundError(f"no entry {index} in a tree of {size} entries")
    ranges = inclusion_ranges(index, size)
    hashes = _range_hashes(session, [*ranges, (index, index + 1), (0, size)])
    return InclusionProof(index, size, hashes[-2], hashes[:-2], hashes[-1])


def consistency_proof(session: Session, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """Proof that the tree of ``old_size`` entries is a prefix of the tree of ``new_size`` entries."""
    size = _size_or_current(session, new_size)
    if not 0 <= old_size <= size:
        raise ValidationFailed(f"old size {old_size} must be between 0 and {size}")
    ranges = consistency_ranges(old_size, size)
    extra = [(0, old_size)] if old_size else []
    hashes = _range_hashes(session, [*ranges, *extra, (0, size)] if size else [*ranges, *extra])
    old_root = (hashes[len(ranges)] if old_size else fold([]))
    new_root = hashes[-1] if size else fold([])
    return ConsistencyProof(old_size, size, old_root, new_root, hashes[: len(ranges)])


# --- checkpoints ----------------------------------------------------------------------------------------------------
def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return repository.latest_checkpoint(session)


def missing_tail(size: int, checkpoint: LedgerCheckpoint) -> LedgerDamaged:
    """The ledger is shorter than a checkpoint already signed: its tail was cut off. Signing the shorter tree would
    hide that, so nothing is signed or exported until the rows are restored."""
    return LedgerDamaged(f"the audit ledger has {size} entries but checkpoint {checkpoint.id} signed "
                         f"{checkpoint.tree_size}: entries {size}..{int(checkpoint.tree_size) - 1} are missing; "
                         "restore them from a backup")


def create_checkpoint(
    session: Session, signer: CheckpointSigner, *, now: datetime | None = None, force: bool = False
) -> LedgerCheckpoint:
    """Sign (size, root, time) of the current tree and store it in the caller's transaction.

    Without ``force`` an unchanged tree keeps its latest checkpoint (the periodic job then writes nothing).
    The checkpoint time is never earlier than the newest entry, so every entry is within its checkpoint's time.
    """
    repository.lock(session)
    size = repository.tree_size(session)
    latest = repository.latest_checkpoint(session)
    if latest is not None and latest.tree_size > size:
        raise missing_tail(size, latest)
    if latest is not None and latest.tree_size == size and not force:
        return latest
    signed_at = now or utcnow()
    last = repository.last_recorded_at(session) if size else None
    if last is not None and last > signed_at:
        signed_at = last
    root = root_at(session, size)
    signed = signer.sign(size, root, signed_at)
    row = LedgerCheckpoint(
        tree_size=size,
        root_hash=root,
        signed_at=signed.time,
        origin=signed.origin,
        key_id=signer.key_id.hex(),
        public_key=signer.public_key,
        note=signed.note,
    )
    repository.add_checkpoint(session, row)
    session.flush()
    log.info("ledger.checkpoint", tree_size=size, key_id=row.key_id)
    return row
