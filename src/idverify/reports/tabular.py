"""The monthly statistics as CSV for spreadsheets: one figure per row, ``section,key,metric,value,label``.

A long (tidy) layout rather than one sheet per table, so a spreadsheet pivot or the commission's import can read
every month's file the same way, whatever stages or reasons occurred. Ids only. ``key`` is the stable code (a
stage, a decision, a reason code …) a program matches on; ``label`` says the same in the reader's language (the
``lang`` of the download) for a person reading the sheet — empty where the key is no word (ids, devices).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

from idverify.biometrics.reasons import render
from idverify.i18n import Translator
from idverify.ledger.export import CSV_BOM
from idverify.reports.monthly import MonthlyReport

CSV_HEADER = ("section", "key", "metric", "value", "label")
#: The catalogue prefix of the keys of each section (the label column translates them).
_KEY_WORDS: dict[str, str] = {"enrolments": "enrol_status", "checks_by_stage": "stage",
                              "overrides_by_reason": "override_reason", "overrides_by_stage": "stage",
                              "overrides_by_original_decision": "decision", "acquisition_failures": "factor",
                              "fnmr": "factor", "fmr": "factor"}


def _label(t: Translator, section: str, key: str) -> str:
    prefix = _KEY_WORDS.get(section)
    if not key or prefix is None:
        return ""
    text = t(f"{prefix}.{key}")
    return "" if text == f"{prefix}.{key}" else text


def _rows(report: MonthlyReport, t: Translator) -> Iterator[tuple[str, str, str, Any, str]]:
    for row in _figures(report):
        yield (*row, _label(t, row[0], row[1]))
    doc = report.as_dict()
    for kind in ("reject_reasons", "retry_reasons"):
        for item in doc[kind]:
            yield kind, item["reason"], "count", item["count"], render(t, item, details=False)


def _figures(report: MonthlyReport) -> Iterator[tuple[str, str, str, Any]]:
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


def write_monthly_csv(report: MonthlyReport, out: IO[str], *, locale: str = "zh-CN") -> int:
    """Write the UTF-8 BOM (Excel on Chinese Windows), the header and one row per figure, labels in ``locale``;
    returns the data rows."""
    out.write(CSV_BOM)
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    count = 0
    for section, key, metric, value, label in _rows(report, Translator(locale)):
        writer.writerow([section, key, metric, "" if value is None else value, label])
        count += 1
    return count
