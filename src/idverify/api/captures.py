"""At the HTTP edge: building :class:`~idverify.workflow.captures.Captures` from a request: uploaded images (base64
decoded here, see :mod:`idverify.api.uploads`), or this workstation's devices (document reader, camera ring
buffer, fingerprint sensor — one capture per finger asked).

When the check answers an active liveness challenge, the camera is filmed first, for :data:`CHALLENGE_BURST_S`
seconds from the moment the request arrives (the nurse's screen shows the prompt from the same moment), before
the card and the fingers, so the patient performs while looking at the camera and not at the sensor. 3.5 s leaves
~1 s to react to the prompt and ~1.5 s for a slow turn or a blink. Faces are detected in sampled frames while the
burst is filmed (:class:`~idverify.biometrics.pad.active.FaceTracker`), so the judgement adds ~nothing after it.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from idverify.api.schemas.workflow import CaptureIn, DocumentUpload
from idverify.api.uploads import ImageLimits, Loc, check_sizes, decode_base64, decode_image
from idverify.biometrics.pad.active import MAX_JUDGED_FRAMES, FaceTracker
from idverify.documents.cn_id import id_checksum_ok
from idverify.documents.model import DocumentChecks, IdentityDocument
from idverify.errors import DeviceUnavailable
from idverify.workflow.captures import CaptureListener, Captures
from idverify.workflow.patients import GB11643_TYPES

FACE_FRAMES = 5
FACE_WAIT_S = 2.0  # 5 frames take 0.33 s at 15 fps; a slower camera gives what it has by then
FINGER_TIMEOUT_S = 10.0
CHALLENGE_BURST_S = 3.5
BURST_POLL_S = 0.03


def require_devices(body: CaptureIn, devices: Any | None) -> None:
    """A request that asks for this workstation's devices on a daemon without any is refused first, before
    anything is looked up or filmed."""
    if body.use_devices and devices is None:
        raise DeviceUnavailable("this daemon has no devices configured")


def from_request(body: CaptureIn, devices: Any | None, *, claimed_by: str, challenge: bool = False,
                 limits: ImageLimits | None = None, film_face: bool = True,
                 listener: CaptureListener | None = None) -> Captures:
    """``challenge``: the request answers an active liveness challenge (film a burst when using the devices).
    ``claimed_by``: who uploads, named as the source of an uploaded document's claimed checks.
    ``film_face`` False: the patient refused face capture (or the stage matches no face) — the camera's frames are
    not taken at all.

    Every uploaded image's header is checked against ``limits`` — each image, and all of them together — before
    the first one is decoded (see :mod:`idverify.api.uploads`). ``listener`` hears of the device captures one by
    one, as they are taken (uploads arrive together: nothing to start early)."""
    limits = limits or ImageLimits()
    def named(field: str, values: list[str]) -> list[tuple[bytes, Loc]]:
        return [(decode_base64(v, (field, i)), (field, i)) for i, v in enumerate(values)]

    faces = named("face_images_base64", body.face_images_base64)
    frames = named("challenge_frames_base64", getattr(body, "challenge_frames_base64", []))
    fingers: list[tuple[bytes, Loc]] = [
        (decode_base64(f.image_base64, ("fingerprints", i, "image_base64")), ("fingerprints", i, "image_base64"))
        for i, f in enumerate(body.fingerprints)]
    doc = body.document
    photo = decode_base64(doc.photo_base64, ("document", "photo_base64")) if doc and doc.photo_base64 else None
    check_sizes([*faces, *frames, *fingers, *([(photo, ("document", "photo_base64"))] if photo else [])], limits)
    captures = Captures()
    require_devices(body, devices)
    if body.use_devices:
        _from_devices(captures, body, devices, challenge=challenge and film_face, film_face=film_face,
                      listener=listener)
    for raw, loc in faces:
        captures.face_frames.append(decode_image(raw, loc, limits=limits))
    for raw, loc in frames:
        captures.challenge_frames.append(decode_image(raw, loc, limits=limits))
    if captures.challenge_frames:
        captures.devices.setdefault("challenge", "upload")
    for (raw, loc), finger in zip(fingers, body.fingerprints, strict=True):
        captures.fingerprints.append((finger.position, decode_image(raw, loc, grey=True, limits=limits)))
    if doc is not None:
        captures.document = uploaded_document(doc, photo, claimed_by, limits)
        captures.devices.setdefault("document", "upload")
    if body.face_images_base64:
        captures.devices.setdefault("face", "upload")
    if body.fingerprints:
        captures.devices.setdefault("fingerprint", "upload")
    return captures


def uploaded_document(doc: DocumentUpload, photo: bytes | None, claimed_by: str,
                      limits: ImageLimits | None = None) -> IdentityDocument:
    """A document read elsewhere, with the checks this daemon can compute and the rest recorded as claims.

    Computed here: the ID number's check character for 18-character Chinese numbers (GB 11643). Claimed, and
    recorded as claimed by ``claimed_by``: the other checksums (an MRZ's digits need the whole MRZ), expiry, and
    passive authentication, which stays ``not_verified`` — only a chip read here can pass it — unless the reader
    claims it ``failed``, which is honoured (a reader reporting a forgery is believed). The photo (``photo``: the
    decoded base64 field) must decode as an image, so what the face matcher compares is a face picture and not
    arbitrary bytes."""
    if photo is not None:
        decode_image(photo, ("document", "photo_base64"), limits=limits)  # refuses what is not an image
    checksum = doc.checksum_ok
    if doc.document_type in GB11643_TYPES:
        checksum = id_checksum_ok(doc.document_number)
    claims = {"checksum_ok": doc.checksum_ok, "expired": doc.expired, "passive_auth": doc.passive_auth}
    return IdentityDocument(
        document_type=doc.document_type, document_number=doc.document_number, photo=photo,
        photo_format=_photo_format(photo) if photo else None,
        checks=DocumentChecks(checksum=checksum, expired=doc.expired,
                              passive_auth="failed" if doc.passive_auth == "failed" else "not_verified",
                              claimed_by=claimed_by, claims=claims),
        source="upload",
    )


def _photo_format(photo: bytes) -> str:
    if photo.startswith(b"\xff\xd8"):
        return "jpeg"
    return "png" if photo.startswith(b"\x89PNG") else "image"


def burst(devices: Any, mark: int, seconds: float = CHALLENGE_BURST_S,
          tracker: FaceTracker | None = None) -> list[Any]:
    """Every camera frame grabbed after ``mark`` for the next ``seconds`` (RGB, oldest first), read from the ring as
    it fills, so nothing is lost even when the ring is shorter than the burst. With ``tracker``, one frame every
    ``seconds / MAX_JUDGED_FRAMES`` is handed to it as it arrives, so the challenge is judged during the burst."""
    frames: list[Any] = []
    last = mark
    deadline = time.monotonic() + seconds
    interval, next_sample = seconds / MAX_JUDGED_FRAMES, 0.0
    while True:
        fresh = [f for f in devices.recent_frames(None) if f.index > last]
        for f in fresh:
            rgb = np.ascontiguousarray(cv2.cvtColor(f.image, cv2.COLOR_BGR2RGB))
            frames.append(rgb)
            if tracker is not None and f.timestamp >= next_sample:
                tracker.add(rgb)
                next_sample = f.timestamp + interval
        if fresh:
            last = fresh[-1].index
        if time.monotonic() >= deadline:
            break
        time.sleep(BURST_POLL_S)
    if tracker is not None:
        tracker.received = len(frames)
    return frames


def _from_devices(captures: Captures, body: CaptureIn, devices: Any, *, challenge: bool, film_face: bool,
                  listener: CaptureListener | None) -> None:
    mark = devices.frame_mark()  # the face must be filmed during this request, not taken from the ring's past
    if challenge:
        captures.challenge_tracker = FaceTracker()
        captures.challenge_frames.extend(burst(devices, mark, tracker=captures.challenge_tracker))
        captures.devices["challenge"] = "camera"
    mrz = None
    if body.mrz is not None:
        from idverify.documents.mrz import BacKeys

        mrz = BacKeys(document_number=body.mrz.document_number, birth_date=body.mrz.birth_date,
                      expiry_date=body.mrz.expiry_date)
    captures.document = devices.read_document_sync(mrz)
    captures.devices["document"] = captures.document.source or "reader"
    if film_face and not challenge:  # with a challenge the face is matched on the burst's frontal frames
        for frame in devices.frames_since(mark, FACE_FRAMES, FACE_WAIT_S):
            captures.face_frames.append(np.ascontiguousarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)))
        if listener is not None:
            listener.face_filmed(captures.face_frames)
    if film_face:
        captures.devices["face"] = "camera"
    for position in body.finger_positions:
        image = devices.capture_fingerprint_sync(FINGER_TIMEOUT_S)
        captures.fingerprints.append((position, image))
        if listener is not None:
            listener.finger_taken(position, image)
    captures.devices["fingerprint"] = "sensor"
