"""An in-memory clinic log for hub tests: leaves, a signing key, signed checkpoints and RFC 6962 proofs.

Imported by the hub fixtures and, as a plain module, by the worker processes of the witness race test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idverify.ledger.canonical import canonical_bytes, leaf_bytes, normalise_event
from idverify.ledger.checkpoint import CheckpointSigner, verifier_key
from idverify.ledger.merkle import consistency_ranges, inclusion_ranges, leaf_hash, tree_root


@dataclass
class MemoryLog:
    """A clinic log held in memory: leaves, a signing key, checkpoints and proofs at any size."""

    signer: CheckpointSigner = field(default_factory=lambda: CheckpointSigner(Ed25519PrivateKey.generate()))
    leaves: list[bytes] = field(default_factory=list)
    notes: dict[tuple[int, bytes], str] = field(default_factory=dict)  # one signed note per (size, root)
    texts: list[str] = field(default_factory=list)  # leaf documents, when the log holds real ledger entries

    @property
    def origin(self) -> str:
        return self.signer.origin

    @property
    def vkey(self) -> str:
        return verifier_key(self.signer.origin, self.signer.public_key)

    def add_events(self, events: list[dict[str, Any]], recorded_at: str = "2026-12-01T08:00:00.000000Z") -> None:
        """Append real ledger leaves (RFC 8785 leaf documents) for these events."""
        assert len(self.texts) == len(self.leaves), "a log of real entries cannot mix in synthetic leaves"
        for event in events:
            text = leaf_bytes(len(self.leaves), recorded_at, canonical_bytes(normalise_event(event)))
            self.texts.append(text.decode())
            self.leaves.append(leaf_hash(text))

    def grow(self, n: int, tag: str = "") -> None:
        start = len(self.leaves)
        self.leaves.extend(hashlib.sha256(f"{tag}leaf{start + i}".encode()).digest() for i in range(n))

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.leaves[: len(self.leaves) if size is None else size])

    def note(self, size: int | None = None) -> str:
        from datetime import UTC, datetime

        size = len(self.leaves) if size is None else size
        root = self.root(size)
        if (size, root) not in self.notes:
            self.notes[(size, root)] = self.signer.sign(size, root, datetime.now(UTC)).note
        return self.notes[(size, root)]

    def consistency(self, old: int, new: int) -> list[bytes]:
        return [tree_root(self.leaves[s:e]) for s, e in consistency_ranges(old, new)]

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return [tree_root(self.leaves[s:e]) for s, e in inclusion_ranges(index, size)]

    def body(self, old: int, size: int | None = None, *, proof: list[bytes] | None = None) -> bytes:
        from idverify.ledger.witness_protocol import add_checkpoint_body

        size = len(self.leaves) if size is None else size
        return add_checkpoint_body(old, self.consistency(old, size) if proof is None else proof, self.note(size))
