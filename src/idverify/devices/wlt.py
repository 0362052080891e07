"""Plug-in point for decoding the WLT photo of Chinese ID cards (vendor code, never ours).

Owns: discovering a decoder (Python entry points in the group ``idverify.wlt_decoders``, or a vendor shared
library loaded with ctypes), calling it, and turning what it returns into PNG bytes. The WLT format is a licensed
public-security compression with no open specification or open decoder, so idverify never reimplements it: with no
decoder installed the card is still read and the photo is reported as ``unavailable`` (raw WLT kept for the
record). See ``drivers/photo_decoder.md`` for how a clinic installs its reader vendor's decoder.

Knows nothing of serial ports or patients.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

import structlog

from idverify.errors import DeviceError, ErrorCode

log = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "idverify.wlt_decoders"
WLT_SIZE = 1024
#: A decoded WLT is a 102×126 24-bit BMP: 54-byte header + 126 rows × 308 bytes.
DECODED_BMP_SIZE = 38862


@runtime_checkable
class WltDecoder(Protocol):
    """Turns the card's 1024-byte WLT into an encoded image (BMP, PNG or JPEG bytes)."""

    name: str

    def decode(self, wlt: bytes) -> bytes: ...


class CtypesWltDecoder:
    """Adapter for the vendor libraries that export ``int unpack(char *wlt, char *bmp_out, int flag)``.

    That signature is the one most Linux GA 467 SDKs document for ``libwltrs.so`` (return 1 on success, output a
    38862-byte BMP when the flag is 0). It has not been verified here against a real library: vendors differ,
    which is why this is only the default adapter and a clinic can ship its own entry point instead."""

    def __init__(self, library: Path, function: str = "unpack", *, success: int = 1) -> None:
        try:
            lib = ctypes.CDLL(str(library))
            self._fn = getattr(lib, function)
        except (OSError, AttributeError) as exc:
            raise DeviceError(
                f"WLT decoder library {library.name} cannot be loaded: {exc.__class__.__name__}",
                code=ErrorCode.PHOTO_DECODER_ERROR,
            ) from None
        self._fn.restype = ctypes.c_int
        self._success = success
        self.name = f"ctypes:{library.name}:{function}"

    def decode(self, wlt: bytes) -> bytes:
        src = ctypes.create_string_buffer(wlt, WLT_SIZE)
        dst = ctypes.create_string_buffer(DECODED_BMP_SIZE + 1024)
        rc = self._fn(src, dst, 0)
        if rc != self._success:
            raise DeviceError(f"WLT decoder returned {rc}", code=ErrorCode.PHOTO_DECODER_ERROR)
        return dst.raw[:DECODED_BMP_SIZE]


def discover_decoder(library: Path | None = None) -> WltDecoder | None:
    """The first usable decoder: an explicit shared library, else the first entry point that loads, else None.

    Entry points must name a zero-argument callable (a class or a factory) that returns a :class:`WltDecoder`."""
    if library is not None:
        return CtypesWltDecoder(library)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            factory: Callable[[], object] = ep.load()
            decoder = factory()
        except Exception as exc:  # a broken plug-in must not stop card reading
            log.warning("wlt_decoder_unusable", entry_point=ep.name, error=exc.__class__.__name__)
            continue
        if isinstance(decoder, WltDecoder):
            return decoder
        log.warning("wlt_decoder_wrong_type", entry_point=ep.name)
    return None


def to_png(image: bytes) -> bytes:
    """Re-encode a decoder's output as PNG (decoders return BMP; the face core and the UI want PNG)."""
    if image.startswith(b"\x89PNG"):
        return image
    import cv2
    import numpy as np

    pixels = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise DeviceError("WLT decoder output is not an image", code=ErrorCode.PHOTO_DECODER_ERROR)
    ok, png = cv2.imencode(".png", pixels)
    if not ok:
        raise DeviceError("cannot encode decoded photo", code=ErrorCode.PHOTO_DECODER_ERROR)
    return bytes(png.tobytes())


def decode_photo(wlt: bytes, decoder: WltDecoder | None) -> tuple[bytes, str]:
    """``(image, format)``: PNG when a decoder is installed and works, else the raw WLT with format ``wlt``.

    A failing decoder is logged and degrades to ``wlt`` (photo unavailable) instead of failing the card read:
    the text data and its checks are still worth having."""
    if decoder is None:
        return wlt, "wlt"
    try:
        return to_png(decoder.decode(wlt)), "png"
    except Exception as exc:
        log.warning("wlt_decode_failed", decoder=decoder.name, error=exc.__class__.__name__)
        return wlt, "wlt"
