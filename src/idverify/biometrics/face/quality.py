"""Face image quality gates: is this capture good enough to compare, and if not, what should the nurse change?

Owns: measuring a detected face (size, sharpness, exposure, pose) and turning the first failed gate into a reason a
nurse can act on. Must not touch: detection, encodings, decisions about identity.

The measures are deliberately simple and cheap (ISO/IEC 29794-5 / OFIQ-inspired, but OFIQ's models cannot ship
offline): inter-eye distance from YuNet's landmarks, variance of the Laplacian on a fixed-size grey face crop
(scale-independent sharpness), mean luminance and clipped-pixel share in the face box, and a pose estimate from the
five landmarks (yaw from the nose's offset between the eyes, roll from the eye line, pitch from where the nose sits
between the eye line and the mouth line). Eyes-open needs eyelid landmarks, which five points do not carry: when the
caller asks for it (enrolment), the eye aspect ratio from the face-mesh model (:mod:`idverify.biometrics.pad.blink`)
is put in ``eyes_open`` and gated; otherwise ``eyes_open`` is ``None`` (not assessed). dlib's 68-point model is not
used for this because its training data forbids commercial use.

Limits were set so that every usable image of the public dev sets passes (see tests/biometrics/face) while the
deliberately bad fixtures (partial faces, 240p frame, synthetic blur/darkness) fail; they are not tuned on clinic
captures yet.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.face.detect import Detection

Purpose = Literal["live", "document"]


@dataclass(frozen=True)
class QualityLimits:
    min_inter_eye_px: float
    min_sharpness: float
    min_brightness: float
    max_brightness: float
    max_clipped: float
    max_abs_yaw: float  # nose offset / inter-eye distance; ~0.55 at 30°
    max_abs_roll_deg: float
    pitch_range: tuple[float, float]  # nose position between eye line (0) and mouth line (1)
    max_outside: float  # share of the face box that may lie outside the image
    min_eye_aspect: float = 0.15  # eye aspect ratio below which the eyes count as closed (open ≈ 0.2–0.35)


LIMITS: dict[str, QualityLimits] = {
    # Camera capture at the workstation: the patient can fix anything we ask for.
    "live": QualityLimits(min_inter_eye_px=28.0, min_sharpness=12.0, min_brightness=45.0, max_brightness=215.0,
                          max_clipped=0.25, max_abs_yaw=0.45, max_abs_roll_deg=25.0, pitch_range=(0.2, 0.85),
                          max_outside=0.10),
    # A chip/card photo is what it is (102×126 on Chinese ID cards): only refuse what cannot be compared at all.
    "document": QualityLimits(min_inter_eye_px=14.0, min_sharpness=4.0, min_brightness=30.0, max_brightness=235.0,
                              max_clipped=0.45, max_abs_yaw=0.6, max_abs_roll_deg=30.0, pitch_range=(0.1, 0.95),
                              max_outside=0.2),
}

#: reason code -> message shown to the nurse
REASONS: dict[str, str] = {
    "ok": "good quality",
    "no_face": "no face found — ask the patient to face the camera, remove mask or hat, and check the lighting",
    "several_faces": "more than one face in view — only the patient should be in front of the camera",
    "out_of_frame": "face partly outside the picture — centre the patient's face in the frame",
    "too_small": "face too small — ask the patient to move closer to the camera",
    "blurred": "image blurred — ask the patient to hold still and capture again",
    "too_dark": "face too dark — turn towards the light or switch on the desk lamp",
    "too_bright": "face over-exposed — avoid direct light or reflections on the face",
    "pose_yaw": "head turned — ask the patient to look straight at the camera",
    "pose_roll": "head tilted — ask the patient to keep the head upright",
    "pose_pitch": "head raised or lowered — ask the patient to look straight at the camera",
    "eyes_closed": "eyes closed — ask the patient to open the eyes and look at the camera",
}


@dataclass(frozen=True)
class FaceQuality:
    """Result of the gates. ``reason`` is a code from :data:`REASONS`; ``message`` is what the nurse reads."""

    ok: bool
    reason: str
    message: str
    purpose: str
    measures: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pose_from_landmarks(landmarks: NDArray[np.float32]) -> tuple[float, float, float]:
    """(yaw, roll_deg, pitch) proxies from YuNet's 5 landmarks.

    yaw: horizontal offset of the nose tip from the eye midpoint, in inter-eye distances (0 = frontal; sign
    follows the image's x axis). roll: angle of the eye line in degrees. pitch: where the nose tip sits between
    the eye line (0) and the mouth line (1); about 0.45–0.6 for a frontal face.
    """
    eye_a, eye_b, nose, mouth_a, mouth_b = (landmarks[i].astype(np.float64) for i in range(5))
    eye_mid = (eye_a + eye_b) / 2
    mouth_mid = (mouth_a + mouth_b) / 2
    eye_vec = eye_b - eye_a
    iod = float(np.linalg.norm(eye_vec)) or 1e-6
    ux = eye_vec / iod  # along the eye line
    uy = np.array([-ux[1], ux[0]])  # perpendicular, pointing down the face
    yaw = float(np.dot(nose - eye_mid, ux) / iod)
    roll = math.degrees(math.atan2(float(eye_vec[1]), float(eye_vec[0])))
    span = float(np.dot(mouth_mid - eye_mid, uy)) or 1e-6
    pitch = float(np.dot(nose - eye_mid, uy) / span)
    return yaw, roll, pitch


def _face_crop(rgb: NDArray[np.uint8], det: Detection) -> NDArray[np.uint8]:
    h, w = rgb.shape[:2]
    x, y, bw, bh = det.box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w, math.ceil(x + bw)), min(h, math.ceil(y + bh))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros((4, 4), dtype=np.uint8)
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    return np.asarray(grey, dtype=np.uint8)


def measure(rgb: NDArray[np.uint8], det: Detection) -> dict[str, float | None]:
    """Every quality measure of one detected face (numbers only; no judgement)."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = det.box
    inside_w = max(0.0, min(w, x + bw) - max(0.0, x))
    inside_h = max(0.0, min(h, y + bh) - max(0.0, y))
    outside = 1.0 - (inside_w * inside_h) / max(bw * bh, 1e-6)
    grey = _face_crop(rgb, det)
    # Sharpness on a fixed 112-px-wide crop, so a large face is not "sharper" just for having more pixels.
    norm = cv2.resize(grey, (112, max(4, round(112 * grey.shape[0] / max(grey.shape[1], 1)))),
                      interpolation=cv2.INTER_AREA)
    sharp = float(cv2.Laplacian(norm, cv2.CV_64F).var())
    clipped = float(np.mean((grey <= 8) | (grey >= 247)))
    out: dict[str, float | None] = {
        "face_width_px": round(bw, 1),
        "inter_eye_px": None if det.inter_eye_px is None else round(det.inter_eye_px, 1),
        "sharpness": round(sharp, 2),
        "brightness": round(float(grey.mean()), 1),
        "clipped": round(clipped, 4),
        "outside": round(max(0.0, outside), 4),
        "detector_score": round(det.score, 4),
        "yaw": None,
        "roll_deg": None,
        "pitch": None,
        "eyes_open": None,
    }
    if det.landmarks is not None:
        yaw, roll, pitch = pose_from_landmarks(det.landmarks)
        out.update(yaw=round(yaw, 3), roll_deg=round(roll, 1), pitch=round(pitch, 3))
    return out


def judge(measures: dict[str, float | None], purpose: Purpose = "live") -> FaceQuality:
    """Apply the gates for ``purpose`` in the order a nurse would fix them; the first failure is the reason."""
    lim = LIMITS[purpose]
    m = measures

    def fail(code: str) -> FaceQuality:
        return FaceQuality(ok=False, reason=code, message=REASONS[code], purpose=purpose, measures=m)

    iod = m.get("inter_eye_px")
    size = iod if iod is not None else (m["face_width_px"] or 0.0) * 0.4  # HOG fallback: no landmarks
    if (m["outside"] or 0.0) > lim.max_outside:
        return fail("out_of_frame")
    if size < lim.min_inter_eye_px:
        return fail("too_small")
    if (m["brightness"] or 0.0) < lim.min_brightness:
        return fail("too_dark")
    if (m["brightness"] or 0.0) > lim.max_brightness or (m["clipped"] or 0.0) > lim.max_clipped:
        return fail("too_bright")
    if (m["sharpness"] or 0.0) < lim.min_sharpness:
        return fail("blurred")
    yaw, roll, pitch = m.get("yaw"), m.get("roll_deg"), m.get("pitch")
    if yaw is not None and abs(yaw) > lim.max_abs_yaw:
        return fail("pose_yaw")
    if roll is not None and abs(roll) > lim.max_abs_roll_deg:
        return fail("pose_roll")
    if pitch is not None and not lim.pitch_range[0] <= pitch <= lim.pitch_range[1]:
        return fail("pose_pitch")
    eyes = m.get("eyes_open")
    if eyes is not None and eyes < lim.min_eye_aspect:
        return fail("eyes_closed")
    return FaceQuality(ok=True, reason="ok", message=REASONS["ok"], purpose=purpose, measures=m)


def assess(rgb: NDArray[np.uint8], det: Detection, purpose: Purpose = "live") -> FaceQuality:
    return judge(measure(rgb, det), purpose)
