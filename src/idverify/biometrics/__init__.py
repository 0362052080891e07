"""Biometric core: face, fingerprint, liveness, fusion and the error-rate maths.

Pure computation on images and templates. It knows nothing of patients, devices, HTTP or the database:
callers hand it pixels or templates and get samples, scores and decisions back.
"""
