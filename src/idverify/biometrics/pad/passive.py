"""Passive liveness with Silent-Face's MiniFASNet models (Apache-2.0, ONNX, run by onnxruntime).

Owns: the PAD engine, its preprocessing (the models' own crop rule), score fusion of the two models and
:class:`PadResult`. Must not touch: identity matching, decisions, cameras.

Each model sees the face box enlarged by its own factor (V2: 2.7×, V1SE: 4.0× — context such as a phone or paper
edge around the face is what they learn from), resized to 80×80, BGR, float 0–255, and returns 3 logits whose
index 1 is "live". As upstream, the softmax outputs of both models are averaged; the capture is judged bona fide
when the averaged live probability reaches :data:`LIVE_THRESHOLD`. For several frames the per-frame live
probabilities are averaged.

Honesty about evidence: the only attack samples we hold are Silent-Face's 3 demo images (2 attacks, 1 bona fide),
so :data:`LIVE_THRESHOLD` is upstream's decision rule (argmax ≈ 0.5), not a calibrated operating point. The models
expect camera frames with |yaw|, |pitch| < 30°; web photos or scans are out of their domain.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import structlog
from numpy.typing import NDArray

from idverify.biometrics.face.detect import Detection, FaceDetector
from idverify.biometrics.face.image import RGBImage, as_rgb_array
from idverify.biometrics.models_path import model_file
from idverify.biometrics.pad.blink import BlinkChallenge
from idverify.biometrics.pad.challenge import ChallengeResult, HeadTurnChallenge
from idverify.biometrics.reasons import Reason, ReasonCode
from idverify.errors import BiometricError, ErrorCode

log = structlog.get_logger(__name__)

PAD_MODELS: tuple[tuple[str, float], ...] = (("MiniFASNetV2.onnx", 2.7), ("MiniFASNetV1SE.onnx", 4.0))
PAD_ALGORITHM_VERSION = "idverify-pad/1 minifasnet-v2@2.7+v1se@4.0 mean-softmax"
LIVE_THRESHOLD = 0.5
INPUT_SIZE = 80

ImageInput = RGBImage | bytes | str | Path


@dataclass(frozen=True)
class PadResult:
    """Liveness outcome recorded with every face check.

    ``live`` is the overall verdict (passive score ≥ threshold, and the active challenge passed when one was asked
    for). ``reason`` is the English sentence (logs, bench), ``reason_code`` the reason a screen shows when the
    capture is not live (None when live); ``frame_scores`` keeps the per-frame passive live probabilities.
    """

    live: bool
    score: float
    threshold: float
    reason: str
    frame_scores: list[float] = field(default_factory=list)
    challenge: ChallengeResult | None = None
    algorithm_version: str = PAD_ALGORITHM_VERSION
    models: tuple[str, ...] = tuple(name for name, _ in PAD_MODELS)
    reason_code: Reason | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reason_code"] = None if self.reason_code is None else self.reason_code.as_dict()
        out["challenge"] = None if self.challenge is None else self.challenge.as_dict()
        out["models"] = list(self.models)
        return out


def crop_for_model(rgb: RGBImage, box: tuple[float, float, float, float], scale: float) -> NDArray[np.float32]:
    """The model's input tensor: the box enlarged by ``scale`` (shrunk to fit the image), 80×80, BGR, NCHW."""
    src_h, src_w = rgb.shape[:2]
    x, y, bw, bh = box
    bw, bh = max(bw, 1.0), max(bh, 1.0)
    scale = min((src_h - 1) / bh, (src_w - 1) / bw, scale)
    new_w, new_h = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    left, top = cx - new_w / 2, cy - new_h / 2
    right, bottom = cx + new_w / 2, cy + new_h / 2
    # shift the window back inside the image instead of padding (the upstream rule)
    if left < 0:
        right, left = right - left, 0
    if top < 0:
        bottom, top = bottom - top, 0
    if right > src_w - 1:
        left, right = left - (right - src_w + 1), src_w - 1
    if bottom > src_h - 1:
        top, bottom = top - (bottom - src_h + 1), src_h - 1
    crop = rgb[int(top):int(bottom) + 1, int(left):int(right) + 1]
    resized = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    bgr = cv2.cvtColor(resized, cv2.COLOR_RGB2BGR).astype(np.float32)
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    z = logits.astype(np.float64) - float(np.max(logits))
    e = np.exp(z)
    return np.asarray(e / e.sum(), dtype=np.float64)


