"""Stage policies: who is verified at each stage and which factors must pass.

Defaults: the stage's subject from :data:`~idverify.workflow.stages.DEFAULT_SUBJECT`; document present and
belonging to the patient, face (with passive liveness) and fingerprint all required, each at the calibrated
threshold for FMR 0.1 %; the person-to-document photo comparison recorded but optional. Clinics override any of
it per stage through the ``policy.stages`` setting (IT role, :func:`set_stage_overrides`: validated, stored and
audited in one transaction). A patient who refused face capture in their consent is verified by document +
fingerprint: face drops out and fingerprint stays required.

Face alone: whenever the face decides without a fingerprint beside it (fingerprint refused in the consent, left
out of the stage, optional and not captured, not enrolled), it is judged at a stricter point, the face factor's
``alone_target_fmr`` — by default FMR 0.01 % (:data:`FACE_ALONE_TARGET_FMR`) against 0.1 % beside a fingerprint —
and the check says so (reason ``face_alone``, :mod:`idverify.biometrics.fusion`). A clinic may set it per stage,
e.g. ``{"egg_retrieval": {"factors": {"face": {"alone_target_fmr": 0.001}}}}``, never looser than the face's
``target_fmr``. The resolved policy of every check names both FMRs (``factors.face.alone_target_fmr``).

Active liveness: the face factor's ``active_liveness`` option (``"head_turn"``, ``"blink"`` or ``null``, the
default for every stage) makes the stage check demand an answered challenge (:mod:`idverify.workflow.challenges`)
on top of the passive PAD of ``liveness``; e.g. ``{"embryo_transfer": {"factors": {"face": {"active_liveness":
"head_turn"}}}}``. The challenge goes with the face factor: a patient whose face drops out (consent) gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.biometrics.fusion import FACTORS, StagePolicy, factor_policy
from idverify.biometrics.operating_points import load_operating_points
from idverify.errors import ConfigError, ErrorCode, ValidationFailed
from idverify.store.models import ConsentRecord
from idverify.workflow.repositories import settings as settings_repo
from idverify.workflow.stages import DEFAULT_SUBJECT, Stage, Subject

POLICY_SETTING = "policy.stages"
BIOMETRIC_FACTORS = FACTORS
ACTIVE_LIVENESS = ("head_turn", "blink")
TARGET_FMRS = (0.01, 0.001, 0.0001)
FACE_ALONE_TARGET_FMR = 0.0001
DEFAULT_FACTORS: dict[str, dict[str, Any]] = {
    "face": {"required": True, "target_fmr": 0.001, "alone_target_fmr": FACE_ALONE_TARGET_FMR, "liveness": True},
    "fingerprint": {"required": True, "target_fmr": 0.001},
    "document_photo": {"required": False, "target_fmr": 0.01, "reject_on_mismatch": False},
}


@dataclass(frozen=True)
class ResolvedPolicy:
    stage: Stage
    subject: Subject
    document_required: bool
    biometric: StagePolicy
    #: factors the consent took out of this check, e.g. ``[{"factor": "fingerprint", "why": "not_consented"}]``
    #: (codes, so the inspector's record names them in the reader's language)
    adapted_for: list[dict[str, str]]
    challenge: str | None = None  # the face factor's active_liveness when face is used at this stage

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage.value, "subject": self.subject.value, "document_required": self.document_required,
                "biometric": self.biometric.as_dict(), "adapted_for": self.adapted_for,
                "active_liveness": self.challenge}


def stage_overrides(db: Session) -> dict[str, Any]:
    value = settings_repo.get_value(db, POLICY_SETTING)
    return dict(value) if value is not None else {}


def set_stage_overrides(db: Session, value: dict[str, Any], *, actor: Principal) -> dict[str, Any]:
    """Replace the clinic's per-stage overrides, validated first, with a ``configuration.changed`` event in the
    same transaction (the caller commits). Returns what is now stored."""
    validate_overrides(value)
    settings_repo.put_value(db, POLICY_SETTING, value, updated_by=actor.staff_id)
    audit.record(db, actor, "configuration.changed", data={"setting": POLICY_SETTING, "value": value})
    return stage_overrides(db)


def validate_overrides(value: dict[str, Any]) -> None:
    """Reject a policy setting that would not load, before it is stored."""
    for stage, conf in value.items():
        try:
            Stage(stage)
        except ValueError:
            raise ValidationFailed(f"unknown stage {stage!r}") from None
        if not isinstance(conf, dict):
            raise ValidationFailed(f"policy for {stage} must be an object")
        if "subject" in conf and conf["subject"] not in {s.value for s in Subject}:
            raise ValidationFailed(f"policy for {stage}: subject must be female, male or both")
        for name, factor in (conf.get("factors") or {}).items():
            if name not in BIOMETRIC_FACTORS or not isinstance(factor, dict):
                raise ValidationFailed(f"policy for {stage}: unknown factor {name!r}")
            fmr = factor.get("target_fmr", 0.001)
            if fmr not in TARGET_FMRS:
                raise ValidationFailed(f"policy for {stage}: target_fmr must be 0.01, 0.001 or 0.0001")
            alone = factor.get("alone_target_fmr")
            if alone is not None and (name != "face" or alone not in TARGET_FMRS or alone > fmr):
                raise ValidationFailed(f"policy for {stage}: alone_target_fmr is a face option, 0.01, 0.001 or "
                                       "0.0001, and never looser than the face's target_fmr",
                                       code=ErrorCode.INVALID_ALONE_TARGET_FMR)
            active = factor.get("active_liveness")
            if active is not None and (name != "face" or active not in ACTIVE_LIVENESS):
                raise ValidationFailed(f"policy for {stage}: active_liveness is a face option and must be "
                                       f"{' or '.join(ACTIVE_LIVENESS)} or null",
                                       code=ErrorCode.INVALID_ACTIVE_LIVENESS)


def stage_subject(db: Session, stage: Stage) -> Subject:
    """Who a stage verifies (the clinic's override, else the default)."""
    conf = stage_overrides(db).get(stage.value, {})
    return Subject(conf.get("subject", DEFAULT_SUBJECT[stage].value))


def _alone_fmr(name: str, conf: dict[str, Any]) -> float | None:
    """The face's face-alone FMR: its setting, held no looser than the face's own target (an override of
    ``target_fmr`` stricter than the default face-alone point takes the face-alone point with it)."""
    if name != "face":
        return None
    target = float(conf.get("target_fmr", 0.001))
    return min(float(conf.get("alone_target_fmr", FACE_ALONE_TARGET_FMR)), target)


def resolve(db: Session, stage: Stage, consent: ConsentRecord | None) -> ResolvedPolicy:
    conf = stage_overrides(db).get(stage.value, {})
    subject = Subject(conf.get("subject", DEFAULT_SUBJECT[stage].value))
    factors_conf: dict[str, dict[str, Any]] = {k: dict(v) for k, v in DEFAULT_FACTORS.items()}
    for name, override in (conf.get("factors") or {}).items():
        factors_conf.setdefault(name, {}).update(override)
    unknown = sorted(set(factors_conf) - set(FACTORS))
    if unknown:  # a policy stored by hand or by another version: refuse it rather than guess what was meant
        raise ConfigError(f"stage policy for {stage.value} names unknown factor(s) {', '.join(unknown)}; the "
                          f"factors are {', '.join(FACTORS)}")
    adapted: list[dict[str, str]] = []
    refused = set(consent.refused if consent else [])
    allowed = set(consent.modalities if consent else [])
    for name in list(factors_conf):
        modality = "face" if name == "document_photo" else name
        if modality in refused or (consent is not None and modality not in allowed and name != "document_photo"):
            factors_conf.pop(name)
            adapted.append({"factor": name, "why": "not_consented"})
    if "face" in refused and "fingerprint" in factors_conf:
        factors_conf["fingerprint"]["required"] = True
    try:
        points = load_operating_points()  # checked at start-up; cached until a thresholds file changes
        policies = {
            name: factor_policy(name, points=points, required=bool(f.get("required", False)),
                                target_fmr=float(f.get("target_fmr", 0.001)),
                                require_liveness=bool(f.get("liveness", False)),
                                reject_on_mismatch=bool(f.get("reject_on_mismatch", True)),
                                alone_target_fmr=_alone_fmr(name, f))
            for name, f in factors_conf.items() if f.get("enabled", True)
        }
        biometric = StagePolicy(stage=stage.value, factors=policies)
    except ConfigError as exc:
        raise ConfigError(f"stage policy for {stage.value} cannot be built: {exc.message}") from None
    face = factors_conf.get("face")
    challenge = face.get("active_liveness") if face is not None and face.get("enabled", True) else None
    return ResolvedPolicy(stage=stage, subject=subject, document_required=bool(conf.get("document_required", True)),
                          biometric=biometric, adapted_for=adapted, challenge=challenge)
