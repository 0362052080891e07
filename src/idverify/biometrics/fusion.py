"""Stage decisions: per-factor results + a stage policy → accept / reject / retry, with reason codes a nurse reads
in her language (:mod:`idverify.biometrics.reasons`).

Owns: :class:`StagePolicy` (which factors a stage requires, at which calibrated thresholds), score normalisation
and fusion, and the pure function :func:`decide`. Must not touch: devices, images, models, storage — callers run
the matchers and PAD, then pass plain :class:`FactorResult` values in; the :class:`Decision` that comes out is what
the workflow records (it carries the thresholds, target FMRs and model versions used).

Rules of :func:`decide`, in order:

1. **reject** when liveness failed on a factor whose policy requires it, or when a captured factor (required, or
   optional with ``reject_on_mismatch``) scored below its threshold — a mismatch is evidence of the wrong person,
   which at an embryo transfer must stop the procedure rather than invite retries until something passes;
2. **retry** when a required factor could not be acquired, failed quality, or its liveness check is missing;
3. **accept** only when every required factor passed (and, if the policy sets ``fused_min``, the fused score of
   all captured factors reaches it).

Face alone: when the face was compared and no fingerprint result stands beside it (fingerprint refused in the
consent or left out of the stage policy, not captured, not enrolled, or unusable), the face decides alone and is
judged at its policy's stricter ``alone_threshold`` (the face-alone target FMR the policy names). A face score
between the two thresholds would pass beside a fingerprint but not alone: it rejects with
:data:`ReasonCode.FACE_ALONE_MISMATCH`. Every accept or reject decided so carries the reason code
:data:`ReasonCode.FACE_ALONE`
(``reason.face_alone`` in the catalogues) and ``Decision.face_alone``, so the nurse sees that only the face
vouched for the patient. An unanswered required fingerprint still means retry: then nothing was decided alone.

Normalisation: each factor's score is mapped to ``(score - threshold) / (threshold - impostor_mean)``, so 0 is the
factor's own operating point and −1 its typical impostor, whatever the matcher's scale (cosine for face, the
fingerprint matcher's own score). The fused score is the mean of the normalised scores of the factors that were
compared. It is recorded with every decision; ``fused_min`` is off by default because there is no jointly-labelled
face+finger+document data yet to calibrate it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from idverify.biometrics.reasons import Reason, ReasonCode
from idverify.errors import ConfigError

if TYPE_CHECKING:
    from idverify.biometrics.operating_points import OperatingPoints

Outcome = Literal["accept", "reject", "retry"]
FactorStatus = Literal["ok", "quality_failed", "acquisition_failed", "not_captured"]

#: The factors a stage policy may name; a policy naming another is refused when it is loaded (ConfigError).
FACTORS: tuple[str, ...] = ("face", "fingerprint", "document_photo")
MISMATCH_REASONS: dict[str, ReasonCode] = {
    "face": ReasonCode.FACE_MISMATCH,
    "fingerprint": ReasonCode.FINGERPRINT_MISMATCH,
    "document_photo": ReasonCode.DOCUMENT_PHOTO_MISMATCH,
}
RETRY_REASONS: dict[str, ReasonCode] = {
    "face": ReasonCode.FACE_UNUSABLE,
    "fingerprint": ReasonCode.FINGERPRINT_UNUSABLE,
    "document_photo": ReasonCode.DOCUMENT_PHOTO_UNUSABLE,
}
MISSING_REASONS: dict[str, ReasonCode] = {
    "face": ReasonCode.FACE_NOT_CAPTURED,
    "fingerprint": ReasonCode.FINGERPRINT_NOT_CAPTURED,
    "document_photo": ReasonCode.DOCUMENT_NOT_READ,
}
FACE_ALONE = ReasonCode.FACE_ALONE  # the decision rests on the face alone
FACE_ALONE_MISMATCH = ReasonCode.FACE_ALONE_MISMATCH  # the face passes beside a fingerprint, not alone


@dataclass(frozen=True)
class FactorPolicy:
    """How one factor counts at a stage. ``threshold`` is on the factor's own score scale (accept ``>=``)."""

    required: bool
    threshold: float
    impostor_mean: float | None = None  # for normalisation; None → raw margin (score − threshold)
    target_fmr: float | None = None
    require_liveness: bool = False
    reject_on_mismatch: bool = True  # applies to optional factors; required ones always reject on mismatch
    source: str = "manual"  # where the threshold came from (calibration file and key)
    # face only: the stricter point used when the face decides alone (no fingerprint result beside it)
    alone_threshold: float | None = None
    alone_target_fmr: float | None = None
    alone_source: str | None = None

    def alone(self) -> FactorPolicy:
        """This policy at its face-alone point (itself when it has none; never looser than its own threshold)."""
        if self.alone_threshold is None:
            return self
        return replace(self, threshold=max(self.threshold, self.alone_threshold),
                       target_fmr=self.alone_target_fmr, source=self.alone_source or self.source)


