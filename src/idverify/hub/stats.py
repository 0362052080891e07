"""Monthly statistics per clinic and for the region, from the feed's monthly counts (``hub_monthly``).

Months are calendar months in Asia/Shanghai, like the clinics' own monthly reports, counted by ledger time.
Rates are fractions (0..1) of stage checks; a clinic with no checks has no rate (None), never 0.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idverify.errors import ValidationFailed
from idverify.hub import repository
from idverify.hub.models import HubAlert, HubMonthly
from idverify.hub.projection import REGION_TZ
from idverify.hub.projection_repository import MONTHLY_FIELDS
from idverify.store.base import utcnow

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def current_month() -> str:
    return utcnow().astimezone(REGION_TZ).strftime("%Y-%m")


def check_month(month: str | None) -> str:
    if month is None:
        return current_month()
    if not _MONTH.match(month):
        raise ValidationFailed("month must be YYYY-MM")
    return month


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of ``month`` in the region's time zone, as UTC."""
    year, mon = int(month[:4]), int(month[5:])
    start = datetime(year, mon, 1, tzinfo=REGION_TZ)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=REGION_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    checks = row["checks"]
    return {**row, **{f"{f[:-1]}_rate": (row[f] / checks if checks else None)
                      for f in ("rejects", "overrides", "retries")}}


def monthly(session: Session, month: str) -> dict[str, Any]:
    counts = {str(r.clinic_id): {f: int(getattr(r, f)) for f in MONTHLY_FIELDS} for r in session.scalars(
        select(HubMonthly).where(HubMonthly.month == month, HubMonthly.staff_id == ""))}
    start, end = month_bounds(month)
    alert_counts = dict(session.execute(
        select(HubAlert.clinic_id, func.count())
        .where(HubAlert.created_at >= start, HubAlert.created_at < end, HubAlert.clinic_id.is_not(None))
        .group_by(HubAlert.clinic_id)).all())
    clinics = []
    total: dict[str, int] = dict.fromkeys(MONTHLY_FIELDS, 0)
    for clinic in repository.clinics(session):
        row = counts.get(clinic.id, dict.fromkeys(MONTHLY_FIELDS, 0))
        for f in MONTHLY_FIELDS:
            total[f] += row[f]
        clinics.append(_rates({"clinic_id": clinic.id, "name": clinic.name, **row,
                               "alerts": int(alert_counts.get(clinic.id, 0))}))
    total["alerts"] = sum(int(n) for n in alert_counts.values())
    return {"month": month, "clinics": clinics, "region": _rates({"clinics": len(clinics), **total})}
