"""Enrolment, stage checks and overrides (role nurse). Captures, extraction and matching run in the worker thread
pool, so the event loop keeps serving other requests meanwhile; enrolments and checks first take one of the
daemon's check slots (:class:`~idverify.context.CheckSlots`, waited for on the event loop, never in a thread),
and beyond its queue the answer is 503 ``busy`` with ``Retry-After``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from idverify.api.captures import CHALLENGE_BURST_S, from_request, require_devices
from idverify.api.deps import ContextDep, KeysDep, Nurse, SessionDep, ensure_this_workstation
from idverify.api.routes.auth import client_address, record_failure
from idverify.api.routes.result_photos import photo_urls
from idverify.api.schemas.verifications import ReasonOut, VerificationOut
from idverify.api.schemas.workflow import (
    CaptureIn,
    ChallengeIn,
    ChallengeOut,
    CheckIn,
    CheckOut,
    EnrolmentOut,
    OverrideIn,
    OverrideOut,
    StagePersonOut,
    StageSubjectOut,
)
from idverify.api.uploads import ImageLimits
from idverify.auth import repository as auth_repo
from idverify.context import AppContext
from idverify.errors import AuthenticationError, DeviceError
from idverify.store.db import begin_read
from idverify.store.finger_positions import enrolled_finger_positions
from idverify.webhooks import enqueue
from idverify.workflow import checks, consent, enrolment, overrides, patients
from idverify.workflow.captures import CaptureListener, Captures
from idverify.workflow.stages import Stage, Subject

router = APIRouter(tags=["checks"])


@router.post("/patients/{patient_id}/enrolment", response_model=EnrolmentOut, status_code=201,
             summary="Enrol face and fingers (consent first; duplicate identities are blocked)")
async def enrol(patient_id: str, body: CaptureIn, db: SessionDep, keys: KeysDep, ctx: ContextDep,
                nurse: Nurse) -> EnrolmentOut:
    if body.use_devices:
        ensure_this_workstation(nurse, ctx.settings)
    async with ctx.check_slots.slot():
        return await run_in_threadpool(_enrol, patient_id, body, db, keys, ctx, nurse)


def _enrol(patient_id: str, body: CaptureIn, db: SessionDep, keys: KeysDep, ctx: ContextDep,
           nurse: Nurse) -> EnrolmentOut:
    film = not body.use_devices or consent.face_consented(db, patient_id)
    with counting_capture_failures(ctx):
        captures = from_request(body, ctx.devices, claimed_by=nurse.claimant, limits=ImageLimits.of(ctx.settings),
                                film_face=film)
    outcome = enrolment.enrol(db, keys, ctx.galleries, patient_id=patient_id, captures=captures, actor=nurse)
    db.commit()
    return EnrolmentOut.model_validate(outcome.enrollment)


@router.post("/cycles/{cycle_id}/checks/challenge", response_model=ChallengeOut, status_code=201,
             summary="Issue the active liveness challenge (head turn or blink) a stage check must answer")
def challenge(cycle_id: str, body: ChallengeIn, db: SessionDep, ctx: ContextDep, nurse: Nurse) -> ChallengeOut:
    issued = checks.issue_challenge(db, ctx.challenges, cycle_id=cycle_id, stage=body.stage, actor=nurse,
                                    partner=Subject(body.partner) if body.partner else None)
    return ChallengeOut(challenge_id=issued.id, kind=issued.kind, direction=issued.direction,
                        prompt_key=issued.prompt_key, instruction=issued.core().instruction,
                        expires_at=issued.expires_at, capture_seconds=CHALLENGE_BURST_S,
                        substituted_for=issued.substituted_for)


@router.post("/cycles/{cycle_id}/checks", response_model=CheckOut, status_code=201,
             summary="Verify the patient at a procedure stage: accept, reject or retry")
async def check(cycle_id: str, body: CheckIn, db: SessionDep, keys: KeysDep, ctx: ContextDep,
                nurse: Nurse) -> CheckOut:
    if body.use_devices:
        ensure_this_workstation(nurse, ctx.settings)
    async with ctx.check_slots.slot():
        return await run_in_threadpool(_check, cycle_id, body, db, keys, ctx, nurse)


def _check(cycle_id: str, body: CheckIn, db: SessionDep, keys: KeysDep, ctx: ContextDep, nurse: Nurse) -> CheckOut:
    require_devices(body, ctx.devices)
    issued = None
    if body.challenge_id is not None:  # refused before filming, so a stale id costs no capture
        issued = ctx.challenges.redeem(body.challenge_id, cycle_id=cycle_id, stage=body.stage.value,
                                        partner=body.partner, actor=nurse)
    # Uploads are decoded (and refused when bad) first; the devices film after the check's short read (a patient
    # who is not enrolled is refused before filming), and neither holds a transaction open.
    limits = ImageLimits.of(ctx.settings)
    uploaded = None if body.use_devices else from_request(body, ctx.devices, claimed_by=nurse.claimant, limits=limits)
    film = body.use_devices and _films_face(db, cycle_id, body)
    taken: list[Captures] = []

    def capture(listener: CaptureListener) -> Captures:
        with counting_capture_failures(ctx):
            taken.append(uploaded if uploaded is not None else
                         from_request(body, ctx.devices, claimed_by=nurse.claimant,
                                      challenge=issued is not None, limits=limits, film_face=film,
                                      listener=listener))
        return taken[0]

    outcome = checks.run_check(db, keys, cycle_id=cycle_id, stage=body.stage, capture=capture, actor=nurse,
                               partner=Subject(body.partner) if body.partner else None, challenge=issued)
    verification = VerificationOut.model_validate(outcome.verification).model_dump(mode="json")
    enqueue(db, "verification.completed", verification)
    db.commit()
    ctx.check_metrics.decided(body.stage.value, outcome.verification.decision,  # counted once it is recorded
                              outcome.timings_ms["total_ms"] / 1000)
    captures = taken[0]
    if captures.face_frames:  # in memory for a few minutes, for the result screen; never persisted
        ctx.live_frames.put(outcome.verification.id, nurse.workstation_id, captures.face_frames[0])
    begin_read(db)
    alert = None if outcome.alert is None else ReasonOut.of(outcome.alert)
    return CheckOut(verification=verification, alert=alert, timings_ms=outcome.timings_ms,
                    images=photo_urls(ctx, db, outcome.verification))


@contextmanager
def counting_capture_failures(ctx: AppContext) -> Iterator[None]:
    """Count a device that fails the capture (``idverify_capture_failures_total{code}``), then let it answer."""
    try:
        yield
    except DeviceError as exc:
        ctx.check_metrics.capture_failures.labels(code=str(exc.code)).inc()
        raise


def _films_face(db: SessionDep, cycle_id: str, body: CheckIn) -> bool:
    """Whether this workstation's camera films the check's subject (not when she refused face capture): one short
    read of its own, ended before the check's, so no transaction stays open while the devices capture."""
    begin_read(db)
    try:
        return checks.check_films_face(db, cycle_id=cycle_id, stage=body.stage,
                                       partner=Subject(body.partner) if body.partner else None)
    finally:
        db.commit()


