"""Face templates: what is stored for an enrolled person, and its byte form.

Owns: combining several captures into one template and (de)serialising it. Must not touch: storage, encryption
(the store encrypts these bytes), images.

A template is the re-normalised mean of the unit-length encodings of the enrolment captures (averaging several
captures cancels part of the pose/lighting noise of each). The byte form is versioned and self-describing, so a
template made by another algorithm version is refused instead of compared silently:

``b"IVFT" | u8 format | u16 len + algorithm version (utf-8) | u16 n_samples | u16 dim | dim × float32 (LE)``
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from idverify.errors import BiometricError, ErrorCode, ValidationFailed

MAGIC = b"IVFT"
FORMAT = 1
DIM = 128


def unit(vector: NDArray[np.floating]) -> NDArray[np.float32]:
    v = np.asarray(vector, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n == 0.0:
        raise BiometricError("empty face encoding", code=ErrorCode.BIOMETRIC_QUALITY)
    return (v / n).astype(np.float32)


@dataclass(frozen=True)
class FaceTemplate:
    """A unit-length 128-d vector plus how it was made."""

    vector: NDArray[np.float32]
    n_samples: int
    algorithm_version: str

    def to_bytes(self) -> bytes:
        version = self.algorithm_version.encode("utf-8")
        head = MAGIC + struct.pack("<BH", FORMAT, len(version)) + version
        return head + struct.pack("<HH", self.n_samples, self.vector.size) + self.vector.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_version: str | None = None) -> FaceTemplate:
        """Parse :meth:`to_bytes` output; refuse other formats, truncation and (optionally) other versions."""
        try:
            if data[:4] != MAGIC:
                raise ValueError("magic")
            fmt, vlen = struct.unpack_from("<BH", data, 4)
            if fmt != FORMAT:
                raise ValueError("format")
            version = data[7:7 + vlen].decode("utf-8")
            n_samples, dim = struct.unpack_from("<HH", data, 7 + vlen)
            start = 11 + vlen
            body = data[start:]
            if len(body) != 4 * dim:
                raise ValueError("length")
            vector = np.frombuffer(body, dtype="<f4").astype(np.float32)
        except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
            raise ValidationFailed("stored face template is not a valid idverify face template") from exc
        if not np.all(np.isfinite(vector)):
            raise ValidationFailed("stored face template contains invalid numbers")
        if expected_version is not None and version != expected_version:
            raise ValidationFailed(
                f"face template was made by algorithm {version!r}, this installation runs {expected_version!r}: "
                "re-enrol the face"
            )
        return cls(vector=vector, n_samples=int(n_samples), algorithm_version=version)


def combine(encodings: Sequence[NDArray[np.float32]], algorithm_version: str) -> FaceTemplate:
    """Mean of unit encodings, re-normalised. Needs at least one encoding."""
    if not encodings:
        raise BiometricError("no usable face capture to enrol; capture the face again",
                             code=ErrorCode.BIOMETRIC_QUALITY)
    stack = np.stack([unit(e) for e in encodings])
    return FaceTemplate(vector=unit(stack.mean(axis=0)), n_samples=len(encodings),
                        algorithm_version=algorithm_version)
