"""decide(): the stage decision rules, normalisation, and policies built from the calibrated files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idverify.biometrics.fusion import (
    FACE_ALONE,
    FACE_ALONE_MISMATCH,
    FactorPolicy,
    FactorResult,
    StagePolicy,
    decide,
    factor_policy,
    normalise,
)
from idverify.biometrics.operating_points import OperatingPoint, OperatingPoints, load_operating_points
from idverify.biometrics.reasons import Reason, ReasonCode
from idverify.errors import ConfigError

FACE = FactorPolicy(required=True, threshold=0.94, impostor_mean=0.86, target_fmr=0.001, require_liveness=True,
                    source="test")
FINGER = FactorPolicy(required=True, threshold=40.0, impostor_mean=10.0, target_fmr=0.001, source="test")
DOC = FactorPolicy(required=False, threshold=0.93, impostor_mean=0.85, source="test")
POLICY = StagePolicy(stage="embryo_transfer", factors={"face": FACE, "fingerprint": FINGER, "document_photo": DOC})


def face(score: float = 0.97, live: bool | None = True, status: str = "ok") -> FactorResult:
    return FactorResult("face", status, score if status == "ok" else None, live=live,  # type: ignore[arg-type]
                        model_version="face-v")


def finger(score: float = 80.0, status: str = "ok", reason: ReasonCode | None = None) -> FactorResult:
    return FactorResult("fingerprint", status, score if status == "ok" else None,  # type: ignore[arg-type]
                        reason=None if reason is None else Reason(reason), model_version="fp-v")


def test_accept_when_all_required_pass() -> None:
    d = decide(POLICY, [face(), finger()])
    assert d.outcome == "accept"
    assert d.factors["face"]["passed"] and d.factors["fingerprint"]["passed"]
    assert d.factors["face"]["threshold"] == 0.94 and d.factors["face"]["model_version"] == "face-v"
    assert d.factors["document_photo"]["status"] == "not_captured"
    assert d.fused_score is not None and d.fused_score > 0
    assert d.as_record()["policy"]["stage"] == "embryo_transfer"


def test_face_mismatch_rejects_with_nurse_reason() -> None:
    d = decide(POLICY, [face(score=0.90), finger()])
    assert d.outcome == "reject"
    assert d.codes == [ReasonCode.FACE_MISMATCH]
    assert d.reasons[0].params == {"score": 0.9, "threshold": 0.94}  # shown beside the label


def test_liveness_failure_rejects_even_with_a_good_score() -> None:
    d = decide(POLICY, [face(score=0.99, live=False), finger()])
    assert d.outcome == "reject"
    assert d.reasons[0].code is ReasonCode.LIVENESS_FAILED and d.reasons[0].params["factor"] == "face"


def test_missing_liveness_asks_for_retry() -> None:
    d = decide(POLICY, [face(live=None), finger()])
    assert d.outcome == "retry"


def test_quality_failure_asks_for_retry_with_the_capture_message() -> None:
    d = decide(POLICY, [face(), finger(status="quality_failed")])
    assert d.outcome == "retry"
    assert d.codes == [ReasonCode.FINGERPRINT_UNUSABLE]
    d = decide(POLICY, [face(), finger(status="quality_failed", reason=ReasonCode.FINGER_QUALITY_LOW)])
    assert d.codes == [ReasonCode.FINGER_QUALITY_LOW]
    d = decide(POLICY, [face()])
    assert d.outcome == "retry" and d.codes == [ReasonCode.FINGERPRINT_NOT_CAPTURED]


def test_mismatch_beats_retry() -> None:
    d = decide(POLICY, [face(score=0.5), finger(status="acquisition_failed")])
    assert d.outcome == "reject"


def test_optional_factor_rules() -> None:
    doc_bad = FactorResult("document_photo", "ok", 0.80)
    assert decide(POLICY, [face(), finger(), doc_bad]).outcome == "reject"
    lenient = StagePolicy("iui", {"face": FACE, "document_photo": FactorPolicy(
        required=False, threshold=0.93, reject_on_mismatch=False)})
    d = decide(lenient, [face(), doc_bad])
    assert d.outcome == "accept"
    assert ReasonCode.OPTIONAL_FACTOR_BELOW_THRESHOLD in d.codes
    d = decide(POLICY, [face(), finger(), FactorResult("document_photo", "acquisition_failed")])
    assert d.outcome == "accept"
    skipped = d.reasons[d.codes.index(ReasonCode.OPTIONAL_FACTOR_SKIPPED)]
    assert skipped.params["factor"] == "document_photo"
    assert skipped.cause == Reason(ReasonCode.DOCUMENT_PHOTO_UNUSABLE)


def test_fused_minimum() -> None:
    strict = StagePolicy("x", {"face": FACE, "fingerprint": FINGER}, fused_min=0.5)
    assert decide(strict, [face(score=0.945), finger(score=41.0)]).outcome == "reject"
    assert decide(strict, [face(score=0.99), finger(score=90.0)]).outcome == "accept"


def test_invalid_inputs() -> None:
    with pytest.raises(ConfigError):
        StagePolicy("none", {"face": FactorPolicy(required=False, threshold=0.9)})
    with pytest.raises(ConfigError, match=r"unknown factor.*iris"):
        StagePolicy("typo", {"face": FACE, "iris": FactorPolicy(required=True, threshold=0.5)})
    with pytest.raises(ConfigError):
        decide(POLICY, [face(), face()])
    with pytest.raises(ConfigError):
        decide(POLICY, [FactorResult("face", "ok", None, live=True)])


@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 100), st.booleans())
def test_decide_invariants(face_score: float, doc_score: float, finger_score: float, live: bool) -> None:
    results = [face(face_score, live), finger(finger_score), FactorResult("document_photo", "ok", doc_score)]
    d = decide(POLICY, results)
    assert d == decide(POLICY, results)  # pure
    all_pass = live and face_score >= 0.94 and finger_score >= 40.0 and doc_score >= 0.93
    assert (d.outcome == "accept") is all_pass
    assert d.outcome in ("accept", "reject")  # everything captured: never retry
    assert d.reasons


def test_normalise_maps_threshold_to_zero_and_impostor_mean_to_minus_one() -> None:
    assert normalise(0.94, FACE) == pytest.approx(0.0)
    assert normalise(0.86, FACE) == pytest.approx(-1.0)
    assert normalise(45.0, FactorPolicy(required=True, threshold=40.0)) == pytest.approx(5.0)


def test_factor_policy_takes_the_calibrated_points_it_is_given() -> None:
    points = load_operating_points()
    fp = factor_policy("face", points=points, required=True, target_fmr=0.001, require_liveness=True)
    live = points.point("face", 0.001)
    assert (fp.threshold, fp.impostor_mean, fp.target_fmr) == (live.threshold, live.impostor_mean, 0.001)
    assert fp.source == "thresholds_face.json:live/fmr_0.001" and fp.required and fp.require_liveness
    doc = factor_policy("document_photo", points=points, required=False, target_fmr=0.01)
    assert doc.source.endswith("document/fmr_0.01") and not doc.required
    # whatever points the caller passes are used as they are (fusion reads no file)
    own = OperatingPoints(points={"fingerprint": {"fmr_0.001": OperatingPoint(33.5, 0.001, 8.0, "own:fmr_0.001")}},
                          algorithm_versions={})
    fing = factor_policy("fingerprint", points=own, required=True)
    assert (fing.threshold, fing.impostor_mean, fing.source) == (33.5, 8.0, "own:fmr_0.001")
    with pytest.raises(ConfigError, match=r"no operating point 'fmr_0\.0001'"):
        factor_policy("fingerprint", points=own, required=True, target_fmr=0.0001)
    with pytest.raises(ConfigError, match="unknown factor"):
        factor_policy("iris", points=points, required=True)


def test_fusion_imports_nothing_that_reads_files() -> None:
    """The module docstring's promise (no models, files or storage), checked on its source: at run time fusion
    imports only the standard library's data modules and the error types; the operating points come in as values."""
    import ast

    import idverify.biometrics.fusion as fusion

    tree = ast.parse(Path(fusion.__file__).read_text(encoding="utf-8"))
    type_only = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and ast.unparse(node.test) == "TYPE_CHECKING" for inner in ast.walk(node)}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    # the reason codes: an enumeration and a value type (their catalogues are read only when a reason is rendered)
    assert imported <= {"__future__", "collections.abc", "dataclasses", "typing", "idverify.errors",
                        "idverify.biometrics.reasons"}, imported