@dataclass(frozen=True)
class StagePolicy:
    stage: str
    factors: Mapping[str, FactorPolicy]
    fused_min: float | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.factors) - set(FACTORS))
        if unknown:
            raise ConfigError(f"stage policy {self.stage!r} names unknown factor(s) {', '.join(unknown)}; "
                              f"the factors are {', '.join(FACTORS)}")
        if not any(p.required for p in self.factors.values()):
            raise ConfigError(f"stage policy {self.stage!r} requires no factor; at least one must be required")

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "fused_min": self.fused_min,
                "factors": {name: asdict(p) for name, p in self.factors.items()}}


@dataclass(frozen=True)
class FactorResult:
    """What a matcher (and PAD) produced for one factor at one check. No images, no templates.

    ``reason`` is the quality/acquisition reason code from the capture code, when there is one;
    ``live`` is the PAD verdict (None = no liveness check ran); ``model_version`` and ``details`` are recorded.
    """

    factor: str
    status: FactorStatus
    score: float | None = None
    reason: Reason | None = None
    live: bool | None = None
    liveness_reason: Reason | None = None
    model_version: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: list[Reason]
    factors: dict[str, dict[str, Any]]
    fused_score: float | None
    policy: dict[str, Any]
    face_alone: bool = False  # the face decided without a fingerprint result beside it

    @property
    def codes(self) -> list[ReasonCode]:
        """The reason codes alone, in order (parameters left out)."""
        return [r.code for r in self.reasons]

    @property
    def message(self) -> str:
        """The reasons in English (logs, developers); screens render the codes in the reader's language."""
        return "; ".join(r.english() for r in self.reasons)

    def as_record(self) -> dict[str, Any]:
        """JSON-ready record for the audit ledger (scores, thresholds, versions; no personal data)."""
        return {"outcome": self.outcome, "reasons": [r.as_dict() for r in self.reasons], "factors": self.factors,
                "fused_score": self.fused_score, "policy": self.policy, "face_alone": self.face_alone}


def normalise(score: float, policy: FactorPolicy) -> float:
    """Map a raw score so that the threshold is 0 and the typical impostor −1 (raw margin without a mean)."""
    if policy.impostor_mean is None or policy.impostor_mean >= policy.threshold:
        return score - policy.threshold
    return (score - policy.threshold) / (policy.threshold - policy.impostor_mean)


def _judge(name: str, fp: FactorPolicy, r: FactorResult) -> tuple[str, Reason | None]:
    """One factor's verdict: ("pass"|"reject"|"retry"|"note"|"skip", reason)."""
    if r.status == "ok" and r.score is None:
        raise ConfigError(f"factor {name!r} reported status ok without a score")
    if fp.require_liveness and r.live is False:
        return "reject", Reason.of(ReasonCode.LIVENESS_FAILED, r.liveness_reason, factor=name)
    if r.status != "ok":
        reason = r.reason or Reason((MISSING_REASONS if r.status == "not_captured" else RETRY_REASONS)[name])
        if fp.required:
            return "retry", reason
        # an optional factor nobody captured needs no remark
        return ("skip", None) if r.status == "not_captured" else (
            "note", Reason.of(ReasonCode.OPTIONAL_FACTOR_SKIPPED, reason, factor=name))
    assert r.score is not None
    if r.score < fp.threshold:
        if fp.required or fp.reject_on_mismatch:
            return "reject", Reason.of(MISMATCH_REASONS[name], score=round(r.score, 4),
                                       threshold=round(fp.threshold, 4))
        return "note", Reason.of(ReasonCode.OPTIONAL_FACTOR_BELOW_THRESHOLD, factor=name, score=round(r.score, 4),
                                 threshold=round(fp.threshold, 4))
    if fp.require_liveness and r.live is None:
        if fp.required:
            return "retry", Reason.of(ReasonCode.LIVENESS_CHECK_MISSING, factor=name)
        return "note", Reason.of(ReasonCode.OPTIONAL_FACTOR_NO_LIVENESS, factor=name)
    return "pass", None


