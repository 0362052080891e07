"""Fingerprint matching core: image → template, 1:1 comparison, 1:N search, template formats.

Public interface (stable; record ``ALGORITHM_VERSION`` with every decision):

- ``extract(image, dpi=500) -> FingerprintTemplate`` — raises ``idverify.errors.BiometricError`` with an
  actionable message when the capture is unusable;
- ``image_quality(image, dpi=500) -> int`` — 0..100 without minutiae extraction (capture loops);
- ``FingerprintTemplate`` — ``.quality`` (0..100), ``.minutiae`` (list of ``Minutia``), ``to_bytes()`` /
  ``from_bytes()`` (own compact versioned format, for encrypted storage);
- ``iso19794.encode(template)`` / ``iso19794.decode(data)`` — ISO/IEC 19794-2:2005 minutiae records;
- ``match(a, b) -> float`` — similarity in [0, 1], higher = same finger; thresholds in
  ``models/thresholds_fingerprint.json`` (read by :mod:`idverify.biometrics.operating_points`);
- ``FingerprintGallery`` — ``add(key, template)``, ``remove(key)``, ``search(probe, top_k) -> [(key, score)]``.

Pure computation: no devices, patients, storage or logging of biometric values.
"""

from idverify.biometrics.fingerprint.extract import MIN_MINUTIAE, MIN_QUALITY, extract, image_quality
from idverify.biometrics.fingerprint.match import match
from idverify.biometrics.fingerprint.search import FingerprintGallery
from idverify.biometrics.fingerprint.template import (
    ALGORITHM_VERSION,
    FingerprintTemplate,
    Minutia,
    MinutiaKind,
)

__all__ = [
    "ALGORITHM_VERSION",
    "MIN_MINUTIAE",
    "MIN_QUALITY",
    "FingerprintGallery",
    "FingerprintTemplate",
    "Minutia",
    "MinutiaKind",
    "extract",
    "image_quality",
    "match",
]
