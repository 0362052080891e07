"""What a nurse captured for one enrolment or check, whether it came from this workstation's devices or from an
integration's upload: face frames, fingerprint images with their finger positions, and the document read.

Decoding and size checks happen here so the services get arrays, never base64 strings.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.pad.active import FaceTracker
from idverify.documents.model import IdentityDocument
from idverify.errors import ValidationFailed

FINGER_POSITIONS = ("right_thumb", "right_index", "right_middle", "right_ring", "right_little",
                    "left_thumb", "left_index", "left_middle", "left_ring", "left_little", "unknown")
MAX_IMAGE_PIXELS = 4096 * 4096


@dataclass
class Captures:
    face_frames: list[NDArray[np.uint8]] = field(default_factory=list)  # RGB
    challenge_frames: list[NDArray[np.uint8]] = field(default_factory=list)  # RGB, filmed during a challenge
    challenge_tracker: FaceTracker | None = None  # detections made while the challenge burst was filmed
    fingerprints: list[tuple[str, NDArray[np.uint8]]] = field(default_factory=list)  # (position, grey)
    document: IdentityDocument | None = None
    devices: dict[str, str] = field(default_factory=dict)  # which device produced what (ids, for the record)


def decode_image(data_b64: str, *, what: str, grey: bool = False) -> NDArray[np.uint8]:
    """A base64 JPEG/PNG/BMP/TIFF from a request, decoded (EXIF orientation applied for colour images)."""
    try:
        raw = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"{what}: not valid base64") from None
    if grey:
        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValidationFailed(f"{what}: not a decodable image")
        out: NDArray[np.uint8] = np.asarray(img, dtype=np.uint8)
    else:
        from idverify.biometrics.face import load_image

        try:
            out = load_image(raw)
        except Exception:
            raise ValidationFailed(f"{what}: not a decodable image") from None
    if out.size > MAX_IMAGE_PIXELS:
        raise ValidationFailed(f"{what}: image larger than {MAX_IMAGE_PIXELS} pixels")
    return out
