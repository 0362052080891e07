"""The two pictures on a stage-check result: the patient's enrolment photo beside the live frame.

Privacy by design, because a face image is the most sensitive thing this daemon could keep:

* **Enrolment photo** — one small face crop (at most ``PHOTO_WIDTH`` px wide, JPEG; about 5–8 kB) per patient,
  kept only when the patient consented to face capture, sealed like every biometric record (envelope encryption,
  AAD ``sample:<id>``) as a :class:`~idverify.store.models.BiometricSample` of kind ``enrolment_photo``. It goes
  wherever the templates go: consent withdrawal or refusal of face, patient deletion and template retention delete
  it (``erase_biometrics`` and the retention job remove a patient's samples with the templates).
* **Live frame** — held in memory only (:class:`LiveFrames`), downscaled, for ``LIVE_TTL_S`` after the check, for
  the workstation that ran it; never written to disk (the raw-image retention setting governs raw captures, and
  the check pipeline does not persist any).

Both are served by nurse-only endpoints keyed by the verification id (no personal data in the URL), to the
workstation that ran the check, with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from idverify.biometrics.face.detect import Detection
from idverify.store.base import new_id
from idverify.store.keys import Keys
from idverify.store.models import BiometricSample
from idverify.workflow.repositories import samples

KIND = "enrolment_photo"
PHOTO_WIDTH = 160
LIVE_WIDTH = 320
LIVE_TTL_S = 300.0
LIVE_MAX = 64  # checks a workstation runs in LIVE_TTL_S, with room to spare
JPEG_QUALITY = 80
MARGIN = 0.45  # around the detector's box, so the photo shows the head, not only the inner face


def sample_aad(sample_id: str) -> str:
    return f"sample:{sample_id}"


def _jpeg(rgb: NDArray[np.uint8], max_width: int) -> bytes:
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if image.shape[1] > max_width:
        scale = max_width / image.shape[1]
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("cannot encode JPEG")
    return bytes(buf.tobytes())


def face_crop(rgb: NDArray[np.uint8], face: Detection) -> NDArray[np.uint8] | None:
    """The detected face with a margin, or None when that leaves too few pixels for a photo."""
    x, y, w, h = face.box
    mx, my = w * MARGIN, h * MARGIN
    top, bottom = max(0, int(y - my)), min(rgb.shape[0], int(y + h + my))
    left, right = max(0, int(x - mx)), min(rgb.shape[1], int(x + w + mx))
    if bottom - top < 8 or right - left < 8:
        return None
    return np.ascontiguousarray(rgb[top:bottom, left:right])


def store_enrolment_photo(db: Session, keys: Keys, *, patient_id: str, frames: Sequence[NDArray[np.uint8]],
                          faces: Sequence[Detection | None]) -> BiometricSample | None:
    """Keep one small sealed face crop of the first frame with a face; replaces an earlier one.

    ``faces[i]`` is the largest face enrolment's analysis detected in ``frames[i]`` (None: none), so no detector
    runs here. Only the analysed frames are looked at: a photo is kept only when one of them gave a usable
    sample, so the first frame with a face is always among them.
    """
    # zip stops at the last analysed frame (enrolment analyses the first MAX_FACE_FRAMES)
    crops = (face_crop(frame, face) for frame, face in zip(frames, faces, strict=False) if face is not None)
    crop = next((c for c in crops if c is not None), None)
    if crop is None:
        return None
    samples.delete_of_patient(db, patient_id, KIND)
    sample_id = new_id()
    row = BiometricSample(id=sample_id, patient_id=patient_id, kind=KIND, media_type="image/jpeg",
                          envelope=keys.ring.encrypt(_jpeg(crop, PHOTO_WIDTH), sample_aad(sample_id)),
                          kek_id=keys.ring.active_id)
    return samples.add(db, row)


def enrolment_photo(db: Session, keys: Keys, patient_id: str) -> bytes | None:
    row = samples.latest(db, patient_id, KIND)
    return None if row is None else keys.ring.decrypt(row.envelope, sample_aad(row.id))


def has_enrolment_photo(db: Session, patient_id: str) -> bool:
    return samples.exists(db, patient_id, KIND)


class LiveFrames:
    """Live frames of recent checks, in memory only: verification id -> (workstation, JPEG, expiry).

    Bounded (``LIVE_MAX`` entries, oldest dropped) and expiring (``LIVE_TTL_S``); a restart forgets them all."""

    def __init__(self, ttl_s: float = LIVE_TTL_S, max_entries: int = LIVE_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._max, self._clock = ttl_s, max_entries, clock
        self._items: OrderedDict[str, tuple[str, bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, verification_id: str, workstation_id: str, frame_rgb: NDArray[np.uint8]) -> None:
        jpeg = _jpeg(frame_rgb, LIVE_WIDTH)
        with self._lock:
            self._expire()
            self._items[verification_id] = (workstation_id, jpeg, self._clock() + self._ttl)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def get(self, verification_id: str, workstation_id: str) -> bytes | None:
        with self._lock:
            self._expire()
            item = self._items.get(verification_id)
        if item is None or item[0] != workstation_id:
            return None
        return item[1]

    def __contains__(self, verification_id: object) -> bool:
        with self._lock:
            self._expire()
            return verification_id in self._items

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, (_, _, until) in self._items.items() if until <= now]:
            del self._items[key]
