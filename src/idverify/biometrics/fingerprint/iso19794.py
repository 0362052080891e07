"""ISO/IEC 19794-2:2005 finger minutiae record: import and export (one finger view, no extended data).

Owns only the byte layout. Layout (big-endian): "FMR\\0", " 20\\0", record length (4 bytes), capture equipment
(2), image width and height (2+2), x and y resolution in pixels per cm (2+2), number of finger views (1),
reserved (1); per view: finger position (1), view number/impression type (1), finger quality (1), minutia count
(1), then 6 bytes per minutia — type (2 bits) + x (14 bits), reserved (2 bits) + y (14 bits), angle in units of
360/256 degrees, quality — and an extended-data length (2). The shipped SecuGen templates in the sample data
follow exactly this layout. Coordinates are rescaled to the template's 500 dpi on import and written at 500 dpi
(197 px/cm) on export; the angle convention (counter-clockwise, y up) is the template's own.
"""

from __future__ import annotations

import struct

import numpy as np

from idverify.biometrics.fingerprint.template import TEMPLATE_DPI, FingerprintTemplate
from idverify.errors import ValidationFailed

_HEADER = struct.Struct(">4s4sIHHHHHBB")
_VIEW = struct.Struct(">BBBB")
_PX_PER_CM_500DPI = 197  # 500 / 2.54, as every 500 dpi ISO record writes it
_ANGLE_UNIT = 2.0 * np.pi / 256.0


def encode(template: FingerprintTemplate, *, finger_position: int = 0) -> bytes:
    n = min(len(template), 255)
    order = np.argsort(-template.minutia_quality.astype(np.int32), kind="stable")[:n]
    body = bytearray()
    for i in order:
        x = int(np.clip(round(float(template.xy[i, 0])), 0, 0x3FFF))
        y = int(np.clip(round(float(template.xy[i, 1])), 0, 0x3FFF))
        kind = int(template.kind[i]) & 0x3
        angle = round(float(template.angle[i]) / _ANGLE_UNIT) % 256
        body += struct.pack(">HHBB", (kind << 14) | x, y, angle, int(template.minutia_quality[i]))
    length = _HEADER.size + _VIEW.size + len(body) + 2
    head = _HEADER.pack(b"FMR\0", b" 20\0", length, 0, _u14(template.width), _u14(template.height),
                        _PX_PER_CM_500DPI, _PX_PER_CM_500DPI, 1, 0)
    view = _VIEW.pack(finger_position & 0xFF, 0, int(template.quality), n)
    return head + view + bytes(body) + b"\0\0"


def decode(data: bytes) -> FingerprintTemplate:
    """Parse the first finger view. Raises :class:`ValidationFailed` on anything that is not such a record."""
    if len(data) < _HEADER.size + _VIEW.size:
        raise ValidationFailed("ISO 19794-2 record is truncated")
    magic, version, length, _equip, width, height, xres, yres, views, _ = _HEADER.unpack_from(data)
    if magic != b"FMR\0" or version != b" 20\0":
        raise ValidationFailed("not an ISO/IEC 19794-2:2005 finger minutiae record")
    if length > len(data) or views < 1:
        raise ValidationFailed("ISO 19794-2 record length or view count is inconsistent")
    _pos, _view, quality, n = _VIEW.unpack_from(data, _HEADER.size)
    start = _HEADER.size + _VIEW.size
    if start + 6 * n > len(data):
        raise ValidationFailed("ISO 19794-2 record holds fewer minutiae than it declares")
    raw = np.frombuffer(data, dtype=">u2", count=3 * n, offset=start).reshape(n, 3) if n else np.zeros((0, 3), ">u2")
    tx = raw[:, 0].astype(np.int64)
    ty = raw[:, 1].astype(np.int64)
    aq = raw[:, 2].astype(np.int64)
    sx = TEMPLATE_DPI / (xres * 2.54) if xres else 1.0
    sy = TEMPLATE_DPI / (yres * 2.54) if yres else 1.0
    if abs(sx - 1.0) < 0.01:  # 197 px/cm is 500.38 dpi: treat as exactly 500
        sx = 1.0
    if abs(sy - 1.0) < 0.01:
        sy = 1.0
    xy = np.stack([(tx & 0x3FFF) * sx, (ty & 0x3FFF) * sy], axis=1).astype(np.float32)
    kind = (tx >> 14).astype(np.uint8)
    angle = (aq >> 8).astype(np.float64) * _ANGLE_UNIT
    mq = (aq & 0xFF).astype(np.uint8)
    return FingerprintTemplate(xy, angle, kind, mq, width=round(width * sx), height=round(height * sy),
                               quality=int(quality))


def _u14(value: int) -> int:
    return int(min(max(value, 0), 0xFFFF))
