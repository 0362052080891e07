"""Monthly statistics for the health commission: what the clinic did in one calendar month, in figures.

Owns the figures (counts per stage and decision, reasons, overrides, duplicate-identity alerts, acquisition
failure rates per factor and device, error-rate estimates, per-staff activity) and their JSON shape. It reads
through :mod:`idverify.reports.repository` only and holds ids, never names or biometric values. Rendering (CSV,
charts, PDF) lives in sibling modules and takes a :class:`MonthlyReport`.

Months are calendar months in the clinic's time zone (``Asia/Shanghai`` by default: the commission counts in
Beijing time), converted to UTC instants ``[start, end)`` for the queries.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from idverify.biometrics.reasons import Reason
from idverify.errors import ErrorCode, ValidationFailed
from idverify.ledger.canonical import format_time
from idverify.reports import repository
from idverify.reports.estimates import ErrorEstimates, estimate
from idverify.reports.repository import CheckRow, EnrolmentRow, OverrideRow
from idverify.store.base import utcnow
from idverify.workflow.stages import Stage

DEFAULT_TZ = "Asia/Shanghai"
DECISIONS = ("accept", "reject", "retry")
ENROLMENT_STATUSES = ("complete", "retry", "rejected", "duplicate_suspected")
# Which capture device (``Verification.devices`` key) produced the sample each factor compared.
FACTOR_DEVICE = {"face": "face", "fingerprint": "fingerprint", "document_photo": "face", "document": "document"}
ACQUISITION_FAILED = frozenset({"quality_failed", "acquisition_failed"})
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    month: str
    timezone: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def parse_month(month: str, tz: str = DEFAULT_TZ) -> Period:
    """``YYYY-MM`` in time zone ``tz`` as a UTC interval; ValidationFailed for anything else."""
    m = _MONTH.match(month or "")
    if not m:
        raise ValidationFailed("month must be YYYY-MM", code=ErrorCode.BAD_MONTH)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("unknown time zone (use an IANA name such as Asia/Shanghai)",
                               code=ErrorCode.BAD_TIMEZONE) from None
    year, mon = int(m.group(1)), int(m.group(2))
    if not 2000 <= year <= 2999:
        raise ValidationFailed("month out of range", code=ErrorCode.BAD_MONTH)
    first = date(year, mon, 1)
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC)
    return Period(month, tz, start, end)


@dataclass
class Rate:
    attempts: int = 0
    failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "failures": self.failures,
                "rate": round(self.failures / self.attempts, 6) if self.attempts else None}


@dataclass
class StaffActivity:
    checks: Counter[str] = field(default_factory=Counter)
    enrolments: int = 0
    overrides_requested: int = 0
    overrides_witnessed: int = 0

    def as_dict(self, staff_id: str) -> dict[str, Any]:
        return {"staff_id": staff_id, "checks": sum(self.checks.values()),
                **{d: self.checks.get(d, 0) for d in DECISIONS}, "enrolments": self.enrolments,
                "overrides_requested": self.overrides_requested, "overrides_witnessed": self.overrides_witnessed}


@dataclass
class MonthlyReport:
    period: Period
    clinic: str
    generated_at: datetime
    enrolments: dict[str, int]
    patients_enrolled: int
    checks_by_stage: dict[str, dict[str, int]]
    overrides_by_reason: dict[str, int]
    overrides_by_stage: dict[str, int]
    overrides_by_decision: dict[str, int]
    alerts: dict[str, int]
    reject_reasons: list[tuple[Reason, int]]  # grouped by code and factor (Reason.grouped), commonest first
    retry_reasons: list[tuple[Reason, int]]
    acquisition: dict[str, Rate]
    acquisition_by_device: dict[str, dict[str, Rate]]
    estimates: ErrorEstimates
    staff: dict[str, StaffActivity]

    # ---- derived totals
    @property
    def checks_total(self) -> int:
        return sum(s["total"] for s in self.checks_by_stage.values())

    def decision_total(self, decision: str) -> int:
        return sum(s[decision] for s in self.checks_by_stage.values())

    @property
    def overrides_total(self) -> int:
        return sum(self.overrides_by_reason.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.period.month,
            "timezone": self.period.timezone,
            "from": format_time(self.period.start),
            "to": format_time(self.period.end),
            "clinic": self.clinic,
            "generated_at": format_time(self.generated_at),
            "enrolments": {"total": sum(self.enrolments.values()), "by_status": dict(self.enrolments),
                           "patients_enrolled": self.patients_enrolled},
            "checks": {
                "total": self.checks_total,
                "by_decision": {d: self.decision_total(d) for d in DECISIONS},
                "overridden": sum(s["overridden"] for s in self.checks_by_stage.values()),
                "by_stage": self.checks_by_stage,
            },
            "overrides": {"total": self.overrides_total, "by_reason": self.overrides_by_reason,
                          "by_stage": self.overrides_by_stage, "by_original_decision": self.overrides_by_decision},
            "alerts": dict(self.alerts),
            "reject_reasons": [_reason_item(r, n) for r, n in self.reject_reasons],
            "retry_reasons": [_reason_item(r, n) for r, n in self.retry_reasons],
            "acquisition_failures": {
                f: {**rate.as_dict(), "by_device": {d: r.as_dict() for d, r in self.acquisition_by_device[f].items()}}
                for f, rate in self.acquisition.items()
            },
            "error_estimates": self.estimates.as_dict(),
            "staff": [a.as_dict(sid) for sid, a in sorted(self.staff.items())],
        }


def _stage_counts(checks: list[CheckRow]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for c in checks:
        row = out.setdefault(c.stage, {"total": 0, **dict.fromkeys(DECISIONS, 0), "overridden": 0})
        row["total"] += 1
        row[c.decision] = row.get(c.decision, 0) + 1
        row["overridden"] += c.overridden
    order = {s.value: i for i, s in enumerate(Stage)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _acquisition(checks: list[CheckRow]) -> tuple[dict[str, Rate], dict[str, dict[str, Rate]]]:
    """Failures to acquire per factor: a capture was attempted but unusable (quality or device failure).

    Biometric factors count ``quality_failed``/``acquisition_failed`` among the attempted ones (``not_captured``
    is no attempt); the document counts an unreadable number (``bad``) among the cards read.
    """
    totals: dict[str, Rate] = {}
    per_device: dict[str, dict[str, Rate]] = defaultdict(dict)
    for c in checks:
        for factor, rec in c.factors.items():
            if not isinstance(rec, dict) or factor not in FACTOR_DEVICE:
                continue
            status = rec.get("status")
            if status in (None, "not_captured"):
                continue
            failed = status == "bad" if factor == "document" else status in ACQUISITION_FAILED
            device = str(c.devices.get(FACTOR_DEVICE[factor]) or "unknown")
            for rate in (totals.setdefault(factor, Rate()), per_device[factor].setdefault(device, Rate())):
                rate.attempts += 1
                rate.failures += failed
    return dict(sorted(totals.items())), {f: dict(sorted(per_device[f].items())) for f in sorted(totals)}


def _reason_item(reason: Reason, count: int) -> dict[str, Any]:
    """A counted reason: its flat ``reason`` key, its code and parameters (for rendering) and the count."""
    return {"reason": reason.key, **reason.as_dict(), "count": count}


def _reasons(checks: list[CheckRow], decision: str) -> list[tuple[Reason, int]]:
    """The reasons given for ``decision``, grouped by code and factor, commonest first."""
    groups: dict[str, Reason] = {}
    counter: Counter[str] = Counter()
    for c in checks:
        if c.decision != decision:
            continue
        for raw in c.reasons:
            reason = Reason.parse(raw).grouped()
            groups.setdefault(reason.key, reason)
            counter[reason.key] += 1
    return [(groups[k], n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def _staff(checks: list[CheckRow], enrolments: list[EnrolmentRow], overrides: list[OverrideRow]
           ) -> dict[str, StaffActivity]:
    staff: dict[str, StaffActivity] = defaultdict(StaffActivity)
    for c in checks:
        staff[c.staff_id or "unattributed"].checks[c.decision] += 1
    for e in enrolments:
        staff[e.staff_id or "unattributed"].enrolments += 1
    for o in overrides:
        staff[o.requested_by].overrides_requested += 1
        staff[o.witness_id].overrides_witnessed += 1
    return dict(staff)


def monthly_statistics(db: Session, period: Period, *, clinic: str = "") -> MonthlyReport:
    """Compute the month's figures (read-only)."""
    checks = repository.checks_between(db, period.start, period.end)
    overrides = repository.overrides_between(db, period.start, period.end)
    enrolments = repository.enrolments_between(db, period.start, period.end)
    events = repository.event_counts_between(db, period.start, period.end, ["alert.repeated_rejects"])
    enrol_counts = {s: 0 for s in ENROLMENT_STATUSES}
    for e in enrolments:
        enrol_counts[e.status] = enrol_counts.get(e.status, 0) + 1
    acquisition, by_device = _acquisition(checks)
    card_of_other = sum(
        1 for c in checks
        if isinstance(c.factors.get("document"), dict) and c.factors["document"].get("status") == "mismatch"
        and c.factors["document"].get("card_owner_patient_id")
    )
    return MonthlyReport(
        period=period,
        clinic=clinic,
        generated_at=utcnow(),
        enrolments=enrol_counts,
        patients_enrolled=len({e.patient_id for e in enrolments if e.status == "complete"}),
        checks_by_stage=_stage_counts(checks),
        overrides_by_reason=dict(sorted(Counter(o.reason_code for o in overrides).items())),
        overrides_by_stage=dict(sorted(Counter(o.stage for o in overrides).items())),
        overrides_by_decision=dict(sorted(Counter(o.original_decision for o in overrides).items())),
        alerts={
            "duplicate_identity_enrolments": enrol_counts.get("duplicate_suspected", 0),
            "card_of_another_patient": card_of_other,
            "repeated_rejects": events["alert.repeated_rejects"],
        },
        reject_reasons=_reasons(checks, "reject"),
        retry_reasons=_reasons(checks, "retry"),
        acquisition=acquisition,
        acquisition_by_device=by_device,
        estimates=estimate(checks),
        staff=_staff(checks, enrolments, overrides),
    )
