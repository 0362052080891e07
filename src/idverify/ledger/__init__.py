"""Tamper-evident audit ledger: append-only events in an RFC 6962 Merkle tree with Ed25519-signed checkpoints.

Owns the ``ledger_*`` tables, proofs, exports (JSON Lines, CSV, FHIR AuditEvent in R5 or R4) and the offline verifier.
Knows nothing of biometrics or devices: an event is an opaque envelope of ids and free JSON
(:mod:`idverify.ledger.canonical`). Entry points for other code: :mod:`~idverify.ledger.append`,
:mod:`~idverify.ledger.proofs` (roots, checkpoints, proofs), :mod:`~idverify.ledger.entries` (listing) and
:mod:`~idverify.ledger.integrity` (re-verifying the stored tree);
the offline verifier (:mod:`idverify.ledger.verify`) deliberately imports no database code.
"""
