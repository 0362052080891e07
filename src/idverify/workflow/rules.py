"""The rules applied on top of the biometric decision: the document presented, the active liveness challenge, and
how both overlay the outcome of :func:`idverify.biometrics.fusion.decide`.

Owns: :func:`document_genuine_rule`, :func:`document_rule`, :func:`challenge_rule` and :func:`overlay`, and their
:class:`Verdict` — an outcome, a stable reason code (:class:`~idverify.biometrics.reasons.ReasonCode`, for
integrations, reports and translated screens), the English sentence (logs, the API's error message when enrolment
refuses a card), and the record that goes into the factor record and the ledger. Must not touch: the
database, cameras, matchers. Pure: same inputs, same output; no I/O, no clock — the document rule is handed the
digest and the card-owner lookup it needs (:func:`idverify.workflow.patients.document_verdict` wires them), the
challenge rule the judgement already made (:func:`idverify.biometrics.pad.active.judge`).

The overlay, in order: a document that **rejects** (forged, misread beyond use, or someone else's card) rejects
the check whatever the biometrics said; a document to read again turns an accept into a **retry**; then a
challenge to repeat turns an accept into a retry (a failed head turn is mostly a patient who did not follow the
prompt — no evidence of a wrong person). A challenge failed where the stage does not require one is only noted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from idverify.biometrics.fusion import Outcome
from idverify.biometrics.pad.active import ActiveJudgement
from idverify.biometrics.reasons import Reason as Told
from idverify.biometrics.reasons import ReasonCode
from idverify.documents.model import IdentityDocument
from idverify.store.models import Patient
from idverify.workflow.challenges import IssuedChallenge


class RuleOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 (an outcome, not a password): satisfied
    RETRY = "retry"  # capture again: turns an accept into a retry
    REJECT = "reject"  # rejects the check whatever the biometrics said
    NOTE = "note"  # failed where not required: only noted in the reasons
    SKIP = "skip"  # nothing presented, nothing required


Reason = ReasonCode  # the rules' codes are members of the one enumeration of reasons


@dataclass(frozen=True)
class Verdict:
    outcome: RuleOutcome
    reason: ReasonCode
    message: str | None = None  # English, for logs and API errors; None when there is nothing to tell the nurse
    record: Mapping[str, Any] | None = None  # for the factor record and the ledger; None: nothing to record
    cause: str | None = None  # the reason code of what made it so (a failed challenge's own reason)

    @property
    def told(self) -> Told | None:
        """What the nurse is told (the code, with its cause), in her language on the screen; None: nothing."""
        if self.message is None:
            return None
        return Told.of(self.reason, None if self.cause is None else Told.parse(self.cause))


@dataclass(frozen=True)
class CheckVerdict:
    """The stage check's outcome once the rules overlaid the biometric decision."""

    outcome: Outcome
    reasons: list[Told] = field(default_factory=list)


def document_genuine_rule(document: IdentityDocument) -> Verdict:
    """The card itself, whoever it is presented for: its number readable, its chip signature and check digits
    right. The first half of :func:`document_rule`; on its own it guards registering a patient from a card read
    (enrolment's document step), so a forged card never becomes a patient."""
    record: dict[str, Any] = {"document_type": document.document_type, "checks": document.checks.as_dict(),
                              "source": document.source}
    if document.document_number is None:
        return Verdict(RuleOutcome.RETRY, Reason.DOCUMENT_NUMBER_UNREADABLE,
                       "the document number could not be read — read the card again", {**record, "status": "bad"})
    if document.checks.passive_auth == "failed":
        return Verdict(RuleOutcome.REJECT, Reason.DOCUMENT_SIGNATURE_INVALID,
                       "document chip signature invalid (possible forgery)", {**record, "status": "invalid"})
    if not document.checks.checksum:
        return Verdict(RuleOutcome.REJECT, Reason.DOCUMENT_CHECKSUM_FAILED,
                       "document failed its checksum (misread or forged) — check the card",
                       {**record, "status": "invalid"})
    return Verdict(RuleOutcome.PASS, Reason.DOCUMENT_OK, None, record)


