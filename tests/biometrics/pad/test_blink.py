"""Blink challenge: EAR maths, the judgement on EAR series, and the face-mesh EAR on real open-eye photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idverify.biometrics.pad.blink import BlinkChallenge, blink_available, eye_aspect_ratio


def test_ear_known_answer_and_invariance() -> None:
    # p1..p6: corners at (0,0) and (10,0), lids 3 px above and below
    eye = np.array([[0, 0], [3, -3], [7, -3], [10, 0], [7, 3], [3, 3]], dtype=np.float32)
    assert eye_aspect_ratio(eye) == pytest.approx(0.6)
    c, s = np.cos(0.4), np.sin(0.4)
    turned = eye @ np.array([[c, s], [-s, c]], dtype=np.float32) * 3 + 50
    assert eye_aspect_ratio(turned) == pytest.approx(0.6, rel=1e-5)
    closed = eye.copy()
    closed[[1, 2], 1] = -0.3
    closed[[4, 5], 1] = 0.3
    assert eye_aspect_ratio(closed) == pytest.approx(0.06)


@pytest.mark.parametrize(("ears", "passed", "reason_part"), [
    ([0.30, 0.31, 0.12, 0.08, 0.29, 0.30], True, "blink seen"),
    ([0.22, 0.22, 0.21, 0.10, 0.21, 0.22], True, "blink seen"),  # narrow eyes: relative to own level
    ([0.30, 0.29, 0.30, 0.28, 0.31, 0.30], False, "no blink"),
    ([0.30, 0.30, 0.31, 0.30, 0.10, 0.09], False, "did not open again"),
    ([0.10, 0.09, 0.10, 0.11], False, "not open enough"),
    ([0.30, None, None, None, 0.10, 0.30], False, "not visible"),
])
def test_blink_judgement(ears: list[float | None], passed: bool, reason_part: str) -> None:
    result = BlinkChallenge().evaluate(ears)
    assert result.passed is passed
    assert reason_part in result.reason
    assert result.kind == "blink"


@pytest.mark.skipif(not blink_available(), reason="ai-edge-litert not installed")
def test_open_eyes_measure_open_on_real_photos(shared_data: Path) -> None:
    from idverify.biometrics.face.engine import get_face_engine
    from idverify.biometrics.face.image import load_image
    from idverify.biometrics.pad.blink import get_eye_landmarker

    folder = shared_data / "face/face_recognition_examples/barack_obama"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    engine, marker = get_face_engine(), get_eye_landmarker()
    for name in ("examples__obama-720p.jpg", "examples__knn_examples__test__obama1.jpg"):
        rgb = load_image(folder / name)
        det = engine.detector.detect(rgb)[0]
        ear = marker.eye_aspect_ratio(rgb, det)
        assert ear is not None and 0.18 < ear < 0.45
        # a still photo gives a flat EAR series: the blink challenge fails on it
        assert not BlinkChallenge().evaluate([ear] * 6).passed
    blank = np.full((200, 200, 3), 128, dtype=np.uint8)
    from idverify.biometrics.face.detect import Detection

    assert marker.eye_aspect_ratio(blank, Detection((50, 50, 100, 100), 0.9, None, "test")) is None
