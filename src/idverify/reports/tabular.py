"""The monthly statistics as CSV for spreadsheets: one figure per row, ``section,key,metric,value``.

A long (tidy) layout rather than one sheet per table, so a spreadsheet pivot or the commission's import can read
every month's file the same way, whatever stages or reasons occurred. Ids only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

from idverify.ledger.export import CSV_BOM
from idverify.reports.monthly import MonthlyReport

CSV_HEADER = ("section", "key", "metric", "value")


def _rows(report: MonthlyReport) -> Iterator[tuple[str, str, str, Any]]:
    doc = report.as_dict()
    for k in ("month", "timezone", "from", "to", "clinic", "generated_at"):
        yield "period", "", k, doc[k]
    enrol = doc["enrolments"]
    yield "enrolments", "", "total", enrol["total"]
    yield "enrolments", "", "patients_enrolled", enrol["patients_enrolled"]
    for status, n in enrol["by_status"].items():
        yield "enrolments", status, "count", n
    checks = doc["checks"]
    yield "checks", "", "total", checks["total"]
    yield "checks", "", "overridden", checks["overridden"]
    for decision, n in checks["by_decision"].items():
        yield "checks", "", decision, n
    for stage, counts in checks["by_stage"].items():
        for metric, n in counts.items():
            yield "checks_by_stage", stage, metric, n
    overrides = doc["overrides"]
    yield "overrides", "", "total", overrides["total"]
    for group in ("by_reason", "by_stage", "by_original_decision"):
        for key, n in overrides[group].items():
            yield f"overrides_{group}", key, "count", n
    for key, n in doc["alerts"].items():
        yield "alerts", key, "count", n
    for kind in ("reject_reasons", "retry_reasons"):
        for item in doc[kind]:
            yield kind, item["reason"], "count", item["count"]
    for factor, acq in doc["acquisition_failures"].items():
        for metric in ("attempts", "failures", "rate"):
            yield "acquisition_failures", factor, metric, acq[metric]
        for device, rate in acq["by_device"].items():
            for metric in ("attempts", "failures", "rate"):
                yield "acquisition_failures_by_device", f"{factor}/{device}", metric, rate[metric]
    est = doc["error_estimates"]
    yield "error_estimates", "", "genuine_checks", est["genuine_checks"]
    yield "error_estimates", "", "impostor_checks", est["impostor_checks"]
    for metric, v in est["false_reject_rate"].items():
        yield "false_reject_rate", "check", metric, v
    for kind in ("fnmr", "fmr"):
        for factor, values in est[kind].items():
            for metric, v in values.items():
                yield kind, factor, metric, v
    yield "error_estimates", "", "method", est["method"]
    for person in doc["staff"]:
        for metric, v in person.items():
            if metric != "staff_id":
                yield "staff", person["staff_id"], metric, v


def write_monthly_csv(report: MonthlyReport, out: IO[str]) -> int:
    """Write the UTF-8 BOM (Excel on Chinese Windows), the header and one row per figure; returns the data rows."""
    out.write(CSV_BOM)
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    count = 0
    for section, key, metric, value in _rows(report):
        writer.writerow([section, key, metric, "" if value is None else value])
        count += 1
    return count