def document_rule(document: IdentityDocument | None, patient: Patient, *, required: bool,
                  digest: Callable[[str], str], owner_of: Callable[[str, str], str | None]) -> Verdict:
    """The card presented for ``patient``: readable, genuine (chip signature, checksum) and hers.

    ``digest`` is the keyed hash patients are looked up by; ``owner_of(document_type, number)`` the id of the
    patient holding a card (None: nobody), asked only when the card is not ``patient``'s."""
    if document is None:
        if required:
            return Verdict(RuleOutcome.RETRY, Reason.DOCUMENT_NOT_READ,
                           "ID document not read — place the card on the reader", {"status": "not_captured"})
        return Verdict(RuleOutcome.SKIP, Reason.DOCUMENT_NOT_PRESENTED, None, {"status": "not_captured"})
    genuine = document_genuine_rule(document)
    if genuine.outcome is not RuleOutcome.PASS or document.document_number is None:
        return genuine
    record = dict(genuine.record or {})
    if document.document_type != patient.document_type or digest(document.document_number) != patient.document_lookup:
        owner = owner_of(document.document_type, document.document_number)
        mismatch = {**record, "status": "mismatch", "card_owner_patient_id": owner}
        if owner is not None:
            return Verdict(RuleOutcome.REJECT, Reason.CARD_OF_ANOTHER_PATIENT, "card belongs to another patient",
                           mismatch)
        return Verdict(RuleOutcome.REJECT, Reason.CARD_NOT_THE_PATIENTS, "card does not belong to this patient",
                       mismatch)
    if document.checks.expired:
        return Verdict(RuleOutcome.PASS, Reason.DOCUMENT_EXPIRED, None,
                       {**record, "status": "ok", "note": "document expired"})
    return Verdict(RuleOutcome.PASS, Reason.DOCUMENT_OK, None, {**record, "status": "ok"})


def challenge_rule(challenge: IssuedChallenge | None, judgement: ActiveJudgement | None, *, required: bool
                   ) -> Verdict:
    """The active liveness challenge: ``judgement`` is None when no frames were filmed for an issued one."""
    if challenge is None:
        if required:
            return Verdict(RuleOutcome.RETRY, Reason.CHALLENGE_NOT_ANSWERED,
                           "liveness challenge required at this stage — start the check again and ask the patient "
                           "to follow the prompt on the screen", {"status": "not_answered"})
        return Verdict(RuleOutcome.SKIP, Reason.CHALLENGE_NOT_ASKED)
    failed = RuleOutcome.RETRY if required else RuleOutcome.NOTE
    if judgement is None:
        return Verdict(failed, Reason.CHALLENGE_NO_FRAMES,
                       "no camera frames for the liveness challenge — check the camera and repeat the challenge",
                       {**challenge.record(), "status": "not_captured", "passed": False, "frames": 0})
    record = {**challenge.record(), "status": "judged", "required": required, **judgement.record()}
    if judgement.result.passed:
        return Verdict(RuleOutcome.PASS, Reason.CHALLENGE_PASSED, None, record)
    return Verdict(failed, Reason.CHALLENGE_FAILED, f"liveness challenge failed — {judgement.result.reason}", record,
                   cause=judgement.result.code or None)


def overlay(outcome: Outcome, reasons: Sequence[Told], document: Verdict, challenge: Verdict) -> CheckVerdict:
    """The biometric decision with the document rule, then the challenge rule, applied on top."""
    out, why = outcome, list(reasons)
    doc, chal = document.told, challenge.told
    if document.outcome is RuleOutcome.REJECT:
        out, why = "reject", [doc or Told(document.reason),
                              *[r for r in why if r.code is not ReasonCode.IDENTITY_CONFIRMED]]
    elif document.outcome is RuleOutcome.RETRY and out == "accept":
        out, why = "retry", [doc or Told(document.reason)]
    elif document.outcome is RuleOutcome.RETRY and doc is not None:
        why.append(doc)
    if challenge.outcome is RuleOutcome.RETRY and out == "accept":
        out, why = "retry", [chal or Told(challenge.reason)]
    elif challenge.outcome in (RuleOutcome.RETRY, RuleOutcome.NOTE) and chal is not None:
        why.append(chal)
    return CheckVerdict(outcome=out, reasons=why)
