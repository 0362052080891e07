"""Stage checks: is the person at this procedure stage the patient the cycle says it must be?

The policy names the subject (e.g. the female partner at embryo transfer) and the factors; the captures are
matched against that patient's enrolment; :func:`idverify.biometrics.fusion.decide` makes the biometric decision
and the document and challenge rules (:mod:`idverify.workflow.rules`) are applied on top: a card that belongs to
someone else rejects the check outright. The verification row and its ledger event commit together. Repeated
rejects of one patient raise an alert event. A check holds no transaction while it captures and matches
(:func:`run_check`): a short read, the slow part with nothing open, a short write. Matching starts while the
devices are still capturing (:mod:`idverify.workflow.early_match`): the face during the fingerprints, each finger
during the next one.

Active liveness (:mod:`idverify.workflow.challenges`): when the stage policy asks for a challenge, the check must
answer one the daemon issued; the burst of frames is judged by :func:`idverify.biometrics.pad.active.judge` and
the face is matched on its frontal frames when no separate face capture came with the check. A missing or failed
challenge makes an otherwise accepted check **retry**, not reject: a failed head turn is mostly a patient who did
not follow the prompt (or turned too little), and is no evidence of a wrong person; an attacker with a photo fails
every retry anyway, each attempt is in the ledger with its frames count and reason, and a face that does not
match still rejects. A challenge answered at a stage that does not require one is recorded and only noted.
The result goes into the face factor's record (``factors.face.challenge``) and the ledger event; the fingerprint
factor always records ``pad: "not available"`` (the sensor has no presentation-attack detection), and a face factor
without a passive PAD result says why (``pad: "not run: …"``) — :func:`idverify.workflow.factors.check_record`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.biometrics.face import FaceTemplate
from idverify.biometrics.fingerprint.template import FingerprintTemplate
from idverify.biometrics.fusion import Decision, FactorResult, decide
from idverify.biometrics.pad.active import judge
from idverify.biometrics.reasons import Reason, ReasonCode
from idverify.errors import ConflictError, ErrorCode, ValidationFailed
from idverify.store.base import utcnow
from idverify.store.db import begin_read
from idverify.store.keys import Keys
from idverify.store.models import Cycle, Patient, Verification
from idverify.workflow import factors, rules, templates
from idverify.workflow.captures import CaptureListener, Captures
from idverify.workflow.challenges import ChallengeStore, IssuedChallenge
from idverify.workflow.consent import active_consent
from idverify.workflow.cycles import get_couple, get_cycle
from idverify.workflow.early_match import EarlyMatch
from idverify.workflow.patients import document_verdict, get_patient
from idverify.workflow.policy import ResolvedPolicy, resolve, stage_subject
from idverify.workflow.repositories import enrolments, verifications
from idverify.workflow.rules import Verdict
from idverify.workflow.stages import Stage, Subject

REPEATED_REJECTS = 3
REJECT_WINDOW = timedelta(hours=24)


@dataclass
class CheckOutcome:
    verification: Verification
    alert: Reason | None = None  # the repeated-rejects alert (code and its rejects_24h count)
    timings_ms: dict[str, float] = field(default_factory=dict)


def subject_patient(db: Session, cycle: Cycle, subject: Subject, partner: Subject | None) -> Patient:
    couple = get_couple(db, cycle.couple_id)
    who = partner if subject is Subject.BOTH else subject
    if who is None or who is Subject.BOTH:
        raise ValidationFailed("this stage verifies both partners: say which one (partner=female|male)",
                               code=ErrorCode.PARTNER_REQUIRED)
    patient_id = couple.female_patient_id if who is Subject.FEMALE else couple.male_patient_id
    if patient_id is None:
        raise ConflictError(f"this couple has no {who.value} partner registered", code=ErrorCode.NO_SUCH_PARTNER)
    return get_patient(db, patient_id)


def is_enrolled(db: Session, patient_id: str) -> bool:
    """A completed enrolment exists: a check has something to compare with."""
    return enrolments.has_completed(db, patient_id)


@dataclass(frozen=True)
class StagePerson:
    """Someone the nurse must verify at a stage, and whether they can be (an enrolment is needed first)."""

    partner: Subject
    patient: Patient
    enrolled: bool
    films_face: bool  # the check uses the camera for this person (not when she refused face capture)
    challenge: bool  # the check asks her for an active liveness challenge first (the screen asks for one only then)


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
        policy = resolve(db, stage, active_consent(db, patient_id))
        people.append(StagePerson(partner=who, patient=get_patient(db, patient_id),
                                  enrolled=is_enrolled(db, patient_id), films_face=_films_face(policy),
                                  challenge=policy.challenge is not None))
    return subject, people


def _films_face(policy: ResolvedPolicy) -> bool:
    """Whether a check under ``policy`` (resolved with the patient's consent) uses the camera at all: only when it
    matches the face or the card photo, or asks for a liveness challenge. Someone who refused face capture is not
    filmed, and the nurse's screen shows no camera for them."""
    return policy.challenge is not None or any(n in policy.biometric.factors for n in ("face", "document_photo"))


def films_face(db: Session, stage: Stage, patient_id: str) -> bool:
    """:func:`_films_face` under the stage's policy resolved with this patient's consent."""
    return _films_face(resolve(db, stage, active_consent(db, patient_id)))


def check_films_face(db: Session, *, cycle_id: str, stage: Stage, partner: Subject | None) -> bool:
    """:func:`films_face` for the subject of a check about to run (asked before any capture)."""
    cycle = _open_cycle_stage(db, cycle_id, stage)
    return films_face(db, stage, subject_patient(db, cycle, stage_subject(db, stage), partner).id)


def _open_cycle_stage(db: Session, cycle_id: str, stage: Stage) -> Cycle:
    cycle = get_cycle(db, cycle_id)
    if cycle.status != "open":
        raise ConflictError("this cycle is closed", code=ErrorCode.CYCLE_CLOSED)
    if stage.value not in cycle.stages:
        raise ValidationFailed(f"stage {stage.value} is not part of this {cycle.kind} cycle",
                               code=ErrorCode.WRONG_STAGE)
    return cycle


def issue_challenge(db: Session, store: ChallengeStore, *, cycle_id: str, stage: Stage, actor: Principal,
                    partner: Subject | None = None) -> IssuedChallenge:
    """A challenge of the kind the stage's resolved policy asks for (409 ``challenge_not_required`` when none)."""
    cycle = _open_cycle_stage(db, cycle_id, stage)
    patient = subject_patient(db, cycle, stage_subject(db, stage), partner)
    policy = resolve(db, stage, active_consent(db, patient.id))
    if policy.challenge is None:
        raise ConflictError(f"the {stage.value} policy asks for no active liveness challenge — run the check "
                            "without one", code=ErrorCode.CHALLENGE_NOT_REQUIRED)
    return store.issue(policy.challenge, cycle_id=cycle.id, stage=stage.value,
                       partner=partner.value if partner else None, actor=actor)


@dataclass
class _Prepared:
    """What a check reads before its captures: the cycle, whom it verifies, the policy and the enrolled templates."""

    cycle: Cycle
    patient: Patient
    policy: ResolvedPolicy
    face: FaceTemplate | None
    fingers: list[tuple[str | None, FingerprintTemplate]]


def _prepare(db: Session, keys: Keys, cycle_id: str, stage: Stage, partner: Subject | None) -> _Prepared:
    cycle = _open_cycle_stage(db, cycle_id, stage)
    patient = subject_patient(db, cycle, stage_subject(db, stage), partner)
    if not is_enrolled(db, patient.id):
        raise ConflictError("this patient has no completed enrolment; enrol first", code=ErrorCode.NOT_ENROLLED)
    policy = resolve(db, stage, active_consent(db, patient.id))
    wants = policy.biometric.factors
    return _Prepared(cycle=cycle, patient=patient, policy=policy,
                     face=templates.face_template(db, keys, patient.id) if "face" in wants else None,
                     fingers=templates.finger_templates(db, keys, patient.id) if "fingerprint" in wants else [])


def _early(prepared: _Prepared) -> EarlyMatch:
    wants = prepared.policy.biometric.factors
    return EarlyMatch(face=prepared.face if "face" in wants else None,
                      fingers=prepared.fingers if "fingerprint" in wants else [],
                      check_liveness="face" in wants and wants["face"].require_liveness)


def _match(prepared: _Prepared, captures: Captures, challenge: IssuedChallenge | None,
           timings: dict[str, float], early: EarlyMatch) -> tuple[Decision, Verdict]:
    """The slow part, with no transaction open: the challenge judged, the factors matched (or their early results
    collected), fused."""
    policy = prepared.policy
    wants = policy.biometric.factors
    results: list[FactorResult] = []
    t = time.perf_counter()
    judgement = None
    if challenge is not None and captures.challenge_frames:
        judgement = judge(captures.challenge_frames, challenge.core(), tracked=captures.challenge_tracker)
        timings["challenge_ms"] = round((time.perf_counter() - t) * 1000, 1)
    challenge_verdict = rules.challenge_rule(challenge, judgement, required=policy.challenge is not None)
    face_frames = captures.face_frames
    if not face_frames and judgement is not None:
        face_frames = judgement.frontal_frames(factors.MAX_FACE_FRAMES)
    if "face" in wants:
        t = time.perf_counter()
        results.append(early.face_result(face_frames))
        timings["face_ms"] = round((time.perf_counter() - t) * 1000, 1)
    if "fingerprint" in wants:
        t = time.perf_counter()
        results.append(early.fingerprint_result(captures.fingerprints))
        timings["fingerprint_ms"] = round((time.perf_counter() - t) * 1000, 1)
    if "document_photo" in wants and face_frames and captures.document is not None \
            and captures.document.photo_available:
        results.append(factors.document_photo_factor(face_frames[0], captures.document))
    return decide(policy.biometric, results), challenge_verdict


def run_check(db: Session, keys: Keys, *, cycle_id: str, stage: Stage,
              capture: Callable[[CaptureListener], Captures],
              actor: Principal, partner: Subject | None = None,
              challenge: IssuedChallenge | None = None) -> CheckOutcome:
    """Read → capture and match → write, with no transaction open in the middle.

    The read is one short reader transaction (on SQLite it takes no lock); ``capture`` (the devices, or the decoded
    uploads) and the matching run with none open, for however long they take; the write — document rule, the
    verification row, its ledger event and a repeated-rejects alert — is one short write transaction, left open
    for the caller to add its outbox rows and commit, so the record and its audit event are never half-written.
    A cycle closed while the patient was being captured is caught by the write (409 ``cycle_closed``).
    """
    started = utcnow()
    t0 = time.perf_counter()
    begin_read(db)
    try:
        prepared = _prepare(db, keys, cycle_id, stage, partner)
    finally:
        db.commit()  # end the read before the slow part (no write happened: it only releases the snapshot)
    early = _early(prepared)
    t = time.perf_counter()
    try:
        captures = capture(early)
    except BaseException:
        early.cancel()
        raise
    timings: dict[str, float] = {"capture_ms": round((time.perf_counter() - t) * 1000, 1)}
    policy = prepared.policy
    decision, challenge_verdict = _match(prepared, captures, challenge, timings, early)
    db.expire(prepared.cycle)  # read it again, in the write transaction (which begins here)
    cycle = _open_cycle_stage(db, cycle_id, stage)
    patient = prepared.patient
    document = document_verdict(db, keys, patient, captures.document, required=policy.document_required)
    verdict = rules.overlay(decision.outcome, decision.reasons, document, challenge_verdict)
    outcome, reasons = verdict.outcome, [r.as_dict() for r in verdict.reasons]
    timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    factor_record = factors.check_record(decision.factors, policy.biometric, document=document.record or {},
                                          challenge=challenge_verdict.record)
    verification = Verification(
        cycle_id=cycle.id, patient_id=patient.id, stage=stage.value, decision=outcome, reasons=reasons,
        factors=factor_record, policy={**policy.as_dict(), "fused_score": decision.fused_score},
        devices=captures.devices, staff_id=actor.staff_id, workstation_id=actor.workstation_id,
        started_at=started, decided_at=utcnow(),
    )
    verifications.add(db, verification)
    db.flush()
    audit.record(db, actor, "verification.completed",
                 subject={"patient_id": patient.id, "couple_id": cycle.couple_id, "cycle_id": cycle.id},
                 data={"verification_id": verification.id, "stage": stage.value, "decision": outcome,
                       "reasons": reasons, "factors": factor_record, "fused_score": decision.fused_score,
                       "devices": captures.devices, "timings_ms": timings})
    alert = None
    if outcome == "reject":
        recent = verifications.count_rejects(db, patient.id, since=utcnow() - REJECT_WINDOW)
        if recent >= REPEATED_REJECTS:
            alert = Reason.of(ReasonCode.REPEATED_REJECTS, rejects_24h=recent)
            audit.record(db, actor, "alert.repeated_rejects",
                         subject={"patient_id": patient.id, "cycle_id": cycle.id},
                         data={"rejects_24h": recent, "verification_id": verification.id,
                               "alert": alert.as_dict()})
    return CheckOutcome(verification=verification, alert=alert, timings_ms=timings)
