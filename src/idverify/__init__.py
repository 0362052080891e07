"""idverify: patient identity verification for assisted-reproduction clinics."""

__version__ = "0.1.0"
