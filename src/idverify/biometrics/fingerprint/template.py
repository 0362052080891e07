"""The fingerprint template: minutiae plus an image quality score, and its compact binary form.

This module owns the in-memory template and the project's own versioned byte format (what gets encrypted and
stored). It does no image processing and no matching. Coordinates are always in pixels at 500 dpi (the extractor
and the ISO importer rescale), angles are radians in [0, 2π), measured counter-clockwise from the +x axis with
y pointing *up* (the ISO/IEC 19794-2 convention), even though pixel rows grow downwards.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.errors import ValidationFailed

#: Recorded with every decision: extractor and matcher behaviour, bump on any change that moves scores.
ALGORITHM_VERSION = ("idverify-fp/1.5 (local-period gabor-ridge extractor, 64 px period windows, convex-hull mask,"
                     " period-scaled pre-blur and adaptive orientation, mcc16b-lssr matcher)")

#: Resolution every template is expressed in.
TEMPLATE_DPI = 500

_MAGIC = b"IVFP"
_FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sBBHHBH")  # magic, format version, flags, width, height, quality, count
_MINUTIA = struct.Struct("<HHHBB")  # x*8, y*8, angle*65536/2π, kind, quality
_CRC = struct.Struct("<I")
_XY_SCALE = 8.0
_ANGLE_SCALE = 65536.0 / (2.0 * np.pi)


class MinutiaKind(IntEnum):
    """Minutia type, numbered as in ISO/IEC 19794-2 (00 other, 01 ridge ending, 10 bifurcation)."""

    OTHER = 0
    ENDING = 1
    BIFURCATION = 2


@dataclass(frozen=True)
class Minutia:
    """One minutia, for callers that want objects rather than the template's arrays."""

    x: float
    y: float
    angle: float
    kind: MinutiaKind
    quality: int


class FingerprintTemplate:
    """Minutiae (as parallel arrays, for the compiled matcher) and an image quality score 0..100.

    Templates are immutable in practice; the matcher caches derived descriptors on the instance
    (``_descriptor_cache``), so never mutate the arrays after construction.
    """

    __slots__ = ("_descriptor_cache", "_prefilter_cache", "angle", "height", "kind", "minutia_quality",
                 "quality", "width", "xy")

    def __init__(
        self,
        xy: NDArray[np.floating[Any]],
        angle: NDArray[np.floating[Any]],
        kind: NDArray[np.integer[Any]],
        minutia_quality: NDArray[np.integer[Any]],
        *,
        width: int,
        height: int,
        quality: int,
    ) -> None:
        n = len(angle)
        self.xy: NDArray[np.float32] = np.ascontiguousarray(np.asarray(xy, dtype=np.float32).reshape(n, 2))
        self.angle: NDArray[np.float32] = np.ascontiguousarray(
            np.mod(np.asarray(angle, dtype=np.float64), 2 * np.pi).astype(np.float32)
        )
        self.kind: NDArray[np.uint8] = np.ascontiguousarray(np.asarray(kind, dtype=np.uint8))
        self.minutia_quality: NDArray[np.uint8] = np.ascontiguousarray(
            np.clip(np.asarray(minutia_quality), 0, 100).astype(np.uint8)
        )
        if not (len(self.kind) == len(self.minutia_quality) == n):
            raise ValueError("minutia arrays differ in length")
        self.width = int(width)
        self.height = int(height)
        self.quality = int(np.clip(quality, 0, 100))
        self._descriptor_cache: Any = None
        self._prefilter_cache: Any = None

    def __len__(self) -> int:
        return len(self.angle)

    def __repr__(self) -> str:  # never the minutiae themselves: biometric data stays out of logs
        return f"FingerprintTemplate(minutiae={len(self)}, quality={self.quality}, size={self.width}x{self.height})"

    @property
    def minutiae(self) -> list[Minutia]:
        return [
            Minutia(float(x), float(y), float(a), MinutiaKind(int(k)), int(q))
            for (x, y), a, k, q in zip(self.xy, self.angle, self.kind, self.minutia_quality, strict=True)
        ]

    # -- own binary format -------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Compact versioned bytes: 13-byte header, 8 bytes per minutia, CRC32 trailer (about 0.4 KB)."""
        n = len(self)
        if n > 0xFFFF:
            raise ValueError("too many minutiae")
        head = _HEADER.pack(_MAGIC, _FORMAT_VERSION, 0, _u16(self.width), _u16(self.height), self.quality, n)
        xs = np.clip(np.rint(self.xy * _XY_SCALE), 0, 0xFFFF).astype("<u2")
        ang = (np.rint(self.angle.astype(np.float64) * _ANGLE_SCALE).astype(np.int64) % 65536).astype("<u2")
        rec = np.zeros(n, dtype=[("x", "<u2"), ("y", "<u2"), ("a", "<u2"), ("k", "u1"), ("q", "u1")])
        rec["x"], rec["y"], rec["a"] = xs[:, 0], xs[:, 1], ang
        rec["k"], rec["q"] = self.kind, self.minutia_quality
        body = head + rec.tobytes()
        return body + _CRC.pack(zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerprintTemplate:
        """Inverse of :meth:`to_bytes`; raises :class:`ValidationFailed` on damaged or foreign data."""
        if len(data) < _HEADER.size + _CRC.size:
            raise ValidationFailed("fingerprint template is truncated")
        body, (crc,) = data[: -_CRC.size], _CRC.unpack(data[-_CRC.size :])
        if zlib.crc32(body) != crc:
            raise ValidationFailed("fingerprint template is damaged (checksum mismatch)")
        magic, version, _flags, width, height, quality, n = _HEADER.unpack_from(body)
        if magic != _MAGIC or version != _FORMAT_VERSION:
            raise ValidationFailed("not an idverify fingerprint template of a known version")
        if len(body) != _HEADER.size + n * _MINUTIA.size:
            raise ValidationFailed("fingerprint template length does not match its header")
        rec = np.frombuffer(body, dtype=[("x", "<u2"), ("y", "<u2"), ("a", "<u2"), ("k", "u1"), ("q", "u1")],
                            count=n, offset=_HEADER.size)
        xy = np.stack([rec["x"], rec["y"]], axis=1).astype(np.float32) / _XY_SCALE
        return cls(xy, rec["a"].astype(np.float64) / _ANGLE_SCALE, rec["k"], rec["q"],
                   width=width, height=height, quality=quality)



def _u16(value: int) -> int:
    return int(min(max(value, 0), 0xFFFF))
