"""The test suite: one package per subject, mirroring ``src/idverify`` (run with ``--import-mode=importlib``)."""
