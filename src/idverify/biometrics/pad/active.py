"""Judging an active liveness challenge on a burst of camera frames.

Owns: turning a burst of frames into the per-frame measurements the challenge cores judge (YuNet landmarks for
the head turn, eye aspect ratio for the blink) and reporting which frames show the patient facing the camera, so
the caller can match the face on those. Must not touch: cameras (the workflow grabs the burst), decisions.

A burst is subsampled evenly to at most :data:`MAX_JUDGED_FRAMES` frames: a 3.5 s burst at 15 fps is ~50 frames; a
head turn held ~1 s is still sampled 3–4 times by 16 frames spread over the burst. After the first face, each frame
is searched only around the previous face box (2× its size, full resolution; whole frame if the face is not there):
YuNet's cost scales with the pixels it sees. Measured with ``python -m hardware_fixtures.turn_trial
../shared/data/face/asian_dev`` (CPU time per 16-frame judgement, median): whole 640×480 frames 631 ms, 3× box 429
ms, 2× box 266–319 ms (two runs), with the same verdicts (14 of 44 simulated turns pass at 2×, 13 of 44 on whole
frames). Downscaling the frames instead (320 px) lost the landmark precision the yaw proxy needs (2 of 44 passed).
Only YuNet is used (no HOG fallback): the judgement needs landmarks, which HOG does not give.

With the daemon's camera the detections are made while the burst is filmed (:class:`FaceTracker`, fed one frame
every 3.5 s / 16 ≈ 0.22 s), so the verdict after the burst costs ~1 ms instead of 0.9–1.6 s of wall time on this
shared machine (measured through the API with the simulated camera: stage-check decision after the burst 230–410
ms, one outlier at 1.07 s, over 8 checks; 12–14 frames judged of 44–51 received).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from idverify.biometrics.face.detect import Detection, FaceDetector
from idverify.biometrics.face.image import RGBImage
from idverify.biometrics.face.quality import pose_from_landmarks
from idverify.biometrics.pad.blink import BlinkChallenge
from idverify.biometrics.pad.challenge import FRONTAL_YAW, ChallengeResult, HeadTurnChallenge

MAX_JUDGED_FRAMES = 16
#: Head-turn frames after the first face are searched around the previous face box grown by this share of its
#: width/height on each side (a 2× box), at full resolution.
TRACK_MARGIN = 0.5

Challenge = HeadTurnChallenge | BlinkChallenge


@dataclass(frozen=True)
class ActiveJudgement:
    """The challenge verdict, plus what the workflow needs to record and to pick frames for matching."""

    result: ChallengeResult
    frontal: list[int]  # indices (into the judged frames) where one face looks at the camera
    judged: list[RGBImage]
    frames_received: int
    cpu_ms: float

    def record(self) -> dict[str, Any]:
        return {**self.result.as_dict(), "frames_received": self.frames_received, "cpu_ms": self.cpu_ms}

    def frontal_frames(self, n: int) -> list[RGBImage]:
        """Up to ``n`` frontal frames, spread over the burst (for matching and passive PAD)."""
        picks = subsample(self.frontal, n)
        return [self.judged[i] for i in picks]


def subsample(items: Sequence[Any], n: int) -> list[Any]:
    """At most ``n`` items, evenly spaced, first and last kept."""
    if len(items) <= n:
        return list(items)
    if n <= 1:
        return [items[0]] if n == 1 else []
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


Box = tuple[float, float, float, float]


def _single_face(detector: FaceDetector, rgb: RGBImage) -> Detection | None:
    faces = detector.detect(rgb, fallback=False)
    return faces[0] if len(faces) == 1 and faces[0].landmarks is not None else None


def _tracked_face(detector: FaceDetector, rgb: RGBImage, last: Box | None) -> tuple[Detection | None, Box | None]:
    """The face, looked for first around where it was in the previous frame (its box grown by
    :data:`TRACK_MARGIN` on each side), then in the whole frame. Returns the detection and its box, both in whole-frame
    coordinates (the face mesh of the blink challenge crops from the whole frame)."""
    if last is not None:
        x, y, w, h = last
        height, width = rgb.shape[:2]
        x0, y0 = max(0, int(x - TRACK_MARGIN * w)), max(0, int(y - TRACK_MARGIN * h))
        x1, y1 = min(width, int(x + w + TRACK_MARGIN * w)), min(height, int(y + h + TRACK_MARGIN * h))
        found = _single_face(detector, np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        if found is not None and found.landmarks is not None:
            fx, fy, fw, fh = found.box
            box = (fx + x0, fy + y0, fw, fh)
            offset = np.asarray([x0, y0], dtype=np.float32)
            return replace(found, box=box, landmarks=found.landmarks + offset), box
    found = _single_face(detector, rgb)
    return found, (found.box if found is not None else last)


class FaceTracker:
    """A burst's detections computed as its frames arrive, so that judging it after the burst costs only the
    verdict: the camera path samples one frame every ``burst / MAX_JUDGED_FRAMES`` seconds into :meth:`add` while
    it films (the CPU idles during the burst otherwise)."""

    def __init__(self, detector: FaceDetector | None = None) -> None:
        self._detector = detector
        self._box: Box | None = None
        self.frames: list[RGBImage] = []
        self.dets: list[Detection | None] = []
        self.received = 0  # every frame of the burst, sampled or not
        self.cpu_ms = 0.0

    def add(self, rgb: RGBImage) -> None:
        start = time.process_time()
        if self._detector is None:
            from idverify.biometrics.face.engine import get_face_engine

            self._detector = get_face_engine().detector
        det, self._box = _tracked_face(self._detector, rgb, self._box)
        self.frames.append(rgb)
        self.dets.append(det)
        self.cpu_ms += (time.process_time() - start) * 1000


def judge(frames: Sequence[RGBImage], challenge: Challenge, *, detector: FaceDetector | None = None,
          max_frames: int = MAX_JUDGED_FRAMES, tracked: FaceTracker | None = None) -> ActiveJudgement:
    """Judge ``frames`` (RGB, oldest first) against ``challenge``; with ``tracked``, judge the frames it detected
    while they were filmed instead (``frames`` then only counts what was received)."""
    start = time.process_time()
    spent = 0.0
    if tracked is not None and tracked.frames:
        judged, dets, received, spent = tracked.frames, tracked.dets, max(tracked.received, len(frames)), \
            tracked.cpu_ms
    else:
        tracker = FaceTracker(detector)
        for rgb in subsample(frames, max_frames):
            tracker.add(rgb)
        judged, dets, received = tracker.frames, tracker.dets, len(frames)
    if isinstance(challenge, BlinkChallenge):
        from idverify.biometrics.pad.blink import get_eye_landmarker

        marker = get_eye_landmarker()
        result = challenge.evaluate([None if d is None else marker.eye_aspect_ratio(rgb, d)
                                     for rgb, d in zip(judged, dets, strict=True)])
    else:
        result = challenge.evaluate([None if d is None else d.landmarks for d in dets])
    frontal = [i for i, d in enumerate(dets) if d is not None and d.landmarks is not None
               and abs(pose_from_landmarks(d.landmarks)[0]) <= FRONTAL_YAW]
    return ActiveJudgement(result=result, frontal=frontal, judged=judged, frames_received=received,
                           cpu_ms=round(spent + (time.process_time() - start) * 1000, 1))
