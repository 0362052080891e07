"""Stage checks: is the person at this procedure stage the patient the cycle says it must be?

The policy names the subject (e.g. the female partner at embryo transfer) and the factors; the captures are
matched against that patient's enrolment; :func:`idverify.biometrics.fusion.decide` makes the biometric decision
and the document rule is applied on top: a card that belongs to someone else rejects the check outright. The
verification row and its ledger event commit together. Repeated rejects of one patient raise an alert event.

Active liveness (:mod:`idverify.workflow.challenges`): when the stage policy asks for a challenge, the check must
answer one the daemon issued; the burst of frames is judged by :func:`idverify.biometrics.pad.active.judge` and
the face is matched on its frontal frames when no separate face capture came with the check. A missing or failed
challenge makes an otherwise accepted check **retry**, not reject: a failed head turn is mostly a patient who did
not follow the prompt (or turned too little), and is no evidence of a wrong person; an attacker with a photo fails
every retry anyway, each attempt is in the ledger with its frames count and reason, and a face that does not
match still rejects. A challenge answered at a stage that does not require one is recorded and only noted.
The result goes into the face factor's record (``factors.face.challenge``) and the ledger event; the fingerprint
factor always records ``pad: "not available"`` (the sensor has no presentation-attack detection), and a face factor
without a passive PAD result says why (``pad: "not run: …"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.biometrics.fusion import FactorResult, decide
from idverify.biometrics.pad.active import ActiveJudgement, FaceTracker, judge
from idverify.documents.model import IdentityDocument
from idverify.errors import ConflictError, ValidationFailed
from idverify.store.base import utcnow
from idverify.store.keys import Keys
from idverify.store.models import Cycle, Enrollment, Patient, Verification
from idverify.workflow import factors, templates
from idverify.workflow.captures import Captures
from idverify.workflow.challenges import ChallengeStore, IssuedChallenge
from idverify.workflow.consent import active_consent
from idverify.workflow.cycles import get_couple, get_cycle
from idverify.workflow.patients import find_by_document, get_patient
from idverify.workflow.policy import resolve, stage_subject
from idverify.workflow.stages import Stage, Subject

REPEATED_REJECTS = 3
REJECT_WINDOW = timedelta(hours=24)


@dataclass
class CheckOutcome:
    verification: Verification
    alert: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


def subject_patient(db: Session, cycle: Cycle, subject: Subject, partner: Subject | None) -> Patient:
    couple = get_couple(db, cycle.couple_id)
    who = partner if subject is Subject.BOTH else subject
    if who is None or who is Subject.BOTH:
        raise ValidationFailed("this stage verifies both partners: say which one (partner=female|male)",
                               code="partner_required")
    patient_id = couple.female_patient_id if who is Subject.FEMALE else couple.male_patient_id
    if patient_id is None:
        raise ConflictError(f"this couple has no {who.value} partner registered", code="no_such_partner")
    return get_patient(db, patient_id)


def is_enrolled(db: Session, patient_id: str) -> bool:
    """A completed enrolment exists: a check has something to compare with."""
    return db.scalar(select(Enrollment.id).where(Enrollment.patient_id == patient_id,
                                                 Enrollment.status == "complete").limit(1)) is not None


@dataclass(frozen=True)
class StagePerson:
    """Someone the nurse must verify at a stage, and whether they can be (an enrolment is needed first)."""

    partner: Subject
    patient: Patient
    enrolled: bool


def stage_people(db: Session, cycle_id: str, stage: Stage) -> tuple[Subject, list[StagePerson]]:
    """Who this stage of this cycle verifies under the current policy, for the nurse's screen before the check:
    knowing whom to call to the table (and that she is not enrolled yet) saves a failed check."""
    cycle = _open_cycle_stage(db, cycle_id, stage)
    subject = stage_subject(db, stage)
    couple = get_couple(db, cycle.couple_id)
    people: list[StagePerson] = []
    for who in ((Subject.FEMALE, Subject.MALE) if subject is Subject.BOTH else (subject,)):
        patient_id = couple.female_patient_id if who is Subject.FEMALE else couple.male_patient_id
        if patient_id is None:
            continue
        people.append(StagePerson(partner=who, patient=get_patient(db, patient_id),
                                  enrolled=is_enrolled(db, patient_id)))
    return subject, people


def document_result(db: Session, keys: Keys, patient: Patient, document: IdentityDocument | None,
                    required: bool) -> tuple[str, str | None, dict[str, Any]]:
    """('pass'|'retry'|'reject'|'skip', reason, record) for the card presented at the check."""
    if document is None:
        if required:
            return "retry", "ID document not read — place the card on the reader", {"status": "not_captured"}
        return "skip", None, {"status": "not_captured"}
    record: dict[str, Any] = {"document_type": document.document_type, "checks": document.checks.as_dict(),
                              "source": document.source}
    if document.document_number is None:
        return "retry", "the document number could not be read — read the card again", {**record, "status": "bad"}
    if document.checks.passive_auth == "failed":
        return "reject", "document chip signature invalid (possible forgery)", {**record, "status": "invalid"}
    if not document.checks.checksum:
        return "reject", "document failed its checksum (misread or forged) — check the card", \
            {**record, "status": "invalid"}
    digest = keys.lookup.digest(document.document_number)
    if document.document_type != patient.document_type or digest != patient.document_lookup:
        owner = find_by_document(db, keys, document.document_type, document.document_number)
        return "reject", "card belongs to another patient" if owner else "card does not belong to this patient", \
            {**record, "status": "mismatch", "card_owner_patient_id": owner.id if owner else None}
    record["status"] = "ok"
    if document.checks.expired:
        record["note"] = "document expired"
    return "pass", None, record


def _open_cycle_stage(db: Session, cycle_id: str, stage: Stage) -> Cycle:
    cycle = get_cycle(db, cycle_id)
    if cycle.status != "open":
        raise ConflictError("this cycle is closed", code="cycle_closed")
    if stage.value not in cycle.stages:
        raise ValidationFailed(f"stage {stage.value} is not part of this {cycle.kind} cycle", code="wrong_stage")
    return cycle


def issue_challenge(db: Session, store: ChallengeStore, *, cycle_id: str, stage: Stage, actor: Principal,
                    partner: Subject | None = None) -> IssuedChallenge:
    """A challenge of the kind the stage's resolved policy asks for (409 ``challenge_not_required`` when none)."""
    cycle = _open_cycle_stage(db, cycle_id, stage)
    patient = subject_patient(db, cycle, stage_subject(db, stage), partner)
    policy = resolve(db, stage, active_consent(db, patient.id))
    if policy.challenge is None:
        raise ConflictError(f"the {stage.value} policy asks for no active liveness challenge — run the check "
                            "without one", code="challenge_not_required")
    return store.issue(policy.challenge, cycle_id=cycle.id, stage=stage.value,
                       partner=partner.value if partner else None, actor=actor)