def decides_alone(policy: StagePolicy, by_factor: Mapping[str, FactorResult]) -> bool:
    """Whether the face decides alone: it was compared, and no usable fingerprint result stands beside it."""
    face = by_factor.get("face")
    if "face" not in policy.factors or face is None or face.status != "ok":
        return False
    finger = by_factor.get("fingerprint")
    return "fingerprint" not in policy.factors or finger is None or finger.status != "ok"


def decide(policy: StagePolicy, results: Iterable[FactorResult]) -> Decision:
    """The stage decision. Pure: same inputs, same output; no I/O, no clock, no randomness."""
    by_factor: dict[str, FactorResult] = {}
    for r in results:
        if r.factor in by_factor:
            raise ConfigError(f"two results for factor {r.factor!r}; pass one result per factor")
        by_factor[r.factor] = r
    verdicts: dict[str, list[Reason]] = {"reject": [], "retry": [], "note": []}
    record: dict[str, dict[str, Any]] = {}
    normalised: list[float] = []
    alone = decides_alone(policy, by_factor)
    for name, given in policy.factors.items():
        r = by_factor.get(name) or FactorResult(factor=name, status="not_captured")
        fp = given.alone() if alone and name == "face" else given
        verdict, reason = _judge(name, fp, r)
        if fp is not given and verdict == "reject" and r.score is not None and r.score >= given.threshold:
            reason = Reason.of(FACE_ALONE_MISMATCH, score=round(r.score, 4),
                               threshold=round(fp.threshold, 4))  # enough beside a fingerprint, not alone
        norm = round(normalise(r.score, fp), 4) if r.status == "ok" and r.score is not None else None
        if norm is not None:
            normalised.append(norm)
        record[name] = {"required": fp.required, "status": r.status, "score": r.score, "threshold": fp.threshold,
                        "target_fmr": fp.target_fmr, "threshold_source": fp.source, "live": r.live,
                        "model_version": r.model_version, "passed": verdict == "pass", "normalised": norm,
                        **({"decided_alone": True} if fp is not given else {}), **dict(r.details)}
        if reason is not None:
            verdicts[verdict].append(reason)
    for extra in sorted(set(by_factor) - set(policy.factors)):
        verdicts["note"].append(Reason.of(ReasonCode.FACTOR_NOT_IN_POLICY, factor=extra, stage=policy.stage))

    fused = round(sum(normalised) / len(normalised), 4) if normalised else None
    outcome: Outcome
    if verdicts["reject"]:
        outcome, reasons = "reject", verdicts["reject"]
    elif verdicts["retry"]:
        outcome, reasons = "retry", verdicts["retry"]
    elif policy.fused_min is not None and (fused is None or fused < policy.fused_min):
        outcome, reasons = "reject", [Reason.of(ReasonCode.FUSED_BELOW_MINIMUM, score=fused,
                                                threshold=policy.fused_min)]
    else:
        outcome, reasons = "accept", [Reason(ReasonCode.IDENTITY_CONFIRMED)]
    face_alone = alone and outcome != "retry"
    return Decision(outcome=outcome, reasons=reasons + ([Reason(FACE_ALONE)] if face_alone else []) + verdicts["note"],
                    factors=record, fused_score=fused, policy=policy.as_dict(), face_alone=face_alone)


# --- policies at the calibrated operating points ------------------------------------------------------------------

def factor_policy(factor: str, *, points: OperatingPoints, required: bool, target_fmr: float = 0.001,
                  require_liveness: bool = False, reject_on_mismatch: bool = True,
                  alone_target_fmr: float | None = None) -> FactorPolicy:
    """A factor's policy at ``target_fmr``, its threshold taken from the calibrated ``points`` the caller loaded
    (:func:`idverify.biometrics.operating_points.load_operating_points`); ConfigError when there is none.
    ``alone_target_fmr`` (face only) adds the stricter point the face is judged at when it decides alone."""
    point = points.point(factor, target_fmr)
    alone = None
    if alone_target_fmr is not None:
        if factor != "face":
            raise ConfigError(f"alone_target_fmr is a face option, not one of {factor!r}")
        if alone_target_fmr > target_fmr:
            raise ConfigError(f"face alone_target_fmr {alone_target_fmr:g} is looser than its target_fmr "
                              f"{target_fmr:g}; the face alone must be held at least as strictly")
        alone = points.point(factor, alone_target_fmr)
    return FactorPolicy(required=required, threshold=point.threshold, impostor_mean=point.impostor_mean,
                        target_fmr=target_fmr, require_liveness=require_liveness,
                        reject_on_mismatch=reject_on_mismatch, source=point.source,
                        alone_threshold=None if alone is None else alone.threshold,
                        alone_target_fmr=alone_target_fmr, alone_source=None if alone is None else alone.source)
