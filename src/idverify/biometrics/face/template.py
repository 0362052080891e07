"""Face templates: what is stored for an enrolled person, and its byte form.

Owns: combining several captures into one template and (de)serialising it. Must not touch: storage, encryption
(the store encrypts these bytes), images.

A template keeps the unit-length encoding of every enrolment capture; 1:1 comparison takes the best of them
(:func:`idverify.biometrics.face.engine.compare`). Why not their mean: the face thresholds are calibrated on pairs
of single images, and a mean encoding is pulled towards the average face — impostors too. Measured with
``python -m idverify.bench.face_templates`` (2026-12-04): on asian_dev a mean of three photos let 4.8 % of
impostor trials pass the FMR 0.1 % threshold (of two: 2.1 %), the best single encoding 0.0 % (672 and 1,008
trials), at the same EER (0.00 % with three images). Best-of-k only gives an impostor k single-pair chances, which
the calibration bounds (at most k × its FMR). The re-normalised mean is kept as well: the 1:N gallery
(:mod:`~idverify.biometrics.face.search`) holds one row per template and pre-screens with it. The byte form is
versioned and self-describing, so a template made by another algorithm version is refused instead of compared
silently:

``b"IVFT" | u8 format (2) | u16 len + algorithm version (utf-8) | u16 n_samples | u16 dim | dim × float32 (LE)
mean | u16 rows | rows × dim × float32 (LE) encodings``

Format 1 (before 2026-12-04) ends after the mean: such a template compares by its mean until the patient's face is
enrolled again.
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
    """The enrolment captures' unit-length 128-d encodings, their re-normalised mean, and how they were made."""

    vector: NDArray[np.float32]  # the mean (the 1:N gallery's row)
    n_samples: int
    algorithm_version: str
    #: (rows, dim) unit encodings, one per capture; None for a format-1 template, which kept only the mean
    encodings: NDArray[np.float32] | None = None

    @property
    def rows(self) -> NDArray[np.float32]:
        """What 1:1 comparison scores against: every capture's encoding (format 1: the mean)."""
        return self.vector[None, :] if self.encodings is None else self.encodings

    def to_bytes(self) -> bytes:
        version = self.algorithm_version.encode("utf-8")
        rows = self.rows
        return (MAGIC + struct.pack("<BH", FORMAT, len(version)) + version
                + struct.pack("<HH", self.n_samples, self.vector.size) + self.vector.astype("<f4").tobytes()
                + struct.pack("<H", rows.shape[0]) + rows.astype("<f4").tobytes())

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_version: str | None = None) -> FaceTemplate:
        """Parse :meth:`to_bytes` output (and format 1); refuse other formats, truncation and (optionally) other
        versions."""
        encodings: NDArray[np.float32] | None = None
        try:
            if data[:4] != MAGIC:
                raise ValueError("magic")
            fmt, vlen = struct.unpack_from("<BH", data, 4)
            if fmt not in READABLE_FORMATS:
                raise ValueError("format")
            version = data[7:7 + vlen].decode("utf-8")
            n_samples, dim = struct.unpack_from("<HH", data, 7 + vlen)
            start = 11 + vlen
            mean_end = start + 4 * dim
            vector = np.frombuffer(data[start:mean_end], dtype="<f4").astype(np.float32)
            if vector.size != dim:
                raise ValueError("length")
            if fmt == 1:
                if len(data) != mean_end:
                    raise ValueError("length")
            else:
                (n_rows,) = struct.unpack_from("<H", data, mean_end)
                body = data[mean_end + 2:]
                if n_rows < 1 or len(body) != 4 * dim * n_rows:
                    raise ValueError("length")
                encodings = np.frombuffer(body, dtype="<f4").astype(np.float32).reshape(n_rows, dim)
        except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
            raise ValidationFailed("stored face template is not a valid idverify face template") from exc
        if not np.all(np.isfinite(vector)) or (encodings is not None and not np.all(np.isfinite(encodings))):
            raise ValidationFailed("stored face template contains invalid numbers")
        if expected_version is not None and version != expected_version:
            raise ValidationFailed(
                f"face template was made by algorithm {version!r}, this installation runs {expected_version!r}: "
                "re-enrol the face"
            )
        return cls(vector=vector, n_samples=int(n_samples), algorithm_version=version, encodings=encodings)


def combine(encodings: Sequence[NDArray[np.float32]], algorithm_version: str) -> FaceTemplate:
    """A template of unit encodings (each kept) and their re-normalised mean. Needs at least one encoding."""
    if not encodings:
        raise BiometricError("no usable face capture to enrol; capture the face again",
                             code=ErrorCode.BIOMETRIC_QUALITY)
    stack = np.stack([unit(e) for e in encodings]).astype(np.float32)
    return FaceTemplate(vector=unit(stack.mean(axis=0)), n_samples=len(encodings),
                        algorithm_version=algorithm_version, encodings=stack)
