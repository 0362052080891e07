"""The face pipeline on public sample images: detection failures, EXIF, 1:1 scores, templates, documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idverify.bench.calibrate_face import simulate_chip_photo
from idverify.biometrics.face.engine import ALGORITHM_VERSION, FaceEngine, compare
from idverify.biometrics.face.image import load_image
from idverify.biometrics.operating_points import load_operating_points
from idverify.errors import BiometricError

OBAMA = "face_recognition_examples/barack_obama"
BIDEN = "face_recognition_examples/joe_biden"


def test_no_face_and_several_faces_are_refused(engine: FaceEngine, face_dir: Path) -> None:
    with pytest.raises(BiometricError) as err:
        engine.analyse(np.full((480, 640, 3), 128, dtype=np.uint8))
    assert err.value.details["reason"] == "no_face"
    assert "camera" in err.value.message
    group = face_dir / "face_recognition_examples/_multi_face/examples__two_people.jpg"
    with pytest.raises(BiometricError) as err:
        engine.analyse(group)
    assert err.value.details["reason"] == "several_faces"
    sample = engine.analyse(group, largest_only=True, enforce_quality=False)
    assert sample.encoding.shape == (128,)


def test_exif_rotated_capture_is_found(engine: FaceEngine, face_dir: Path) -> None:
    # Silent-Face's bona fide sample is stored sideways with EXIF orientation 6.
    sample = engine.analyse(face_dir / "silentface_pad_samples/image_T1.jpg", enforce_quality=False)
    assert sample.detection.detector == "yunet"
    assert sample.landmarks is not None and sample.landmarks.shape == (5, 2)


def test_same_person_scores_above_threshold_and_others_below(engine: FaceEngine, face_dir: Path) -> None:
    thr = load_operating_points().point("face", 0.001).threshold
    a = engine.analyse(face_dir / OBAMA / "examples__obama-720p.jpg")
    b = engine.analyse(face_dir / OBAMA / "examples__knn_examples__train__obama__obama2.jpg")
    c = engine.analyse(face_dir / BIDEN / "examples__biden.jpg")
    assert a.algorithm_version == ALGORITHM_VERSION
    assert abs(float(np.linalg.norm(a.encoding)) - 1.0) < 1e-5
    assert compare(a, b) >= thr
    assert compare(a, c) < thr
    assert compare(a, b) == pytest.approx(compare(b, a))


def test_enrolment_template_from_several_captures(engine: FaceEngine, face_dir: Path) -> None:
    files = ["examples__obama-720p.jpg", "examples__obama-1080p.jpg", "tests__test_images__obama3.jpg"]
    samples = [engine.analyse(face_dir / OBAMA / f) for f in files]
    tpl = engine.make_template(samples)
    assert tpl.n_samples == 3
    probe = engine.analyse(face_dir / OBAMA / "examples__knn_examples__test__obama1.jpg")
    impostor = engine.analyse(face_dir / BIDEN / "examples__knn_examples__train__biden__biden2.jpg")
    assert compare(probe, tpl) > compare(impostor, tpl)
    assert compare(probe, tpl) >= load_operating_points().point("face", 0.001).threshold


def test_person_to_document_photo(engine: FaceEngine, face_dir: Path) -> None:
    """A 102×126 JPEG chip-style photo of the same person matches; another person's does not."""
    live = engine.analyse(face_dir / OBAMA / "examples__obama-720p.jpg")
    same_rgb = load_image(face_dir / OBAMA / "examples__knn_examples__train__obama__obama.jpg")
    other_rgb = load_image(face_dir / BIDEN / "examples__biden.jpg")
    same_chip = simulate_chip_photo(same_rgb, engine.analyse(same_rgb).box)
    other_chip = simulate_chip_photo(other_rgb, engine.analyse(other_rgb).box)
    assert load_image(same_chip).shape == (126, 102, 3)
    thr = load_operating_points().point("document_photo", 0.001).threshold
    assert engine.compare_to_document(live, same_chip) >= thr
    assert engine.compare_to_document(live, other_chip) < thr


def test_engine_is_shared_and_thread_safe(engine: FaceEngine, face_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from idverify.biometrics.face.engine import get_face_engine

    assert get_face_engine() is engine
    rgb = load_image(face_dir / OBAMA / "examples__obama-480p.jpg")
    reference = engine.analyse(rgb).encoding
    with ThreadPoolExecutor(max_workers=3) as pool:
        encodings = list(pool.map(lambda _: engine.analyse(rgb).encoding, range(3)))
    for enc in encodings:
        np.testing.assert_allclose(enc, reference, atol=1e-6)
