"""The stage check's per-factor record is completed in one place (workflow.factors.check_record): the document's
record, the challenge under the face factor, and why a factor has no PAD result."""

from __future__ import annotations

from typing import Any

from idverify.biometrics.fusion import FactorPolicy, StagePolicy
from idverify.workflow.factors import check_record

DOCUMENT = {"status": "ok", "document_type": "cn_resident_id"}
CHALLENGE = {"challenge_id": "ch-1", "status": "judged", "passed": True}


def _policy(**factors: FactorPolicy) -> StagePolicy:
    return StagePolicy(stage="egg_retrieval", factors=factors)


def test_pad_notes_and_challenge() -> None:
    policy = _policy(face=FactorPolicy(required=True, threshold=0.4, require_liveness=True),
                     fingerprint=FactorPolicy(required=True, threshold=30.0))
    decided: dict[str, dict[str, Any]] = {"face": {"status": "quality_failed"},
                                          "fingerprint": {"status": "ok", "pad": "not available"}}
    record = check_record(decided, policy, document=DOCUMENT, challenge=CHALLENGE)
    assert record == {"face": {"status": "quality_failed", "challenge": CHALLENGE, "pad": "not run: no usable face"},
                      "fingerprint": {"status": "ok", "pad": "not available"}, "document": DOCUMENT}
    assert decided["face"] == {"status": "quality_failed"}  # the decision's record is not modified
    # a fingerprint that was not captured has no PAD either; a face PAD result is kept as it is
    record = check_record({"face": {"status": "ok", "pad": "live"}, "fingerprint": {"status": "not_captured"}},
                          policy, document=DOCUMENT, challenge=None)
    assert record["face"]["pad"] == "live" and "challenge" not in record["face"]
    assert record["fingerprint"]["pad"] == "not available"


def test_face_without_liveness_and_challenge_without_face() -> None:
    no_pad = _policy(face=FactorPolicy(required=True, threshold=0.4, require_liveness=False))
    record = check_record({"face": {"status": "ok"}}, no_pad, document=DOCUMENT, challenge=None)
    assert record["face"]["pad"] == "not run: not required by the stage policy"
    # a challenge answered at a stage that does not use the face gets its own face entry, with no PAD note
    fingers_only = _policy(fingerprint=FactorPolicy(required=True, threshold=30.0))
    record = check_record({"fingerprint": {"status": "ok"}}, fingers_only, document=DOCUMENT, challenge=CHALLENGE)
    assert record["face"] == {"required": False, "status": "not_captured", "challenge": CHALLENGE}
    assert list(record) == ["fingerprint", "document", "face"] and record["document"] == DOCUMENT
