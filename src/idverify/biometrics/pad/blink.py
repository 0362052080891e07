"""Active liveness by blinking: eye aspect ratio from MediaPipe's face mesh, run with ai-edge-litert.

Owns: measuring how open the eyes are in one frame (:func:`EyeLandmarker.eye_aspect_ratio`) and judging a series
of frames against a blink challenge. Must not touch: cameras, identity, decisions.

Eye aspect ratio (Soukupová & Čech 2016): EAR = (|p2−p6| + |p3−p5|) / (2 |p1−p4|) over six eye-contour points,
about 0.25–0.35 open and under about 0.15 closed, independent of scale and in-plane rotation. The six points come
from MediaPipe's 468-point face mesh (``models/face_landmark.tflite``, Apache-2.0): the face box from YuNet is
enlarged 1.5×, turned upright using YuNet's eye line, cut to 192×192 and run through the model; EAR is computed in
the crop's own coordinates (no need to map back). dlib's 68-point model would also give eye contours but its
training data forbids commercial use.

A blink is judged relative to the patient's own open-eye level (the 80th percentile of the series), so narrow eyes
are not penalised: some frame must fall below :data:`CLOSED_RATIO` of that level and a later frame must be open
again. The runtime (``ai-edge-litert``) is optional: :func:`blink_available` tells the workflow whether to offer
this challenge or fall back to the head turn.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.face.detect import Detection
from idverify.biometrics.models_path import model_file
from idverify.biometrics.pad.challenge import ChallengeResult
from idverify.errors import ConfigError

MESH_MODEL = "face_landmark.tflite"
MESH_SIZE = 192
ROI_SCALE = 1.5
#: MediaPipe mesh indices p1..p6 for each eye (subject's right, subject's left).
EYE_POINTS = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))
CLOSED_RATIO = 0.6
MIN_OPEN_EAR = 0.18
MIN_FACE_SHARE = 0.7


def blink_available() -> bool:
    """True when the litert runtime is installed (the model itself ships in ``models/``)."""
    try:
        import ai_edge_litert.interpreter  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def eye_aspect_ratio(points: NDArray[np.float32]) -> float:
    """EAR of one eye from its six contour points p1..p6 (rows)."""
    p1, p2, p3, p4, p5, p6 = (points[i].astype(np.float64) for i in range(6))
    width = float(np.linalg.norm(p1 - p4)) or 1e-6
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * width))


class EyeLandmarker:
    """Face mesh on a YuNet detection. Thread-safe (one interpreter, one lock)."""

    def __init__(self) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ConfigError("blink challenge unavailable: install ai-edge-litert (or use the head-turn "
                              "challenge)") from exc
        self._interp: Any = Interpreter(model_path=str(model_file(MESH_MODEL)), num_threads=1)
        self._interp.allocate_tensors()
        self._input = self._interp.get_input_details()[0]["index"]
        outputs = self._interp.get_output_details()
        self._mesh = next(o["index"] for o in outputs if int(np.prod(o["shape"])) == 1404)
        self._flag = next(o["index"] for o in outputs if int(np.prod(o["shape"])) == 1)
        self._lock = threading.Lock()

    def mesh(self, rgb: NDArray[np.uint8], det: Detection) -> NDArray[np.float32] | None:
        """468×3 landmarks in the upright 192×192 crop, or None when the model sees no face."""
        x, y, w, h = det.box
        cx, cy = x + w / 2, y + h / 2
        angle = 0.0
        if det.landmarks is not None:
            dx, dy = det.landmarks[1] - det.landmarks[0]
            angle = math.degrees(math.atan2(float(dy), float(dx)))
        side = ROI_SCALE * max(w, h)
        rot = cv2.getRotationMatrix2D((cx, cy), angle, MESH_SIZE / side)
        rot[0, 2] += MESH_SIZE / 2 - cx
        rot[1, 2] += MESH_SIZE / 2 - cy
        crop = cv2.warpAffine(rgb, rot, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        tensor = (crop.astype(np.float32) / 255.0)[None]
        with self._lock:
            self._interp.set_tensor(self._input, tensor)
            self._interp.invoke()
            raw = np.asarray(self._interp.get_tensor(self._mesh), dtype=np.float32).reshape(468, 3)
            flag = float(np.asarray(self._interp.get_tensor(self._flag)).ravel()[-1])
        if 1.0 / (1.0 + math.exp(-flag)) < 0.5:
            return None
        return raw

    def eye_aspect_ratio(self, rgb: NDArray[np.uint8], det: Detection) -> float | None:
        """Mean EAR of both eyes, or None when the mesh model finds no face in the box."""
        mesh = self.mesh(rgb, det)
        if mesh is None:
            return None
        return float(np.mean([eye_aspect_ratio(mesh[list(idx), :2]) for idx in EYE_POINTS]))


_landmarkers: dict[str, EyeLandmarker] = {}
_landmarkers_lock = threading.Lock()


def get_eye_landmarker() -> EyeLandmarker:
    with _landmarkers_lock:
        if "default" not in _landmarkers:
            _landmarkers["default"] = EyeLandmarker()
        return _landmarkers["default"]


@dataclass(frozen=True)
class BlinkChallenge:
    """Ask for a blink; judge the per-frame EAR series (``None`` where no single face was seen)."""

    @property
    def instruction(self) -> str:
        return "ask the patient to look at the camera and blink once"

    def evaluate(self, ears: Sequence[float | None]) -> ChallengeResult:
        n = len(ears)
        seen = [e for e in ears if e is not None]

        def result(passed: bool, code: str, reason: str, depth: float | None = None) -> ChallengeResult:
            return ChallengeResult(kind="blink", direction="", passed=passed, reason=reason, code=code,
                                   max_yaw_towards=depth, frames=n, frames_with_face=len(seen))

        if n == 0 or len(seen) < max(3, MIN_FACE_SHARE * n):
            return result(False, "blink_face_not_visible",
                          "face not visible in enough frames — keep the face in view and blink")
        open_level = float(np.percentile(seen, 80))
        if open_level < MIN_OPEN_EAR:
            return result(False, "blink_eyes_not_open",
                          "eyes not open enough to see a blink — ask the patient to open the eyes and "
                          "look at the camera")
        closed_at = next((i for i, e in enumerate(ears) if e is not None and e <= CLOSED_RATIO * open_level), None)
        depth = round(min(seen) / open_level, 3)
        if closed_at is None:
            return result(False, "blink_not_seen", "no blink seen — ask the patient to blink once", depth)
        reopened = any(e is not None and e >= 0.85 * open_level for e in ears[closed_at + 1:])
        if not reopened:
            return result(False, "blink_not_reopened",
                          "eyes did not open again after the blink — repeat the challenge", depth)
        return result(True, "challenge_passed", "blink seen", depth)
