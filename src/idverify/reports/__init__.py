"""Inspector reports: monthly statistics (JSON, CSV, PDF with charts), audit-event queries and REST exports.

Reads the core tables and the ledger; writes nothing but the export audit event the routes record. Ids and counts
only — never names, document numbers or biometric values.
"""
