"""Face templates: what is stored for an enrolled person, and its byte form.

Owns: combining several captures into one template and (de)serialising it. Must not touch: storage, encryption
(the store encrypts these bytes), images.

A template keeps the unit-length encoding of every enrolment capture; 1:1 comparison takes the best of them
(:func:`idverify.biometrics.face.engine.compare`). Why not their mean: the face thresholds are calibrated on pairs
of single images, and a mean encoding is pulled towards the average face — impostors too. Measured with
``python -m idverify.bench.face_templates`` (2026-12-04): on asian_dev a mean of three photos let 4.8 % of
impostor trials pass the FMR 0.1 % threshold (of two: 2.1 %), the best single encoding 0.0 % (672 and 1,008
trials); the EER with three images is 0.00 % either way. Best-of-k only gives an impostor k single-pair chances,
which the calibration bounds (at most k × its FMR). The re-normalised mean is derived when needed: the 1:N gallery
(:mod:`~idverify.biometrics.face.search`) holds one row per template and pre-screens with it. The byte form is
versioned and self-describing, so a template made by another algorithm version is refused instead of compared
silently:

``b"IVFT" | u8 format (2) | u16 len + algorithm version (utf-8) | u16 n_samples | u16 dim | u16 rows |
rows × dim × float32 (LE)``

Format 1 (before 2026-12-04) has no ``rows`` field and one row, the mean of the captures: such a template compares
by that mean until the patient's face is enrolled again.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from idverify.errors import BiometricError, ErrorCode, ValidationFailed

MAGIC = b"IVFT"
FORMAT = 2
#: Formats :meth:`FaceTemplate.from_bytes` reads (1: the mean only).
READABLE_FORMATS = (1, 2)
DIM = 128


def unit(vector: NDArray[np.floating]) -> NDArray[np.float32]:
    v = np.asarray(vector, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n == 0.0:
        raise BiometricError("empty face encoding", code=ErrorCode.BIOMETRIC_QUALITY)
    return (v / n).astype(np.float32)


@dataclass(frozen=True)
class FaceTemplate:
    """The enrolment captures' unit-length 128-d encodings and how they were made."""

    #: (rows, dim) unit encodings, one per capture; a format-1 template has one row, the mean it kept
    encodings: NDArray[np.float32]
    n_samples: int
    algorithm_version: str

    @property
    def vector(self) -> NDArray[np.float32]:
        """The re-normalised mean of the encodings (the 1:N gallery's row)."""
        return self.encodings[0] if self.encodings.shape[0] == 1 else unit(self.encodings.mean(axis=0))

    def to_bytes(self) -> bytes:
        version = self.algorithm_version.encode("utf-8")
        rows, dim = self.encodings.shape
        return (MAGIC + struct.pack("<BH", FORMAT, len(version)) + version
                + struct.pack("<HHH", self.n_samples, dim, rows) + self.encodings.astype("<f4").tobytes())

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_version: str | None = None) -> FaceTemplate:
        """Parse :meth:`to_bytes` output (and format 1); refuse other formats, truncation and (optionally) other
        versions."""
        try:
            if data[:4] != MAGIC:
                raise ValueError("magic")
            fmt, vlen = struct.unpack_from("<BH", data, 4)
            if fmt not in READABLE_FORMATS:
                raise ValueError("format")
            version = data[7:7 + vlen].decode("utf-8")
            n_samples, dim = struct.unpack_from("<HH", data, 7 + vlen)
            start = 11 + vlen
            n_rows = 1
            if fmt == 2:
                (n_rows,) = struct.unpack_from("<H", data, start)
                start += 2
            body = data[start:]
            if n_rows < 1 or len(body) != 4 * dim * n_rows:
                raise ValueError("length")
            encodings = np.frombuffer(body, dtype="<f4").astype(np.float32).reshape(n_rows, dim)
        except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
            raise ValidationFailed("stored face template is not a valid idverify face template") from exc
        if not np.all(np.isfinite(encodings)):
            raise ValidationFailed("stored face template contains invalid numbers")
        if expected_version is not None and version != expected_version:
            raise ValidationFailed(
                f"face template was made by algorithm {version!r}, this installation runs {expected_version!r}: "
                "re-enrol the face"
            )
        return cls(encodings=encodings, n_samples=int(n_samples), algorithm_version=version)


def combine(encodings: Sequence[NDArray[np.float32]], algorithm_version: str) -> FaceTemplate:
    """A template of unit encodings, each kept. Needs at least one encoding."""
    if not encodings:
        raise BiometricError("no usable face capture to enrol; capture the face again",
                             code=ErrorCode.BIOMETRIC_QUALITY)
    return FaceTemplate(encodings=np.stack([unit(e) for e in encodings]).astype(np.float32),
                        n_samples=len(encodings), algorithm_version=algorithm_version)
