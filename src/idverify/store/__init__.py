"""Persistence: engine and sessions, the declarative base, encryption at rest, and the core tables.

Domain packages (ledger, workflow …) declare their own tables on :class:`idverify.store.base.Base` and keep
their queries in their own ``repository.py`` (the workflow: ``repositories/``, one module per area); this package
knows nothing of their rules.
"""
