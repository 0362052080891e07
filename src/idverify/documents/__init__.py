"""Identity documents: what a document says (parsed fields, photo) and whether it checks out.

Parsing and validation only; the bytes come from ``idverify.devices`` and the patients live in the workflow.
"""
