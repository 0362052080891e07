"""The ledger proof of one stage check, for the inspector's verification record.

Owns: finding the ``verification.completed`` entry that recorded a check (by its cycle, then the verification id
inside the recorded event, the source of truth), and the RFC 9162 inclusion proof of that entry in the newest
signed checkpoint, checked here against the checkpoint's signed root so the answer says whether it holds. The
browser checks the same proof again itself. Must not touch: how the ledger stores or proves (``ledger.proofs``)
or how checks are written (``workflow``); ids and hashes only.

Three answers: ``included`` (the entry and its proof against a signed checkpoint), ``pending`` (recorded, but
appended after the newest checkpoint: the next one will cover it) and ``missing`` (no ledger entry records this
check — an audit finding in itself, shown as such, never as an error page).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from idverify.errors import NotFoundError
from idverify.ledger.entries import entry_event
from idverify.ledger.merkle import ProofError, verify_inclusion
from idverify.ledger.models import LedgerCheckpoint
from idverify.ledger.proofs import inclusion_proof, latest_checkpoint
from idverify.reports import repository


@dataclass(frozen=True)
class VerificationProof:
    verification_id: str
    status: Literal["included", "pending", "missing"]
    index: int | None = None
    recorded_at: datetime | None = None
    leaf_hash: str | None = None
    tree_size: int | None = None
    hashes: tuple[str, ...] = ()
    root_hash: str | None = None
    verified: bool | None = None  # the proof leads to the checkpoint's signed root (checked here)
    checkpoint: LedgerCheckpoint | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def verification_proof(db: Session, verification_id: str) -> VerificationProof:
    """The proof that stage check ``verification_id`` is in the signed ledger; ``not_found`` for no such check."""
    cycle_id = repository.verification_cycle(db, verification_id)
    if cycle_id is None:
        raise NotFoundError("no such verification")
    entry = next((e for e in repository.verification_entries(db, cycle_id)
                  if (entry_event(e).get("data") or {}).get("verification_id") == verification_id), None)
    if entry is None:
        return VerificationProof(verification_id, "missing")
    index = int(entry.index)
    leaf = _b64(bytes(entry.leaf_hash))
    checkpoint = latest_checkpoint(db)
    if checkpoint is None or index >= int(checkpoint.tree_size):
        return VerificationProof(verification_id, "pending", index=index, recorded_at=entry.recorded_at,
                                 leaf_hash=leaf, checkpoint=checkpoint)
    size = int(checkpoint.tree_size)
    proof = inclusion_proof(db, index, size)
    try:
        verify_inclusion(index, size, bytes(entry.leaf_hash), proof.hashes, bytes(checkpoint.root_hash))
        verified = True
    except ProofError:
        verified = False
    return VerificationProof(verification_id, "included", index=index, recorded_at=entry.recorded_at, leaf_hash=leaf,
                             tree_size=size, hashes=tuple(_b64(h) for h in proof.hashes),
                             root_hash=_b64(bytes(checkpoint.root_hash)), verified=verified, checkpoint=checkpoint)
