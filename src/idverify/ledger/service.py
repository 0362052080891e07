"""Transitional: the entry points moved to append, proofs, entries and integrity (deleted once callers follow)."""

from idverify.ledger.append import append, append_many
from idverify.ledger.entries import EntryPage, entry_event, list_entries
from idverify.ledger.integrity import IntegrityReport, verify_stored_tree
from idverify.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    consistency_proof,
    create_checkpoint,
    inclusion_proof,
    latest_checkpoint,
    root_at,
    tree_size,
)
from idverify.ledger.repository import EntryFilter, end_read_transaction

__all__ = ["ConsistencyProof", "EntryFilter", "EntryPage", "InclusionProof", "IntegrityReport", "append",
           "append_many", "consistency_proof", "create_checkpoint", "end_read_transaction", "entry_event",
           "inclusion_proof", "latest_checkpoint", "list_entries", "root_at", "tree_size", "verify_stored_tree"]
