"""Turning captures into per-factor results for :func:`idverify.biometrics.fusion.decide`, and the decision's
per-factor record into the complete record a stage check stores (:func:`check_record`).

Each function runs the matchers and PAD, catches the capture problems the biometric core reports (no face, two
faces, blurred, finger quality too low) and turns them into ``quality_failed`` results with the reason code the
nurse reads in her language, so one bad capture leads to RETRY with an instruction, never an error page.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.face import FaceSample, FaceTemplate, get_face_engine
from idverify.biometrics.face.detect import Detection
from idverify.biometrics.face.image import as_rgb_array
from idverify.biometrics.fingerprint.extract import extract
from idverify.biometrics.fingerprint.match import match
from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION as FINGER_VERSION
from idverify.biometrics.fingerprint.template import FingerprintTemplate
from idverify.biometrics.fusion import FactorResult, StagePolicy
from idverify.biometrics.reasons import Reason, ReasonCode, reason_of_error
from idverify.documents.model import IdentityDocument
from idverify.errors import BiometricError

MAX_FACE_FRAMES = 5


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


@dataclass(frozen=True)
class FaceFrames:
    """The analysed face frames (the first ``MAX_FACE_FRAMES``): the usable samples, the largest face the detector
    found in each frame (None: no face), whether or not that frame passed, and the last capture problem."""

    samples: list[FaceSample]
    faces: list[Detection | None]
    error: BiometricError | None


def face_samples(frames: Sequence[NDArray[np.uint8]]) -> FaceFrames:
    engine = get_face_engine()
    samples: list[FaceSample] = []
    largest: list[Detection | None] = []
    error: BiometricError | None = None
    for frame in frames[:MAX_FACE_FRAMES]:
        face = None
        try:
            rgb = as_rgb_array(frame)
            faces = engine.detector.detect(rgb)  # once: the analysis and the reference photo both use it
            face = faces[0] if faces else None
            samples.append(engine.analyse(rgb, faces=faces))
        except BiometricError as exc:
            error = exc
        largest.append(face)
    return FaceFrames(samples=samples, faces=largest, error=error)


def liveness(frames: Sequence[NDArray[np.uint8]]) -> tuple[bool | None, Reason | None, dict[str, Any]]:
    from idverify.biometrics.pad.passive import get_pad_engine

    try:
        result = get_pad_engine().check(list(frames[:MAX_FACE_FRAMES]))
    except BiometricError as exc:
        return None, reason_of_error(exc), {}
    return result.live, None if result.live else result.reason_code, {"pad_score": result.score,
                                                                "pad_threshold": result.threshold,
                                                                "pad_version": result.algorithm_version}


def face_factor(frames: Sequence[NDArray[np.uint8]], enrolled: FaceTemplate | None, *, check_liveness: bool
                ) -> FactorResult:
    """The face core's factor (analyse → PAD → compare), or ``not_captured`` when nothing is enrolled to compare."""
    from idverify.biometrics.face.factor import face_factor as core_face_factor

    if frames and enrolled is None:
        return FactorResult(factor="face", status="not_captured",
                            reason=Reason(ReasonCode.FACE_NOT_ENROLLED))
    if enrolled is None:
        return FactorResult(factor="face", status="not_captured")
    start = time.perf_counter()
    result = core_face_factor(list(frames[:MAX_FACE_FRAMES]), enrolled, liveness=check_liveness)
    return replace(result, details={**result.details, "elapsed_ms": _ms(start)})


def finger_templates(images: Sequence[tuple[str, NDArray[np.uint8]]]
                     ) -> tuple[list[tuple[str, FingerprintTemplate]], list[tuple[str, Reason]]]:
    """Extracted templates and, for each image that failed, (position, reason code)."""
    ok: list[tuple[str, FingerprintTemplate]] = []
    failed: list[tuple[str, Reason]] = []
    for position, image in images:
        try:
            ok.append((position, extract(image)))
        except BiometricError as exc:
            failed.append((position, reason_of_error(exc)))
    return ok, failed


def fingerprint_factor(images: Sequence[tuple[str, NDArray[np.uint8]]],
                       enrolled: Sequence[tuple[str | None, FingerprintTemplate]]) -> FactorResult:
    start = time.perf_counter()
    if not images:
        return FactorResult(factor="fingerprint", status="not_captured")
    if not enrolled:
        return FactorResult(factor="fingerprint", status="not_captured",
                            reason=Reason(ReasonCode.FINGERPRINT_NOT_ENROLLED))
    probes, failed = finger_templates(images)
    if not probes:
        position, reason = failed[-1]
        return FactorResult(factor="fingerprint", status="quality_failed", reason=reason,
                            model_version=FINGER_VERSION, details={"position": position})
    best, best_pos = -1.0, None
    for position, probe in probes:
        for enrolled_pos, tpl in enrolled:
            if position != "unknown" and enrolled_pos not in (None, "unknown", position):
                continue
            score = match(probe, tpl)
            if score > best:
                best, best_pos = score, position
    if best < 0:  # the captured finger is not one that was enrolled
        return FactorResult(factor="fingerprint", status="quality_failed", model_version=FINGER_VERSION,
                            reason=Reason(ReasonCode.FINGER_NOT_ENROLLED))
    quality = max(p.quality for _, p in probes)
    return FactorResult(factor="fingerprint", status="ok", score=round(best, 4), model_version=FINGER_VERSION,
                        details={"position": best_pos, "finger_quality": quality, "pad": "not available",
                                 "elapsed_ms": _ms(start)})


def document_photo_factor(frame: NDArray[np.uint8] | FaceSample | None, document: IdentityDocument | None
                          ) -> FactorResult:
    """Live face against the document's chip photo; ``not_captured`` when there is no document or live face."""
    from idverify.biometrics.face.factor import document_photo_factor as core_document_factor

    if document is None or frame is None:
        return FactorResult(factor="document_photo", status="not_captured",
                            reason=Reason(ReasonCode.DOCUMENT_OR_FACE_MISSING))
    photo = document.photo if document.photo_available else None
    return core_document_factor(frame, photo)


def _missing_pad(factor: str, policy: StagePolicy) -> str | None:
    """Why a factor's record has no PAD result (None: nothing to say)."""
    if factor == "fingerprint":
        return "not available"  # the sensor has no presentation-attack detection
    face = policy.factors.get("face") if factor == "face" else None
    if face is None:
        return None
    return "not run: " + ("no usable face" if face.require_liveness else "not required by the stage policy")


def check_record(decided: Mapping[str, Mapping[str, Any]], policy: StagePolicy, *, document: Mapping[str, Any],
                 challenge: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The per-factor record of a stage check: the decision's record of each factor, the document's, the active
    liveness challenge's under the face factor (a face entry is made for it when the stage does not use the
    face), and, for a factor without a PAD result, why (``pad``)."""
    record = {name: dict(entry) for name, entry in decided.items()}
    record["document"] = dict(document)
    if challenge is not None:
        record.setdefault("face", {"required": False, "status": "not_captured"})["challenge"] = dict(challenge)
    for name, entry in record.items():
        note = _missing_pad(name, policy) if "pad" not in entry else None
        if note is not None:
            entry["pad"] = note
    return record
