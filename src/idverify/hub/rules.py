"""The alert rules, as pure decisions (same inputs, same output; no I/O, no clock). The projection and the sweep
gather the counts with SQL; these functions say whether they are alarming, and why.

Rules (the thresholds are hub settings, ``IDVERIFY_HUB_*``):

* **open cycles at two clinics** — a person (regional pseudonym, female or male partner) has an open cycle at two
  or more clinics at once.
* **egg retrievals** — more than ``EGG_RETRIEVAL_LIMIT`` (default 3) egg retrievals for one person within 12
  months (365 days, by ledger time), across all clinics. A retrieval is an accepted or overridden egg-retrieval
  check, counted once per cycle.
* **female partner of different couples** — one person registered as the female partner of two or more couples
  with different male partners (by pseudonym; a couple without a male partner counts as a partner of its own)
  within 12 months, at one clinic or several.
* **override / reject rate** — in a calendar month (Asia/Shanghai), a clinic's (or one staff member's) rate
  ``p = events / checks`` is judged against the rest of the region ``p₀ = (events₀ + ½) / (checks₀ + 1)`` (the
  ½/1 keeps a region with no events from making every single event an outlier). It is flagged when the clinic or
  person has at least ``RATE_MIN_CHECKS`` checks that month **and** ``p > RATE_FACTOR × p₀`` **and**
  ``p > p₀ + RATE_Z × √(p₀(1−p₀)/checks)`` — far above in ratio and improbable by chance (defaults 20, 2×, 3σ).
* **silent clinic** — no cosigned checkpoint for ``SILENCE_HOURS`` (default 24).
* **refused checkpoint** — raised by the witness itself (:mod:`idverify.hub.witness`).
* **pseudonyms that never match** — a clinic's pseudonyms use a key id the region does not use (immediately), or
  a clinic registered at least ``PSEUDONYM_MIN_PATIENTS`` patients in 30 days and not one of their pseudonyms
  matches any other clinic's, while other clinics do match each other in that window (so matching works).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

YEAR = timedelta(days=365)
MISCONFIG_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class RateVerdict:
    rate: float
    region_rate: float
    threshold: float
    checks: int
    events: int

    def as_dict(self) -> dict[str, float | int]:
        return {"rate": round(self.rate, 4), "region_rate": round(self.region_rate, 4),
                "threshold": round(self.threshold, 4), "checks": self.checks, "events": self.events}


def rate_outlier(events: int, checks: int, region_events: int, region_checks: int, *, min_checks: int,
                 factor: float, z: float) -> RateVerdict | None:
    """The verdict when ``events / checks`` is far above the rest of the region's rate, else None."""
    if checks < min_checks or checks <= 0:
        return None
    rate = events / checks
    base = (region_events + 0.5) / (region_checks + 1)
    threshold = max(factor * base, base + z * math.sqrt(base * (1 - base) / checks))
    if rate <= threshold:
        return None
    return RateVerdict(rate, base, threshold, checks, events)


def too_many_retrievals(count: int, limit: int) -> bool:
    return count > limit


def different_partners(male_pseudonyms: list[str | None], couple_refs: list[str]) -> int:
    """How many different partners these couples stand for (a couple without a male partner is its own)."""
    return len({m if m is not None else f"couple:{ref}" for m, ref in zip(male_pseudonyms, couple_refs, strict=True)})


def silent(hours_since_cosigned: float, limit_hours: float) -> bool:
    return hours_since_cosigned > limit_hours


def pseudonyms_never_match(registered: int, matched: int, region_matches_elsewhere: int, *, min_patients: int
                           ) -> bool:
    return registered >= min_patients and matched == 0 and region_matches_elsewhere > 0
