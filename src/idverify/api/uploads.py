"""Uploads inside JSON bodies: base64 fields decoded at the HTTP edge, so the workflow gets bytes and images only.

Owns: turning a base64 request field into bytes, or into an image array (JPEG/PNG/BMP/TIFF; EXIF orientation
applied to colour images), and the size limits of uploaded images (:class:`ImageLimits`). Must not touch: what
the images are used for.

Decompression bombs: a few hundred KiB of PNG can declare 20000×20000 pixels, and decoding it costs seconds and
gigabytes before any size check on the result could refuse it. So every image's width and height are read from
its header first (Pillow's ``Image.open`` parses the header and decodes nothing), and :func:`check_sizes` refuses
an image over ``max_image_pixels`` — and a request whose images together exceed ``max_request_pixels`` — before a
single pixel is decoded. A header Pillow cannot read is refused as not an image, whatever a decoder might make of it.

A field that does not decode is a 422 ``validation_error`` naming the field, in the message
(``fingerprints[1].image_base64: not valid base64``) and in ``details`` with the shape schema errors have
(``[{"loc": ["body", "fingerprints", "1", "image_base64"], "msg", "type"}]``), so a client sending ten images
learns which one was bad. The value itself is never echoed: error bodies end up in client logs.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from idverify.config import Settings
from idverify.errors import ValidationFailed

MAX_IMAGE_PIXELS = 4096 * 4096
MAX_REQUEST_PIXELS = 50_000_000
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ImageLimits:
    """Pixels one uploaded image, and all the images of one request together, may have."""

    per_image: int = MAX_IMAGE_PIXELS
    per_request: int = MAX_REQUEST_PIXELS

    @classmethod
    def of(cls, settings: Settings) -> ImageLimits:
        return cls(settings.max_image_pixels, settings.max_request_pixels)


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


def header_size(raw: bytes, loc: Loc, limits: ImageLimits) -> int:
    """Width × height from the image's header, decoding nothing; refuses what is not an image or too large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides, below
            with Image.open(io.BytesIO(raw)) as img:
                width, height = img.size
    except Image.DecompressionBombError:  # Pillow's own ceiling, far above ours: too large all the same
        raise field_error(loc, f"image larger than {limits.per_image} pixels", "image_too_large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise field_error(loc, "not a decodable image", "image_invalid") from None
    if width * height > limits.per_image:
        raise field_error(loc, f"image larger than {limits.per_image} pixels ({width}×{height})", "image_too_large")
    return int(width * height)


def check_sizes(images: Sequence[tuple[bytes, Loc]], limits: ImageLimits) -> None:
    """Refuse, before anything is decoded, an image too large on its own or one that takes the request's images
    together over ``limits.per_request`` (named: the first image past the budget)."""
    total = 0
    for raw, loc in images:
        total += header_size(raw, loc, limits)
        if total > limits.per_request:
            raise field_error(loc, f"the images of this request exceed {limits.per_request} pixels in total",
                              "image_too_large")


def decode_image(value: str | bytes, loc: Loc, *, grey: bool = False,
                 limits: ImageLimits | None = None) -> NDArray[np.uint8]:
    """The image in a base64 field (or its bytes): RGB, or 8-bit grey with ``grey`` (fingerprints). Its header
    is checked against ``limits.per_image`` (default: :data:`MAX_IMAGE_PIXELS`) before it is decoded."""
    limits = limits or ImageLimits()
    raw = value if isinstance(value, bytes) else decode_base64(value, loc)
    header_size(raw, loc, limits)
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
    if out.shape[0] * out.shape[1] > limits.per_image:  # a header that lied about the size
        raise field_error(loc, f"image larger than {limits.per_image} pixels", "image_too_large")
    return out