def challenge_result(challenge: IssuedChallenge | None, required: bool, frames: Sequence[NDArray[np.uint8]],
                     tracker: FaceTracker | None = None
                     ) -> tuple[str, str | None, dict[str, Any] | None, ActiveJudgement | None]:
    """('pass'|'retry'|'note'|'skip', reason, record, judgement) for the active liveness challenge."""
    if challenge is None:
        if required:
            return "retry", "liveness challenge required at this stage — start the check again and ask the " \
                            "patient to follow the prompt on the screen", {"status": "not_answered"}, None
        return "skip", None, None, None
    if not frames:
        record = {**challenge.record(), "status": "not_captured", "passed": False, "frames": 0}
        reason = "no camera frames for the liveness challenge — check the camera and repeat the challenge"
        return ("retry" if required else "note"), reason, record, None
    judgement = judge(frames, challenge.core(), tracked=tracker)
    record = {**challenge.record(), "status": "judged", "required": required, **judgement.record()}
    if judgement.result.passed:
        return "pass", None, record, judgement
    reason = f"liveness challenge failed — {judgement.result.reason}"
    return ("retry" if required else "note"), reason, record, judgement


def _overlay(outcome: str, reasons: list[str], document: tuple[str, str | None],
             challenge: tuple[str, str | None]) -> tuple[str, list[str]]:
    """The biometric decision with the document rule, then the challenge rule, applied on top."""
    doc_outcome, doc_reason = document
    if doc_outcome == "reject":
        outcome, reasons = "reject", [doc_reason or "document rejected", *[r for r in reasons
                                                                          if r != "identity confirmed"]]
    elif doc_outcome == "retry" and outcome == "accept":
        outcome, reasons = "retry", [doc_reason or "read the card again"]
    elif doc_outcome == "retry" and doc_reason:
        reasons.append(doc_reason)
    ch_outcome, ch_reason = challenge
    if ch_outcome == "retry" and outcome == "accept":
        outcome, reasons = "retry", [ch_reason or "repeat the liveness challenge"]
    elif ch_outcome in ("retry", "note") and ch_reason:
        reasons.append(ch_reason)
    return outcome, reasons