# --- the face deciding alone ---------------------------------------------------------------------------------------
FACE_ALONE_POINT = FactorPolicy(required=True, threshold=0.94, impostor_mean=0.86, target_fmr=0.001,
                                alone_threshold=0.96, alone_target_fmr=0.0001, alone_source="test:alone")
OPTIONAL_FINGER = FactorPolicy(required=False, threshold=40.0, impostor_mean=10.0, target_fmr=0.001)


def test_a_face_between_the_two_thresholds_passes_beside_a_fingerprint_only() -> None:
    both = StagePolicy("egg_retrieval", {"face": FACE_ALONE_POINT, "fingerprint": FINGER})
    beside = decide(both, [face(0.95, live=None), finger()])
    assert beside.outcome == "accept" and not beside.face_alone and FACE_ALONE not in beside.codes
    assert beside.factors["face"]["threshold"] == 0.94 and "decided_alone" not in beside.factors["face"]

    refused = StagePolicy("egg_retrieval", {"face": FACE_ALONE_POINT})  # fingerprint refused in the consent
    alone = decide(refused, [face(0.95, live=None)])
    assert alone.outcome == "reject" and alone.face_alone
    assert alone.codes == [FACE_ALONE_MISMATCH, FACE_ALONE]
    record = alone.factors["face"]
    assert (record["threshold"], record["target_fmr"], record["threshold_source"]) == (0.96, 0.0001, "test:alone")
    assert record["decided_alone"] and alone.as_record()["face_alone"] is True

    sure = decide(refused, [face(0.97, live=None)])
    assert sure.outcome == "accept" and sure.codes == [ReasonCode.IDENTITY_CONFIRMED, FACE_ALONE]


