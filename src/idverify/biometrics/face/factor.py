"""Glue from face captures to the fusion layer: one call per factor that never raises for capture problems.

Owns: running analyse → (PAD) → compare for one check and packing the outcome into a
:class:`~idverify.biometrics.fusion.FactorResult` (status, score, liveness, versions, quality summary).
Must not touch: thresholds or decisions (``decide`` applies the stage policy), storage, devices.

A capture the nurse can fix (no face, blurred, two faces …) becomes ``status="quality_failed"`` with the gate's
reason code, so the decision is *retry* with that message instead of an exception reaching the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idverify.biometrics.face.engine import ALGORITHM_VERSION, FaceEngine, FaceSample, compare, get_face_engine
from idverify.biometrics.face.image import RGBImage, as_rgb_array
from idverify.biometrics.face.template import FaceTemplate
from idverify.biometrics.fusion import FactorResult
from idverify.biometrics.reasons import Reason, ReasonCode, reason_of_error
from idverify.errors import BiometricError

ImageInput = RGBImage | bytes | str | Path


def _failed(factor: str, exc: BiometricError, status: str = "quality_failed") -> FactorResult:
    reason = exc.details.get("reason") if isinstance(exc.details, dict) else None
    return FactorResult(factor=factor, status=status, reason=reason_of_error(exc),  # type: ignore[arg-type]
                        model_version=ALGORITHM_VERSION, details={"quality_reason": reason})


def face_factor(frames: ImageInput | Sequence[ImageInput], reference: FaceTemplate | FaceSample, *,
                liveness: bool = True, challenge: Any = None, engine: FaceEngine | None = None) -> FactorResult:
    """Face against the enrolment template. ``frames``: one capture or a short series (first frame is matched;
    all are used for liveness — the mean of several frames' encodings raised the false-match rate at the shipped
    threshold, :mod:`idverify.bench.face_probes`). ``challenge``: an optional head-turn or blink challenge from
    :mod:`idverify.biometrics.pad`."""
    return face_factor_and_sample(frames, reference, liveness=liveness, challenge=challenge, engine=engine)[0]


def face_factor_and_sample(frames: ImageInput | Sequence[ImageInput], reference: FaceTemplate | FaceSample, *,
                           liveness: bool = True, challenge: Any = None,
                           engine: FaceEngine | None = None) -> tuple[FactorResult, FaceSample | None]:
    """:func:`face_factor` plus the analysed first frame, so a document-photo comparison can reuse it (each frame
    is decoded once and the face detected once per frame)."""
    engine = engine or get_face_engine()
    items: list[ImageInput] = list(frames) if isinstance(frames, list | tuple) else [frames]  # type: ignore[list-item]
    if not items:
        return FactorResult(factor="face", status="not_captured", model_version=ALGORITHM_VERSION), None
    try:
        rgb_frames = [as_rgb_array(item) for item in items]
        sample = engine.analyse(rgb_frames[0])
    except BiometricError as exc:
        return _failed("face", exc), None
    details: dict[str, Any] = {"quality": sample.quality.as_dict()["measures"], "detector": sample.detection.detector}
    live: bool | None = None
    live_reason: Reason | None = None
    if liveness:
        from idverify.biometrics.pad import get_pad_engine

        try:
            pad = get_pad_engine().check(rgb_frames, challenge=challenge, first_detection=sample.detection)
        except BiometricError as exc:
            return _failed("face", exc), sample
        live, live_reason = pad.live, None if pad.live else pad.reason_code
        details["pad"] = pad.as_dict()
    result = FactorResult(factor="face", status="ok", score=round(compare(sample, reference), 6), live=live,
                          liveness_reason=live_reason, model_version=ALGORITHM_VERSION, details=details)
    return result, sample


def document_photo_factor(live: FaceSample | ImageInput, document_photo: bytes | None, *,
                          engine: FaceEngine | None = None) -> FactorResult:
    """Live face against the document's chip photo (``None`` when the card had no readable photo)."""
    if document_photo is None:
        return FactorResult(factor="document_photo", status="acquisition_failed",
                            reason=Reason(ReasonCode.DOCUMENT_PHOTO_UNREADABLE),
                            model_version=ALGORITHM_VERSION)
    engine = engine or get_face_engine()
    try:
        live_sample = live if isinstance(live, FaceSample) else engine.analyse(live)
    except BiometricError as exc:
        return _failed("document_photo", exc)
    try:
        doc = engine.analyse(document_photo, purpose="document", largest_only=True)
    except BiometricError as exc:
        return _failed("document_photo", exc, status="acquisition_failed")
    return FactorResult(factor="document_photo", status="ok", score=round(compare(live_sample, doc), 6),
                        model_version=ALGORITHM_VERSION,
                        details={"document_quality": doc.quality.as_dict()["measures"]})