def run_check(db: Session, keys: Keys, *, cycle_id: str, stage: Stage, captures: Captures, actor: Principal,
              partner: Subject | None = None, challenge: IssuedChallenge | None = None) -> CheckOutcome:
    started = utcnow()
    t0 = time.perf_counter()
    cycle = _open_cycle_stage(db, cycle_id, stage)
    patient = subject_patient(db, cycle, stage_subject(db, stage), partner)
    if not is_enrolled(db, patient.id):
        raise ConflictError("this patient has no completed enrolment; enrol first", code="not_enrolled")
    consent = active_consent(db, patient.id)
    policy = resolve(db, stage, consent)
    wants = policy.biometric.factors
    results: list[FactorResult] = []
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ch_outcome, ch_reason, ch_record, judgement = challenge_result(challenge, policy.challenge is not None,
                                                                   captures.challenge_frames,
                                                                   captures.challenge_tracker)
    if judgement is not None:
        timings["challenge_ms"] = round((time.perf_counter() - t) * 1000, 1)
    face_frames = captures.face_frames
    if not face_frames and judgement is not None:
        face_frames = judgement.frontal_frames(factors.MAX_FACE_FRAMES)
    if "face" in wants:
        t = time.perf_counter()
        results.append(factors.face_factor(face_frames, templates.face_template(db, keys, patient.id),
                                           check_liveness=wants["face"].require_liveness))
        timings["face_ms"] = round((time.perf_counter() - t) * 1000, 1)
    if "fingerprint" in wants:
        t = time.perf_counter()
        results.append(factors.fingerprint_factor(captures.fingerprints,
                                                  templates.finger_templates(db, keys, patient.id)))
        timings["fingerprint_ms"] = round((time.perf_counter() - t) * 1000, 1)
    if "document_photo" in wants and face_frames and captures.document is not None \
            and captures.document.photo_available:
        results.append(factors.document_photo_factor(face_frames[0], captures.document))
    decision = decide(policy.biometric, results)
    doc_outcome, doc_reason, doc_record = document_result(db, keys, patient, captures.document,
                                                          policy.document_required)
    outcome, reasons = _overlay(decision.outcome, list(decision.reasons), (doc_outcome, doc_reason),
                                (ch_outcome, ch_reason))
    timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    factor_record = {**decision.factors, "document": doc_record}
    if ch_record is not None:
        factor_record.setdefault("face", {"required": False, "status": "not_captured"})["challenge"] = ch_record
    if "fingerprint" in factor_record:
        factor_record["fingerprint"].setdefault("pad", "not available")
    if "face" in wants and "pad" not in factor_record["face"]:  # say why there is no passive PAD result
        factor_record["face"]["pad"] = "not run: " + ("not required by the stage policy"
                                                      if not wants["face"].require_liveness else "no usable face")
    verification = Verification(
        cycle_id=cycle.id, patient_id=patient.id, stage=stage.value, decision=outcome, reasons=reasons,
        factors=factor_record, policy={**policy.as_dict(), "fused_score": decision.fused_score},
        devices=captures.devices, staff_id=actor.staff_id, workstation_id=actor.workstation_id,
        started_at=started, decided_at=utcnow(),
    )
    db.add(verification)
    db.flush()
    audit.record(db, actor, "verification.completed",
                 subject={"patient_id": patient.id, "couple_id": cycle.couple_id, "cycle_id": cycle.id},
                 data={"verification_id": verification.id, "stage": stage.value, "decision": outcome,
                       "reasons": reasons, "factors": factor_record, "fused_score": decision.fused_score,
                       "devices": captures.devices, "timings_ms": timings})
    alert = None
    if outcome == "reject":
        recent = db.scalar(select(func.count()).select_from(Verification).where(
            Verification.patient_id == patient.id, Verification.decision == "reject",
            Verification.decided_at >= utcnow() - REJECT_WINDOW)) or 0
        if recent >= REPEATED_REJECTS:
            alert = f"{recent} rejected checks for this patient in 24 h — inform the supervisor"
            audit.record(db, actor, "alert.repeated_rejects",
                         subject={"patient_id": patient.id, "cycle_id": cycle.id},
                         data={"rejects_24h": recent, "verification_id": verification.id})
    return CheckOutcome(verification=verification, alert=alert, timings_ms=timings)
