"""At the HTTP edge: building :class:`~idverify.workflow.captures.Captures` from a request: uploaded images, or this
workstation's devices (document reader, camera ring buffer, fingerprint sensor — one capture per finger asked)."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from idverify.api.schemas.workflow import CaptureIn
from idverify.documents.model import DocumentChecks, IdentityDocument
from idverify.errors import DeviceUnavailable
from idverify.workflow.captures import Captures, decode_image

FACE_FRAMES = 5
FINGER_TIMEOUT_S = 10.0


def from_request(body: CaptureIn, devices: Any | None) -> Captures:
    captures = Captures()
    if body.use_devices:
        if devices is None:
            raise DeviceUnavailable("this daemon has no devices configured")
        _from_devices(captures, body, devices)
    for i, data in enumerate(body.face_images_base64):
        captures.face_frames.append(decode_image(data, what=f"face_images_base64[{i}]"))
    for i, finger in enumerate(body.fingerprints):
        captures.fingerprints.append((finger.position, decode_image(finger.image_base64, what=f"fingerprints[{i}]",
                                                                    grey=True)))
    if body.document is not None:
        doc = body.document
        photo = base64.b64decode(doc.photo_base64) if doc.photo_base64 else None
        captures.document = IdentityDocument(
            document_type=doc.document_type, document_number=doc.document_number, photo=photo,
            photo_format="jpeg" if photo else None,
            checks=DocumentChecks(checksum=doc.checksum_ok, expired=doc.expired, passive_auth=doc.passive_auth),
            source="upload",
        )
        captures.devices.setdefault("document", "upload")
    if body.face_images_base64:
        captures.devices.setdefault("face", "upload")
    if body.fingerprints:
        captures.devices.setdefault("fingerprint", "upload")
    return captures


def _from_devices(captures: Captures, body: CaptureIn, devices: Any) -> None:
    mrz = None
    if body.mrz is not None:
        from idverify.documents.mrz import BacKeys

        mrz = BacKeys(document_number=body.mrz.document_number, birth_date=body.mrz.birth_date,
                      expiry_date=body.mrz.expiry_date)
    captures.document = devices.read_document_sync(mrz)
    captures.devices["document"] = captures.document.source or "reader"
    frames = devices.recent_frames(FACE_FRAMES)
    for frame in frames:
        captures.face_frames.append(np.ascontiguousarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)))
    captures.devices["face"] = "camera"
    for position in body.finger_positions:
        image = devices.capture_fingerprint_sync(FINGER_TIMEOUT_S)
        captures.fingerprints.append((position, image))
    captures.devices["fingerprint"] = "sensor"
