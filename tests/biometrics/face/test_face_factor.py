"""face_factor / document_photo_factor: capture problems become retry-able factor results, not exceptions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from idverify.biometrics.face.engine import FaceEngine
from idverify.biometrics.face.factor import document_photo_factor, face_factor
from idverify.biometrics.fusion import StagePolicy, decide, factor_policy
from idverify.biometrics.operating_points import load_operating_points
from idverify.biometrics.reasons import Reason, ReasonCode

OBAMA = "face_recognition_examples/barack_obama"


def test_blank_frame_is_a_quality_failure_and_the_decision_says_retry(engine: FaceEngine, face_dir: Path) -> None:
    tpl = engine.make_template([engine.analyse(face_dir / OBAMA / "examples__obama-720p.jpg")])
    result = face_factor(np.full((480, 640, 3), 120, dtype=np.uint8), tpl, liveness=False, engine=engine)
    assert result.status == "quality_failed"
    assert result.details["quality_reason"] == "no_face"
    policy = StagePolicy("egg_retrieval",
                         {"face": factor_policy("face", points=load_operating_points(), required=True)})
    decision = decide(policy, [result])
    assert decision.outcome == "retry"
    assert decision.codes == [ReasonCode.NO_FACE]


def test_genuine_capture_is_accepted_with_versions_recorded(engine: FaceEngine, face_dir: Path) -> None:
    tpl = engine.make_template([engine.analyse(face_dir / OBAMA / "examples__obama-1080p.jpg")])
    result = face_factor(face_dir / OBAMA / "examples__knn_examples__train__obama__obama2.jpg", tpl,
                         liveness=False, engine=engine)
    assert result.status == "ok" and result.score is not None and result.live is None
    policy = StagePolicy("iui", {"face": factor_policy("face", points=load_operating_points(), required=True)})
    decision = decide(policy, [result])
    assert decision.outcome == "accept", decision.reasons
    assert decision.factors["face"]["model_version"] == result.model_version


def test_missing_document_photo_is_an_acquisition_failure(engine: FaceEngine, face_dir: Path) -> None:
    result = document_photo_factor(face_dir / OBAMA / "examples__obama-720p.jpg", None, engine=engine)
    assert result.status == "acquisition_failed"
    assert result.reason == Reason(ReasonCode.DOCUMENT_PHOTO_UNREADABLE)


def test_one_analysis_feeds_face_pad_and_document(engine: FaceEngine, face_dir: Path) -> None:
    from idverify.bench.calibrate_face import simulate_chip_photo
    from idverify.biometrics.face.factor import face_factor_and_sample
    from idverify.biometrics.face.image import load_image

    enrol = load_image(face_dir / OBAMA / "examples__obama-720p.jpg")
    enrol_sample = engine.analyse(enrol)
    tpl = engine.make_template([enrol_sample])
    chip = simulate_chip_photo(enrol, enrol_sample.box)
    face, sample = face_factor_and_sample(face_dir / OBAMA / "examples__obama-1080p.jpg", tpl, liveness=True,
                                          engine=engine)
    assert sample is not None and face.status == "ok"
    assert face.live is not None and "pad" in face.details
    doc = document_photo_factor(sample, chip, engine=engine)
    assert doc.status == "ok" and doc.score is not None
    policy = StagePolicy("embryo_transfer", {
        "face": factor_policy("face", points=load_operating_points(), required=True),
        "document_photo": factor_policy("document_photo", points=load_operating_points(), required=True)})
    decision = decide(policy, [face, doc])
    assert decision.outcome == "accept", decision.reasons
