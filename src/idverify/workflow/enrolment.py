"""Enrolment: consent first, then document, live face matched to the document photo, at least two fingers, and a
1:N duplicate search before anything is stored.

Outcomes (``Enrollment.status``):
- ``complete`` — templates stored (encrypted) and added to the in-memory galleries;
- ``retry`` — a capture was unusable; ``result.prompts`` tells the nurse what to capture again; nothing stored;
- ``rejected`` — the document or the person-to-document comparison failed, or liveness failed;
- ``duplicate_suspected`` — a face or finger already belongs to another patient: nothing is stored and a
  supervisor must resolve it (never a silent merge). The candidate patient ids are in the result and the ledger.
Raw images are not kept (retention default 0 h); only templates are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.biometrics.face import ALGORITHM_VERSION as FACE_VERSION
from idverify.biometrics.face import get_face_engine
from idverify.biometrics.face.detect import Detection
from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION as FINGER_VERSION
from idverify.biometrics.fusion import factor_policy
from idverify.biometrics.operating_points import load_operating_points
from idverify.biometrics.reasons import Reason as Told
from idverify.biometrics.reasons import ReasonCode, reason_of_error
from idverify.errors import ConflictError, ErrorCode
from idverify.store.base import utcnow
from idverify.store.keys import Keys
from idverify.store.models import Enrollment, Patient
from idverify.workflow import factors, result_photos, templates
from idverify.workflow.captures import Captures
from idverify.workflow.consent import active_consent
from idverify.workflow.galleries import Candidate, Galleries
from idverify.workflow.patients import document_verdict, get_patient
from idverify.workflow.repositories import enrolments
from idverify.workflow.rules import Reason, RuleOutcome

MIN_FINGERS = 2


@dataclass
class EnrolmentOutcome:
    enrollment: Enrollment
    candidates: list[Candidate]


def _finish(db: Session, actor: Principal, patient: Patient, status: str, result: dict[str, Any],
            consent_id: str | None, candidates: list[Candidate] | None = None) -> EnrolmentOutcome:
    enrollment = Enrollment(patient_id=patient.id, consent_id=consent_id, status=status, result=result,
                            staff_id=actor.staff_id, workstation_id=actor.workstation_id,
                            completed_at=utcnow() if status == "complete" else None)
    enrolments.add(db, enrollment)
    db.flush()
    event = "enrollment.duplicate_suspected" if status == "duplicate_suspected" else f"enrollment.{status}"
    audit.record(db, actor, event, subject={"patient_id": patient.id},
                 data={"enrollment_id": enrollment.id, **result})
    return EnrolmentOutcome(enrollment=enrollment, candidates=candidates or [])


@dataclass(frozen=True)
class FaceStep:
    """What the face step found: the template and the largest face in each analysed frame (None: no face), from
    which the reference photo is cut — or a rejection reason, or nothing (retry: see the prompts)."""

    template: Any = None
    rejection: Told | None = None
    faces: list[Detection | None] = field(default_factory=list)


def _face_step(captures: Captures, result: dict[str, Any], prompts: list[Told]) -> FaceStep:
    analysed = factors.face_samples(captures.face_frames)
    samples = analysed.samples
    if not samples:
        prompts.append(reason_of_error(analysed.error) if analysed.error else Told(ReasonCode.FACE_NOT_CAPTURED))
        return FaceStep()
    live, reason, pad = factors.liveness(captures.face_frames)
    result["face"] = {"samples": len(samples),
                      "detection_score": round(max(s.detection.score for s in samples), 4), **pad}
    if live is False:
        return FaceStep(rejection=Told.of(ReasonCode.LIVENESS_FAILED, reason, factor="face"))
    doc_factor = factors.document_photo_factor(samples[0], captures.document)
    result["document_photo"] = {"status": doc_factor.status, "score": doc_factor.score}
    if doc_factor.status == "ok" and doc_factor.score is not None:
        point = factor_policy("document_photo", points=load_operating_points(), required=True, target_fmr=0.01)
        result["document_photo"]["threshold"] = point.threshold
        if doc_factor.score < point.threshold:
            return FaceStep(rejection=Told.of(ReasonCode.DOCUMENT_PHOTO_MISMATCH, score=round(doc_factor.score, 4),
                                              threshold=round(point.threshold, 4)))
    return FaceStep(template=get_face_engine().make_template(samples), faces=analysed.faces)


def _finger_step(captures: Captures, result: dict[str, Any], prompts: list[Told]) -> list[tuple[str, Any]]:
    ok, failed = factors.finger_templates(captures.fingerprints)
    seen: set[str] = set()
    chosen: list[tuple[str, Any]] = []
    for position, tpl in ok:
        if position not in seen or position == "unknown":
            seen.add(position)
            chosen.append((position, tpl))
    result["fingers"] = {"accepted": [p for p, _ in chosen], "failed": [p for p, _ in failed],
                         "quality": [int(t.quality) for _, t in chosen]}
    for position, why in failed:
        prompts.append(Told.of(ReasonCode.FINGER_POSITION_FAILED, why, position=position))
    if len(chosen) < MIN_FINGERS:
        prompts.append(Told.of(ReasonCode.TOO_FEW_FINGERS, required=MIN_FINGERS, usable=len(chosen)))
    return chosen


def _duplicates(galleries: Galleries, patient_id: str, face_tpl: Any,
                finger_tpls: list[tuple[str, Any]]) -> list[Candidate]:
    candidates: list[Candidate] = []
    if face_tpl is not None:
        point = factor_policy("face", points=load_operating_points(), required=True, target_fmr=0.001)
        candidates += galleries.face_candidates(face_tpl, exclude=patient_id, min_score=point.threshold)
    if finger_tpls:
        point = factor_policy("fingerprint", points=load_operating_points(), required=True, target_fmr=0.001)
        for _, tpl in finger_tpls:
            candidates += galleries.finger_candidates(tpl, exclude=patient_id, min_score=point.threshold)
    best: dict[str, Candidate] = {}
    for c in candidates:
        if c.patient_id not in best or c.score > best[c.patient_id].score:
            best[c.patient_id] = c
    return list(best.values())


def _told(*reasons: Told) -> list[dict[str, Any]]:
    """Reasons and prompts as the enrolment result stores and answers them: ``{"code", "params"}`` objects."""
    return [r.as_dict() for r in reasons]


def enrol(db: Session, keys: Keys, galleries: Galleries, *, patient_id: str, captures: Captures,
          actor: Principal) -> EnrolmentOutcome:
    patient = get_patient(db, patient_id)
    consent = active_consent(db, patient.id)
    if consent is None:
        raise ConflictError("record the patient's biometric consent before enrolment", code=ErrorCode.CONSENT_REQUIRED)
    result: dict[str, Any] = {"modalities": sorted(m for m in consent.modalities if m != "document_photo"),
                              "devices": captures.devices}
    prompts: list[Told] = []

    # 1. the document must be this patient's, valid and unexpired
    document = document_verdict(db, keys, patient, captures.document, required=True)
    result["document"] = dict(document.record or {})
    if document.outcome is RuleOutcome.REJECT:
        return _finish(db, actor, patient, "rejected", {**result, "reasons": _told(document.told or
                                                                                   Told(document.reason))}, consent.id)
    if document.outcome is RuleOutcome.RETRY:
        prompts.append(document.told or Told(document.reason))
    elif document.reason is Reason.DOCUMENT_EXPIRED:
        return _finish(db, actor, patient, "rejected",
                       {**result, "reasons": _told(Told(ReasonCode.ENROL_DOCUMENT_EXPIRED))}, consent.id)

    # 2. live face (quality, liveness, person-to-document); 3. at least two different usable fingers
    face = FaceStep()
    if "face" in consent.modalities:
        face = _face_step(captures, result, prompts)
        if face.rejection:
            return _finish(db, actor, patient, "rejected", {**result, "reasons": _told(face.rejection)}, consent.id)
    face_tpl = face.template
    finger_tpls = _finger_step(captures, result, prompts) if "fingerprint" in consent.modalities else []
    if prompts:
        return _finish(db, actor, patient, "retry", {**result, "prompts": _told(*prompts)}, consent.id)

    # 4. 1:N duplicate search over every enrolled patient: block, never merge
    galleries.sync(db, keys)
    duplicates = _duplicates(galleries, patient.id, face_tpl, finger_tpls)
    if duplicates:
        dup = [{"patient_id": c.patient_id, "modality": c.modality, "score": round(c.score, 4)} for c in duplicates]
        return _finish(db, actor, patient, "duplicate_suspected",
                       {**result, "reasons": _told(Told(ReasonCode.DUPLICATE_SUSPECTED)),
                        "duplicates": dup}, consent.id, duplicates)

    # 5. store templates (encrypted) and publish them to the galleries
    stored = []
    if face_tpl is not None:
        stored.append(templates.store(db, keys, patient_id=patient.id, modality="face",
                                      plaintext=face_tpl.to_bytes(), algorithm_version=FACE_VERSION,
                                      quality=result["face"]["detection_score"]))
    for position, tpl in finger_tpls:
        stored.append(templates.store(db, keys, patient_id=patient.id, modality="fingerprint", position=position,
                                      plaintext=tpl.to_bytes(), algorithm_version=FINGER_VERSION,
                                      quality=float(tpl.quality)))
    photo = None
    if face_tpl is not None:  # face consent given: one small sealed face crop for the result screen
        photo = result_photos.store_enrolment_photo(db, keys, patient_id=patient.id, frames=captures.face_frames,
                                                    faces=face.faces)
    db.flush()
    outcome = _finish(db, actor, patient, "complete",
                      {**result, "templates": len(stored), "reference_photo": photo is not None}, consent.id)
    for row in stored:
        galleries.add(row.id, patient.id, row.modality, keys.ring.decrypt(row.envelope, f"template:{row.id}"))
    return outcome
