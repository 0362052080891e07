"""Quality gates: pose maths on synthetic landmarks, gate order, and degraded real captures."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from idverify.biometrics.face.engine import FaceEngine
from idverify.biometrics.face.image import load_image
from idverify.biometrics.face.quality import REASONS, judge, pose_from_landmarks
from idverify.errors import BiometricError

FRONTAL = np.array([[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]], dtype=np.float32)


def test_pose_of_a_frontal_face() -> None:
    yaw, roll, pitch = pose_from_landmarks(FRONTAL)
    assert abs(yaw) < 1e-6 and abs(roll) < 1e-6
    assert pitch == pytest.approx(0.5)


def test_pose_follows_nose_and_eye_line() -> None:
    turned = FRONTAL.copy()
    turned[2, 0] += 16  # nose towards image right by 0.4 inter-eye distances
    assert pose_from_landmarks(turned)[0] == pytest.approx(0.4)
    # rotate the whole face by 20 degrees: roll follows, yaw and pitch do not change
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    rotated = (FRONTAL - 60) @ np.array([[c, s], [-s, c]], dtype=np.float32) + 60
    yaw, roll, pitch = pose_from_landmarks(rotated)
    assert roll == pytest.approx(20, abs=1e-3)
    assert abs(yaw) < 1e-5 and pitch == pytest.approx(0.5, abs=1e-5)


def _measures(**over: float | None) -> dict[str, float | None]:
    base: dict[str, float | None] = {"face_width_px": 150.0, "inter_eye_px": 60.0, "sharpness": 300.0,
                                     "brightness": 120.0, "clipped": 0.01, "outside": 0.0, "yaw": 0.0,
                                     "roll_deg": 0.0, "pitch": 0.55, "detector_score": 0.9, "eyes_open": None}
    base.update(over)
    return base


@pytest.mark.parametrize(("override", "reason"), [
    ({}, "ok"),
    ({"inter_eye_px": 20.0}, "too_small"),
    ({"sharpness": 3.0}, "blurred"),
    ({"brightness": 20.0}, "too_dark"),
    ({"brightness": 240.0}, "too_bright"),
    ({"clipped": 0.6}, "too_bright"),
    ({"yaw": 0.7}, "pose_yaw"),
    ({"roll_deg": -40.0}, "pose_roll"),
    ({"pitch": 0.05}, "pose_pitch"),
    ({"outside": 0.4}, "out_of_frame"),
    ({"eyes_open": 0.08}, "eyes_closed"),
    ({"eyes_open": 0.25}, "ok"),
    ({"inter_eye_px": 20.0, "sharpness": 3.0}, "too_small"),  # first gate in fixing order wins
])
def test_gates(override: dict[str, float], reason: str) -> None:
    q = judge(_measures(**override), "live")
    assert q.reason == reason
    assert q.ok is (reason == "ok")
    assert q.message == REASONS[reason]


def test_document_gates_are_relaxed_for_chip_photos() -> None:
    small = _measures(inter_eye_px=20.0, sharpness=8.0)
    assert judge(small, "live").reason == "too_small"
    assert judge(small, "document").ok


def test_degraded_captures_get_actionable_reasons(engine: FaceEngine, face_dir: Path) -> None:
    rgb = load_image(face_dir / "face_recognition_examples/barack_obama/examples__obama-720p.jpg")
    assert engine.analyse(rgb).quality.ok
    blurred = cv2.GaussianBlur(rgb, (0, 0), 6).astype(np.uint8)
    dark = (rgb.astype(np.float32) * 0.2).astype(np.uint8)
    for image, reason in ((blurred, "blurred"), (dark, "too_dark")):
        with pytest.raises(BiometricError) as err:
            engine.analyse(image)
        assert err.value.details["reason"] == reason, err.value.details
        assert err.value.message == REASONS[reason]
    with pytest.raises(BiometricError) as err:
        engine.analyse(face_dir / "face_recognition_examples/barack_obama/examples__obama-240p.jpg")
    assert err.value.details["reason"] == "too_small"


def test_enrolment_capture_measures_open_eyes(engine: FaceEngine, face_dir: Path) -> None:
    from idverify.biometrics.pad.blink import blink_available

    if not blink_available():
        pytest.skip("ai-edge-litert not installed")
    sample = engine.analyse(face_dir / "face_recognition_examples/barack_obama/examples__obama-720p.jpg",
                            check_eyes=True)
    assert sample.quality.ok
    eyes = sample.quality.measures["eyes_open"]
    assert eyes is not None and eyes > 0.15
    assert engine.analyse(face_dir / "face_recognition_examples/barack_obama/examples__obama-720p.jpg"
                          ).quality.measures["eyes_open"] is None
