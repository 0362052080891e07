"""The tamper-evident audit ledger: Merkle tree, checkpoints, proofs, exports and the offline verifier."""
