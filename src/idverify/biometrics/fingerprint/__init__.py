"""Fingerprint matching core (see idverify.biometrics.fingerprint.api)."""
