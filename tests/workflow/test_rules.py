"""The document, challenge and overlay rules (workflow/rules.py): each outcome with its stable reason code, its
nurse message and its record. Pure functions: no database, no camera — the document rule gets a digest and a
card-owner lookup, the challenge rule a judgement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from idverify.auth.roles import Principal, Role
from idverify.biometrics.pad.active import ActiveJudgement
from idverify.biometrics.pad.challenge import ChallengeResult
from idverify.biometrics.reasons import Reason as Told
from idverify.biometrics.reasons import ReasonCode
from idverify.documents.model import DocumentChecks, IdentityDocument
from idverify.store.models import Patient
from idverify.workflow.challenges import IssuedChallenge
from idverify.workflow.rules import Reason, RuleOutcome, Verdict, challenge_rule, document_rule, overlay

PATIENT = Patient(id="p-1", document_type="cn_resident_id", document_lookup="digest:11010119900307457X")
OTHERS = {("cn_resident_id", "110101199001010011"): "p-2"}


def _digest(number: str) -> str:
    return f"digest:{number}"


def _doc(number: str | None = "11010119900307457X", *, kind: Any = "cn_resident_id", checksum: bool = True,
         expired: bool = False, passive_auth: Any = "not_applicable") -> IdentityDocument:
    return IdentityDocument(document_type=kind, document_number=number, source="reader",
                            checks=DocumentChecks(checksum=checksum, expired=expired, passive_auth=passive_auth))


def _document(document: IdentityDocument | None, required: bool = True) -> tuple[Verdict, list[tuple[str, str]]]:
    asked: list[tuple[str, str]] = []

    def owner_of(kind: str, number: str) -> str | None:
        asked.append((kind, number))
        return OTHERS.get((kind, number))

    return document_rule(document, PATIENT, required=required, digest=_digest, owner_of=owner_of), asked


@pytest.mark.parametrize(("document", "required", "outcome", "reason", "status", "message"), [
    (None, True, RuleOutcome.RETRY, Reason.DOCUMENT_NOT_READ, "not_captured", "place the card on the reader"),
    (None, False, RuleOutcome.SKIP, Reason.DOCUMENT_NOT_PRESENTED, "not_captured", None),
    (_doc(None), True, RuleOutcome.RETRY, Reason.DOCUMENT_NUMBER_UNREADABLE, "bad", "read the card again"),
    (_doc(passive_auth="failed"), True, RuleOutcome.REJECT, Reason.DOCUMENT_SIGNATURE_INVALID, "invalid",
     "possible forgery"),
    (_doc(checksum=False), True, RuleOutcome.REJECT, Reason.DOCUMENT_CHECKSUM_FAILED, "invalid", "checksum"),
    (_doc("110101199001010011"), True, RuleOutcome.REJECT, Reason.CARD_OF_ANOTHER_PATIENT, "mismatch",
     "card belongs to another patient"),
    (_doc("E12345678", kind="passport"), True, RuleOutcome.REJECT, Reason.CARD_NOT_THE_PATIENTS, "mismatch",
     "card does not belong to this patient"),
    (_doc(expired=True), True, RuleOutcome.PASS, Reason.DOCUMENT_EXPIRED, "ok", None),
    (_doc(), False, RuleOutcome.PASS, Reason.DOCUMENT_OK, "ok", None),
])
def test_document_rule(document: IdentityDocument | None, required: bool, outcome: RuleOutcome, reason: Reason,
                       status: str, message: str | None) -> None:
    verdict, asked = _document(document, required)
    assert (verdict.outcome, verdict.reason) == (outcome, reason)
    assert verdict.record is not None and verdict.record["status"] == status
    if message is None:
        assert verdict.message is None
    else:
        assert verdict.message is not None and message in verdict.message
    # the owner of a card is looked up only when the card is not the patient's, and then recorded
    assert bool(asked) == (status == "mismatch")
    if status == "mismatch":
        assert verdict.record["card_owner_patient_id"] == OTHERS.get(asked[0])
    if document is not None and status != "bad":
        assert verdict.record["checks"] == document.checks.as_dict() and verdict.record["source"] == "reader"


def test_expired_card_is_noted() -> None:
    verdict, _ = _document(_doc(expired=True))
    assert verdict.record == {"document_type": "cn_resident_id", "source": "reader", "status": "ok",
                              "note": "document expired",
                              "checks": {"checksum": True, "expired": True, "passive_auth": "not_applicable"}}
    assert "note" not in (_document(_doc())[0].record or {})


NURSE = Principal(role=Role.NURSE, workstation_id="ws", method="session", staff_id="s", credential_id="c")


def _issued() -> IssuedChallenge:
    return IssuedChallenge(id="ch-1", kind="head_turn", direction="left", cycle_id="c", stage="egg_retrieval",
                           partner=None, workstation_id="ws", holder="staff:s", issued_at=0.0,
                           expires_at=datetime(2026, 1, 1, tzinfo=UTC))


def _judgement(passed: bool) -> ActiveJudgement:
    result = ChallengeResult(kind="head_turn", direction="left", passed=passed,
                             reason="turned left" if passed else "no turn towards the left", max_yaw_towards=3.0,
                             frames=12, frames_with_face=12)
    return ActiveJudgement(result=result, frontal=[0], judged=[], frames_received=30, cpu_ms=12.5)


@pytest.mark.parametrize(("issued", "passed", "required", "outcome", "reason", "status"), [
    (False, None, True, RuleOutcome.RETRY, Reason.CHALLENGE_NOT_ANSWERED, "not_answered"),
    (False, None, False, RuleOutcome.SKIP, Reason.CHALLENGE_NOT_ASKED, None),
    (True, None, True, RuleOutcome.RETRY, Reason.CHALLENGE_NO_FRAMES, "not_captured"),
    (True, None, False, RuleOutcome.NOTE, Reason.CHALLENGE_NO_FRAMES, "not_captured"),
    (True, True, True, RuleOutcome.PASS, Reason.CHALLENGE_PASSED, "judged"),
    (True, False, True, RuleOutcome.RETRY, Reason.CHALLENGE_FAILED, "judged"),
    (True, False, False, RuleOutcome.NOTE, Reason.CHALLENGE_FAILED, "judged"),
])
def test_challenge_rule(issued: bool, passed: bool | None, required: bool, outcome: RuleOutcome, reason: Reason,
                        status: str | None) -> None:
    judgement = None if passed is None else _judgement(passed)
    verdict = challenge_rule(_issued() if issued else None, judgement, required=required)
    assert (verdict.outcome, verdict.reason) == (outcome, reason)
    assert (verdict.record or {}).get("status") == status
    assert (verdict.message is None) == (outcome in (RuleOutcome.PASS, RuleOutcome.SKIP))
    if issued:
        assert verdict.record is not None and verdict.record["challenge_id"] == "ch-1"
    if judgement is not None:
        assert verdict.record is not None and verdict.record["required"] is required
        assert verdict.record["frames_received"] == 30 and verdict.record["passed"] is passed
    if reason is Reason.CHALLENGE_FAILED:
        assert verdict.message == "liveness challenge failed — no turn towards the left"


PASS_DOC = Verdict(RuleOutcome.PASS, Reason.DOCUMENT_OK)
SKIP_CH = Verdict(RuleOutcome.SKIP, Reason.CHALLENGE_NOT_ASKED)
RETRY_DOC = Verdict(RuleOutcome.RETRY, Reason.DOCUMENT_NOT_READ, "read the card")
REJECT_DOC = Verdict(RuleOutcome.REJECT, Reason.CARD_OF_ANOTHER_PATIENT, "card belongs to another patient")
RETRY_CH = Verdict(RuleOutcome.RETRY, Reason.CHALLENGE_FAILED, "turn again")
NOTE_CH = Verdict(RuleOutcome.NOTE, Reason.CHALLENGE_FAILED, "turn noted")


@pytest.mark.parametrize(("decision", "reasons", "document", "challenge", "outcome", "expected"), [
    ("accept", ["identity confirmed"], PASS_DOC, SKIP_CH, "accept", ["identity confirmed"]),
    # a card that is someone else's rejects whatever the biometrics said, and leads the reasons
    ("accept", ["identity confirmed"], REJECT_DOC, SKIP_CH, "reject", ["card belongs to another patient"]),
    ("retry", ["face not captured"], REJECT_DOC, RETRY_CH, "reject",
     ["card belongs to another patient", "face not captured", "turn again"]),
    # a card to read again turns an accept into a retry; a retry or reject keeps its outcome and gains the reason
    ("accept", ["identity confirmed"], RETRY_DOC, SKIP_CH, "retry", ["read the card"]),
    ("reject", ["face does not match"], RETRY_DOC, SKIP_CH, "reject", ["face does not match", "read the card"]),
    # a challenge to repeat turns an accept into a retry; where not required it is only noted
    ("accept", ["identity confirmed"], PASS_DOC, RETRY_CH, "retry", ["turn again"]),
    ("accept", ["identity confirmed"], PASS_DOC, NOTE_CH, "accept", ["identity confirmed", "turn noted"]),
    ("accept", ["identity confirmed"], RETRY_DOC, RETRY_CH, "retry", ["read the card", "turn again"]),
    ("reject", ["face does not match"], PASS_DOC, RETRY_CH, "reject", ["face does not match", "turn again"]),
])
def test_overlay(decision: Any, reasons: list[str], document: Verdict, challenge: Verdict, outcome: str,
                 expected: list[str]) -> None:
    given = [Told(CODES[r]) for r in reasons]
    before = list(given)
    verdict = overlay(decision, given, document, challenge)
    assert (verdict.outcome, [r.code for r in verdict.reasons]) == (outcome, [CODES[e] for e in expected])
    assert given == before  # the decision's own reasons are not modified


#: The reasons of the overlay table above, by the words that stand for them there.
CODES = {"identity confirmed": ReasonCode.IDENTITY_CONFIRMED, "face not captured": ReasonCode.FACE_NOT_CAPTURED,
         "card belongs to another patient": ReasonCode.CARD_OF_ANOTHER_PATIENT,
         "read the card": ReasonCode.DOCUMENT_NOT_READ, "face does not match": ReasonCode.FACE_MISMATCH,
         "turn again": ReasonCode.CHALLENGE_FAILED, "turn noted": ReasonCode.CHALLENGE_FAILED}


def test_a_failed_challenge_is_told_with_the_challenge_own_reason_as_its_cause() -> None:
    result = ChallengeResult(kind="head_turn", direction="left", passed=False, reason="head turned the wrong way",
                             max_yaw_towards=-0.5, frames=12, frames_with_face=12, code="turn_wrong_way")
    judgement = ActiveJudgement(result=result, frontal=[0], judged=[], frames_received=30, cpu_ms=12.5)
    told = challenge_rule(_issued(), judgement, required=True).told
    assert told == Told.of(ReasonCode.CHALLENGE_FAILED, Told(ReasonCode.TURN_WRONG_WAY))