def test_an_optional_fingerprint_missing_or_unusable_leaves_the_face_alone() -> None:
    policy = StagePolicy("iui", {"face": FACE_ALONE_POINT, "fingerprint": OPTIONAL_FINGER})
    for missing in ([], [finger(status="not_captured", reason=ReasonCode.FINGERPRINT_NOT_ENROLLED)],
                    [finger(status="quality_failed", reason=ReasonCode.FINGER_QUALITY_LOW)]):
        d = decide(policy, [face(0.95, live=None), *missing])
        assert d.outcome == "reject" and d.face_alone and FACE_ALONE_MISMATCH in d.codes, missing
    assert decide(policy, [face(0.95, live=None), finger()]).outcome == "accept"


def test_a_required_fingerprint_missing_is_a_retry_not_a_face_alone_decision() -> None:
    d = decide(StagePolicy("iui", {"face": FACE_ALONE_POINT, "fingerprint": FINGER}),
               [face(0.97, live=None), finger(status="not_captured")])
    assert d.outcome == "retry" and not d.face_alone and FACE_ALONE not in d.codes


def test_a_face_below_both_thresholds_is_a_plain_mismatch() -> None:
    d = decide(StagePolicy("iui", {"face": FACE_ALONE_POINT}), [face(0.90, live=None)])
    assert d.outcome == "reject" and d.codes == [ReasonCode.FACE_MISMATCH, FACE_ALONE]


def test_factor_policy_takes_the_face_alone_point() -> None:
    points = load_operating_points()
    fp = factor_policy("face", points=points, required=True, target_fmr=0.001, alone_target_fmr=0.0001)
    strict = points.point("face", 0.0001)
    assert fp.alone_threshold == strict.threshold > fp.threshold
    assert fp.alone_source == "thresholds_face.json:live/fmr_0.0001" and fp.alone_target_fmr == 0.0001
    assert fp.alone().threshold == strict.threshold and fp.alone().target_fmr == 0.0001
    with pytest.raises(ConfigError, match="looser"):
        factor_policy("face", points=points, required=True, target_fmr=0.001, alone_target_fmr=0.01)
    with pytest.raises(ConfigError, match="face option"):
        factor_policy("fingerprint", points=points, required=True, alone_target_fmr=0.0001)