@router.post("/verifications/{verification_id}/override", response_model=OverrideOut, status_code=201,
             summary="Override a rejected or retry check with a reason and a second staff member")
def override(verification_id: str, body: OverrideIn, request: Request, db: SessionDep, ctx: ContextDep,
             nurse: Nurse) -> OverrideOut:
    client = client_address(request, ctx.settings)
    ctx.login_throttle.check(client, body.witness_username)  # the witness's password is guessable here too
    try:
        record = overrides.record_override(
            db, verification_id=verification_id, reason=overrides.OverrideReason(body.reason_code), note=body.note,
            witness_username=body.witness_username, witness_password=body.witness_password, actor=nurse)
    except AuthenticationError:
        record_failure(db, ctx, ctx.settings, client, body.witness_username,
                       auth_repo.get_staff_by_username(db, body.witness_username))
        db.commit()  # keep the witness's failed-login count and any alert
        raise
    ctx.login_throttle.succeeded(client, body.witness_username)
    out = OverrideOut.model_validate(record)
    enqueue(db, "verification.overridden", out.model_dump(mode="json"))
    db.commit()
    return out


@router.get("/cycles/{cycle_id}/stages/{stage}/subject", response_model=StageSubjectOut,
            summary="Who this stage verifies (name for the nurse's screen), whether they are enrolled, and with which "
                    "fingers")
def stage_subject(cycle_id: str, stage: Stage, db: SessionDep, keys: KeysDep, _nurse: Nurse) -> StageSubjectOut:
    subject, people = checks.stage_people(db, cycle_id, stage)
    return StageSubjectOut(stage=stage, subject=subject.value, people=[
        StagePersonOut(partner=p.partner.value, patient_id=p.patient.id,
                       name=patients.identity_of(keys, p.patient).get("name"), enrolled=p.enrolled,
                       films_face=p.films_face, challenge=p.challenge,
                       fingers=enrolled_finger_positions(db, p.patient.id))
        for p in people])
