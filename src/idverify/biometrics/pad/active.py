"""Judging an active liveness challenge on a burst of camera frames.

Owns: turning a burst of frames into the per-frame measurements the challenge cores judge (YuNet landmarks for
the head turn, eye aspect ratio for the blink) and reporting which frames show the patient facing the camera, so
the caller can match the face on those. Must not touch: cameras (the workflow grabs the burst), decisions.

A burst is subsampled evenly to at most :data:`MAX_JUDGED_FRAMES` frames: a 3.5 s burst at 15 fps is ~50 frames
and YuNet costs ~39 ms of CPU per 640×480 frame here (measured: median 631 ms CPU for a 16-frame judgement,
``python -m hardware_fixtures.performance``), so judging every frame would add ~2 s to the check; a head turn
held ~1 s is still sampled 3–4 times by 16 frames spread over the burst. Frames are detected at up to 640 px:
at 320 px the landmarks lose the precision the yaw proxy needs (the simulated turns that pass at 640 px: 13 of
44; at 320 px: 2 of 44). Only YuNet is used (no HOG fallback): the judgement needs landmarks, which HOG does not
give.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from idverify.biometrics.face.detect import Detection, FaceDetector
from idverify.biometrics.face.image import RGBImage
from idverify.biometrics.face.quality import pose_from_landmarks
from idverify.biometrics.pad.blink import BlinkChallenge
from idverify.biometrics.pad.challenge import FRONTAL_YAW, ChallengeResult, HeadTurnChallenge

MAX_JUDGED_FRAMES = 16
#: Head-turn frames are detected at this longest side: the yaw proxy is a ratio of landmark distances, so scale
#: does not matter, and a face filling a workstation camera frame is still ~50 px wide at 320.
TURN_DETECT_SIDE = 640

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


def _single_face(detector: FaceDetector, rgb: RGBImage, max_side: int | None = None) -> Detection | None:
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        import cv2

        scale = max_side / max(rgb.shape[:2])
        rgb = np.asarray(cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    faces = detector.detect(rgb, fallback=False)
    return faces[0] if len(faces) == 1 and faces[0].landmarks is not None else None


def judge(frames: Sequence[RGBImage], challenge: Challenge, *, detector: FaceDetector | None = None,
          max_frames: int = MAX_JUDGED_FRAMES) -> ActiveJudgement:
    """Judge ``frames`` (RGB, oldest first) against ``challenge``."""
    if detector is None:
        from idverify.biometrics.face.engine import get_face_engine

        detector = get_face_engine().detector
    start = time.process_time()
    judged = subsample(frames, max_frames)
    side = None if isinstance(challenge, BlinkChallenge) else TURN_DETECT_SIDE
    dets = [_single_face(detector, rgb, side) for rgb in judged]
    if isinstance(challenge, BlinkChallenge):
        from idverify.biometrics.pad.blink import get_eye_landmarker

        marker = get_eye_landmarker()
        result = challenge.evaluate([None if d is None else marker.eye_aspect_ratio(rgb, d)
                                     for rgb, d in zip(judged, dets, strict=True)])
    else:
        result = challenge.evaluate([None if d is None else d.landmarks for d in dets])
    frontal = [i for i, d in enumerate(dets) if d is not None and d.landmarks is not None
               and abs(pose_from_landmarks(d.landmarks)[0]) <= FRONTAL_YAW]
    return ActiveJudgement(result=result, frontal=frontal, judged=judged, frames_received=len(frames),
                           cpu_ms=round((time.process_time() - start) * 1000, 1))
