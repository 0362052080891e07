"""Turning uploaded or captured bytes into the one image form the face code accepts: RGB ``uint8``, upright.

Owns: decoding (Pillow), EXIF orientation, colour mode, fitting a photo into a camera frame. Must not touch:
detection, quality, anything about people.

Why EXIF matters: phone photos and some scanner outputs are stored sideways with an orientation tag. OpenCV's
``imread`` honours it, Pillow (and so plain ``face_recognition.load_image_file``) does not, and a sideways face is
invisible to every detector here. Every image therefore goes through :func:`PIL.ImageOps.exif_transpose`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from idverify.errors import BiometricError, ErrorCode

RGBImage = NDArray[np.uint8]

#: Refuse decompression bombs well above any camera or scanner frame (about 50 megapixels).
MAX_PIXELS = 50_000_000


def load_image(source: bytes | str | Path) -> RGBImage:
    """Decode ``source`` (encoded bytes or a file path) to an upright ``H×W×3`` RGB ``uint8`` array.

    Handles JPEG, PNG (also with alpha, composited on white), BMP, TIFF and JPEG 2000 when Pillow can read it.
    Raises :class:`BiometricError` (``image_unreadable``) for anything that is not a decodable image.
    """
    try:
        raw = Image.open(io.BytesIO(source)) if isinstance(source, bytes | bytearray) else Image.open(source)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BiometricError(
            "the image could not be read; capture or upload the photo again", code=ErrorCode.IMAGE_UNREADABLE
        ) from exc
    with raw:
        if raw.width * raw.height > MAX_PIXELS:
            raise BiometricError("the image is too large; use a camera frame or a photo under 50 megapixels",
                                 code=ErrorCode.IMAGE_UNREADABLE)
        try:
            img = ImageOps.exif_transpose(raw) or raw
            img.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise BiometricError("the image file is damaged; capture or upload it again",
                                 code=ErrorCode.IMAGE_UNREADABLE) from exc
        return to_rgb(img)


def to_rgb(img: Image.Image) -> RGBImage:
    """Convert any Pillow mode to RGB; transparency is composited on white (scanned card photos are on white)."""
    if img.mode in {"RGBA", "LA"} or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(arr)


def as_rgb_array(image: RGBImage | bytes | str | Path) -> RGBImage:
    """Accept either an already decoded RGB array or anything :func:`load_image` takes."""
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2).astype(np.uint8))
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
            raise BiometricError("unsupported image array: expected H×W×3 uint8 RGB", code=ErrorCode.IMAGE_UNREADABLE)
        return np.ascontiguousarray(image[:, :, :3])
    return load_image(image)


def letterbox(frame: NDArray[np.uint8], width: int, height: int) -> NDArray[np.uint8]:
    """Fit a 3-channel ``frame`` into width×height keeping its proportions (grey bars), as a camera shows a person.

    A stretched portrait photo would squash the face and skew its encoding. Used wherever a still photo stands
    in for a live camera frame: the simulated camera and the benchmark's per-frame timing.
    """
    import cv2

    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((height, width, 3), 96, dtype=np.uint8)
    y, x = (height - nh) // 2, (width - nw) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return out
