"""Face biometrics: image loading, detection, quality gates, encoding, 1:1 and 1:N matching.

Owns: everything that turns a face image into scores. Must not touch: patients, storage, HTTP, decisions.
Heavy models load lazily on first use (:func:`get_face_engine`); importing this package loads none of them.

Public interface::

    load_image(bytes | path) -> np.ndarray            # upright RGB uint8
    get_face_engine() -> FaceEngine                   # one per process, thread-safe
    FaceEngine.analyse(image, purpose="live") -> FaceSample   # raises BiometricError with a nurse-readable reason
    FaceEngine.make_template(samples) -> FaceTemplate # .to_bytes() / FaceTemplate.from_bytes()
    compare(a, b) -> float                            # cosine similarity, higher = same person
    FaceEngine.compare_to_document(live, document_photo) -> float
    FaceGallery (idverify.biometrics.face.search)     # in-memory 1:N, add/remove/search top-k
    thresholds: load_operating_points().point("face" | "document_photo", target_fmr)
                                                      (idverify.biometrics.operating_points)
    face_factor_and_sample(frames, template, liveness=True, challenge=None) -> (FactorResult, FaceSample | None)
    document_photo_factor(live_sample, chip_photo_bytes) -> FactorResult   (idverify.biometrics.face.factor)
"""

from __future__ import annotations

from idverify.biometrics.face.engine import (
    ALGORITHM_VERSION,
    FaceEngine,
    FaceSample,
    compare,
    get_face_engine,
    model_versions,
)
from idverify.biometrics.face.image import load_image
from idverify.biometrics.face.quality import FaceQuality
from idverify.biometrics.face.template import FaceTemplate

__all__ = [
    "ALGORITHM_VERSION",
    "FaceEngine",
    "FaceQuality",
    "FaceSample",
    "FaceTemplate",
    "compare",
    "get_face_engine",
    "load_image",
    "model_versions",
]
