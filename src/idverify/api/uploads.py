"""Uploads inside JSON bodies: base64 fields decoded at the HTTP edge, so the workflow gets bytes and images only.

Owns: turning a base64 request field into bytes, or into an image array (JPEG/PNG/BMP/TIFF; EXIF orientation
applied to colour images) no larger than :data:`MAX_IMAGE_PIXELS`. Must not touch: what the images are used for.

A field that does not decode is a 422 ``validation_error`` naming the field, in the message
(``fingerprints[1].image_base64: not valid base64``) and in ``details`` with the shape schema errors have
(``[{"loc": ["body", "fingerprints", "1", "image_base64"], "msg", "type"}]``), so a client sending ten images
learns which one was bad. The value itself is never echoed: error bodies end up in client logs.
"""

from __future__ import annotations

import base64
import binascii

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.errors import ValidationFailed

MAX_IMAGE_PIXELS = 4096 * 4096
Loc = tuple[str | int, ...]


def field_name(loc: Loc) -> str:
    """``("fingerprints", 1, "image_base64")`` → ``fingerprints[1].image_base64``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def field_error(loc: Loc, msg: str, kind: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name(loc)}: {msg}",
                            details=[{"loc": ["body", *(str(p) for p in loc)], "msg": msg, "type": kind}])


def decode_base64(value: str, loc: Loc) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise field_error(loc, "not valid base64", "base64_invalid") from None


def decode_image(value: str, loc: Loc, *, grey: bool = False) -> NDArray[np.uint8]:
    """The image in a base64 field: RGB, or 8-bit grey with ``grey`` (fingerprints)."""
    raw = decode_base64(value, loc)
    if grey:
        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise field_error(loc, "not a decodable image", "image_invalid")
        out: NDArray[np.uint8] = np.asarray(img, dtype=np.uint8)
    else:
        from idverify.biometrics.face import load_image

        try:
            out = load_image(raw)
        except Exception:
            raise field_error(loc, "not a decodable image", "image_invalid") from None
    if out.size > MAX_IMAGE_PIXELS:
        raise field_error(loc, f"image larger than {MAX_IMAGE_PIXELS} pixels", "image_too_large")
    return out
