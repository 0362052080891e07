"""Clinical workflow: couples, cycles, consent, enrolment, stage checks, overrides.

Uses devices and biometrics through their interfaces and records every decision in the ledger; it owns the
rules of who is verified when, and nothing about how a face or a finger is matched. Services hold the rules
(the check's document and challenge rules in :mod:`~idverify.workflow.rules`); every query is in
:mod:`~idverify.workflow.repositories`.
"""
