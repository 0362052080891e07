"""Error-rate estimates from what a clinic can observe in operation: overrides and document mismatches.

Operational data has no ground truth, so these are *estimates with stated assumptions*, not a benchmark (the
offline ``idverify bench`` figures on labelled data are the calibrated ones). What is counted:

* **Genuine transactions** are checks that were accepted, plus non-accepted checks a nurse later overrode with
  a second staff member's credentials (two people confirmed the identity by other means). Each biometric factor
  that was compared (status ``ok``) in a genuine transaction is a genuine comparison; one below its threshold is
  a **false non-match**. FNMR = false non-matches / genuine comparisons. The check-level **false reject rate**
  is overridden checks / genuine transactions (it also includes failures to acquire and document problems).
* **Impostor transactions** are rejected, not overridden checks where the card presented belongs to *another*
  enrolled patient (the document rule identified a different person). Each biometric factor compared there is
  an impostor comparison; one at or above its threshold is a **false match**. FMR = false matches / impostor
  comparisons.

Limits (printed with every report): accepted checks are assumed genuine, so an undetected impostor who was
accepted is invisible and FMR is *under*-counted; rejects nobody overrode are not counted as genuine although
some were (the patient may have come back later), so FNMR is a lower bound; a genuine patient holding the
partner's card counts as an impostor attempt; monthly counts are small, so every rate comes with a Wilson 95 %
interval, and a rate from fewer than 30 trials should not be compared between months at all.

Owns no I/O: it takes the rows the repository returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from idverify.reports.repository import CheckRow

BIOMETRIC_FACTORS = ("face", "fingerprint", "document_photo")
MIN_TRIALS_FOR_COMPARISON = 30

METHOD_NOTE = (
    "FNMR: factor scores below threshold in accepted or overridden (two-person confirmed) checks, over the "
    "factors compared in those checks. FMR: factor scores at or above threshold in rejected, not overridden "
    "checks where the card belonged to another enrolled patient, over the factors compared in those checks. "
    "Accepted checks are assumed genuine (undetected impostors are invisible, so FMR is under-counted); "
    "unresolved rejects are not counted as genuine (FNMR is a lower bound). Intervals are Wilson 95 %; rates "
    f"from fewer than {MIN_TRIALS_FOR_COMPARISON} trials are not comparable between months."
)


def wilson_interval(errors: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; well-behaved at 0 errors and small ``trials``."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    if not 0 <= errors <= trials:
        raise ValueError("errors must be between 0 and trials")
    p = errors / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class RateEstimate:
    errors: int
    trials: int

    @property
    def rate(self) -> float | None:
        return self.errors / self.trials if self.trials else None

    def as_dict(self) -> dict[str, Any]:
        low, high = wilson_interval(self.errors, self.trials) if self.trials else (None, None)
        return {
            "errors": self.errors,
            "trials": self.trials,
            "rate": None if self.rate is None else round(self.rate, 6),
            "ci95_low": None if low is None else round(low, 6),
            "ci95_high": None if high is None else round(high, 6),
            "comparable": self.trials >= MIN_TRIALS_FOR_COMPARISON,
        }


def _compared(check: CheckRow) -> Iterable[tuple[str, bool]]:
    """(factor, passed) for each biometric factor that produced a score in this check."""
    for name in BIOMETRIC_FACTORS:
        rec = check.factors.get(name)
        if isinstance(rec, dict) and rec.get("status") == "ok" and rec.get("score") is not None:
            yield name, bool(rec.get("passed"))


def is_genuine(check: CheckRow) -> bool:
    return check.decision == "accept" or check.overridden


def is_confirmed_impostor(check: CheckRow) -> bool:
    doc = check.factors.get("document")
    return (check.decision == "reject" and not check.overridden and isinstance(doc, dict)
            and doc.get("status") == "mismatch" and bool(doc.get("card_owner_patient_id")))


@dataclass(frozen=True)
class ErrorEstimates:
    genuine_checks: int
    impostor_checks: int
    false_reject: RateEstimate
    fnmr: dict[str, RateEstimate]
    fmr: dict[str, RateEstimate]

    def as_dict(self) -> dict[str, Any]:
        return {
            "genuine_checks": self.genuine_checks,
            "impostor_checks": self.impostor_checks,
            "false_reject_rate": self.false_reject.as_dict(),
            "fnmr": {k: v.as_dict() for k, v in self.fnmr.items()},
            "fmr": {k: v.as_dict() for k, v in self.fmr.items()},
            "method": METHOD_NOTE,
        }


def estimate(checks: Iterable[CheckRow]) -> ErrorEstimates:
    genuine = impostor = overridden = 0
    gen_trials = dict.fromkeys(BIOMETRIC_FACTORS, 0)
    gen_errors = dict.fromkeys(BIOMETRIC_FACTORS, 0)
    imp_trials = dict.fromkeys(BIOMETRIC_FACTORS, 0)
    imp_errors = dict.fromkeys(BIOMETRIC_FACTORS, 0)
    for check in checks:
        if is_genuine(check):
            genuine += 1
            overridden += check.overridden and check.decision != "accept"
            for name, passed in _compared(check):
                gen_trials[name] += 1
                gen_errors[name] += not passed
        elif is_confirmed_impostor(check):
            impostor += 1
            for name, passed in _compared(check):
                imp_trials[name] += 1
                imp_errors[name] += passed
    return ErrorEstimates(
        genuine_checks=genuine,
        impostor_checks=impostor,
        false_reject=RateEstimate(overridden, genuine),
        fnmr={n: RateEstimate(gen_errors[n], gen_trials[n]) for n in BIOMETRIC_FACTORS},
        fmr={n: RateEstimate(imp_errors[n], imp_trials[n]) for n in BIOMETRIC_FACTORS},
    )