class PadEngine:
    """Passive PAD plus the optional head-turn challenge. Thread-safe; one per process via :func:`get_pad_engine`."""

    def __init__(self, detector: FaceDetector | None = None) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # tiny models; don't fight the API's other work for cores
        self._sessions = [
            (ort.InferenceSession(str(model_file(name)), options, providers=["CPUExecutionProvider"]), scale)
            for name, scale in PAD_MODELS
        ]
        self._detector = detector
        self._lock = threading.Lock()
        log.info("pad_engine_loaded", algorithm=PAD_ALGORITHM_VERSION)

    def _detect(self, rgb: RGBImage) -> Detection | None:
        if self._detector is None:
            from idverify.biometrics.face.engine import get_face_engine

            self._detector = get_face_engine().detector
        faces = self._detector.detect(rgb)
        return faces[0] if len(faces) == 1 else None

    def live_probability(self, rgb: RGBImage, box: tuple[float, float, float, float]) -> float:
        """Mean over both models of the softmax "live" probability for one face."""
        probs = []
        with self._lock:
            for session, scale in self._sessions:
                logits = session.run(None, {session.get_inputs()[0].name: crop_for_model(rgb, box, scale)})[0]
                probs.append(_softmax(np.asarray(logits, dtype=np.float32).ravel())[1])
        return float(np.mean(probs))

    def check(self, frames: ImageInput | Sequence[ImageInput], *,
              challenge: HeadTurnChallenge | BlinkChallenge | None = None,
              threshold: float = LIVE_THRESHOLD,
              first_detection: Detection | None = None) -> PadResult:
        """Liveness of one image or a series of frames, optionally judged against an active challenge.

        With a head-turn challenge the passive score uses the frames where the patient faces the camera (the models
        were trained on near-frontal faces); a blink challenge measures the eye aspect ratio in every frame.
        ``first_detection``: the face engine's detection on the first frame, reused instead of detecting again.
        Raises :class:`BiometricError` when no frame holds exactly one face.
        """
        items: list[ImageInput] = list(frames) if isinstance(frames, list | tuple) else [frames]  # type: ignore[list-item]
        if not items:
            raise BiometricError("no frames to check for liveness; capture again", code=ErrorCode.BIOMETRIC_QUALITY,
                                 details={"reason": "pad_no_frames"})
        dets: list[tuple[RGBImage, Detection | None]] = []
        for i, item in enumerate(items):
            rgb = as_rgb_array(item)
            dets.append((rgb, first_detection if i == 0 and first_detection is not None else self._detect(rgb)))
        usable = [(rgb, d) for rgb, d in dets if d is not None]
        if not usable:
            raise BiometricError("no single face found for the liveness check — only the patient should be in view, "
                                 "facing the camera", code=ErrorCode.BIOMETRIC_QUALITY, details={"reason": "no_face"})
        active = None
        if isinstance(challenge, BlinkChallenge):
            from idverify.biometrics.pad.blink import get_eye_landmarker

            marker = get_eye_landmarker()
            active = challenge.evaluate([None if d is None else marker.eye_aspect_ratio(rgb, d) for rgb, d in dets])
        elif challenge is not None:
            active = challenge.evaluate([None if d is None else d.landmarks for _, d in dets])
            frontal = [(rgb, d) for rgb, d in usable if _is_frontal(d)]
            usable = frontal or usable
        scores = [round(self.live_probability(rgb, d.box), 4) for rgb, d in usable]
        score = float(np.mean(scores))
        passive_ok = score >= threshold
        code: Reason | None = None
        if not passive_ok:
            reason = "liveness failed — the capture looks like a photo or screen; capture the patient directly"
            code = Reason(ReasonCode.PAD_SPOOF_SUSPECTED)
        elif active is not None and not active.passed:
            reason = f"liveness challenge failed — {active.reason}"
            code = Reason.of(ReasonCode.PAD_CHALLENGE_FAILED, Reason.parse(active.code))
        else:
            reason = "live"
        return PadResult(live=passive_ok and (active is None or active.passed), score=round(score, 4),
                         threshold=threshold, reason=reason, frame_scores=scores, challenge=active,
                         reason_code=code)


def _is_frontal(det: Detection) -> bool:
    from idverify.biometrics.face.quality import pose_from_landmarks
    from idverify.biometrics.pad.challenge import FRONTAL_YAW

    return det.landmarks is not None and abs(pose_from_landmarks(det.landmarks)[0]) <= FRONTAL_YAW


_engines: dict[str, PadEngine] = {}
_engines_lock = threading.Lock()


def get_pad_engine() -> PadEngine:
    """The process-wide PAD engine (ONNX sessions created on first use)."""
    with _engines_lock:
        if "default" not in _engines:
            _engines["default"] = PadEngine()
        return _engines["default"]
