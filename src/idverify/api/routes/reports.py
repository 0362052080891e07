"""Monthly statistics for the health commission (inspector): JSON, CSV and a PDF with charts.

The figures are computed by :mod:`idverify.reports.monthly`; CSV and PDF downloads are recorded in the ledger
as ``export.created`` (data leaving the system), and the PDF prints the signed checkpoint it was made against.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from idverify.api.deps import Inspector, SessionDep, SettingsDep
from idverify.reports import service
from idverify.reports.monthly import DEFAULT_TZ, monthly_statistics, parse_month
from idverify.reports.pdf import Anchor, render_monthly_pdf
from idverify.reports.tabular import write_monthly_csv

router = APIRouter(prefix="/reports", tags=["reports"])

MonthQ = Annotated[str, Query(max_length=7, description="YYYY-MM", examples=["2026-11"])]
LangQ = Annotated[Literal["zh-CN", "en"], Query(description="Language the PDF is written in (the CSV: its label "
                                                            "column)")]
TzQ = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$",
                           description="IANA time zone the month is counted in")]


@router.get("/monthly", summary="The month's figures as JSON")
def get_monthly(db: SessionDep, settings: SettingsDep, _inspector: Inspector, month: MonthQ,
                tz: TzQ = DEFAULT_TZ) -> dict[str, Any]:
    return monthly_statistics(db, parse_month(month, tz), clinic=settings.clinic_name).as_dict()


@router.get("/monthly.csv", summary="The month's figures as CSV (section,key,metric,value,label)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def get_monthly_csv(db: SessionDep, settings: SettingsDep, inspector: Inspector, month: MonthQ,
                    tz: TzQ = DEFAULT_TZ, lang: LangQ = "zh-CN") -> Response:
    period = parse_month(month, tz)
    service.record_export(db, settings, inspector, {"format": "monthly.csv", "month": month, "tz": tz})
    out = io.StringIO()
    write_monthly_csv(monthly_statistics(db, period, clinic=settings.clinic_name), out, locale=lang)
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="idverify-monthly-{month}.csv"'})


@router.get("/monthly.pdf", summary="The month's report as PDF with charts and the ledger checkpoint root",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def get_monthly_pdf(db: SessionDep, settings: SettingsDep, inspector: Inspector, month: MonthQ,
                    tz: TzQ = DEFAULT_TZ, lang: LangQ = "zh-CN") -> Response:
    period = parse_month(month, tz)
    checkpoint = service.record_export(db, settings, inspector, {"format": "monthly.pdf", "month": month, "tz": tz})
    report = monthly_statistics(db, period, clinic=settings.clinic_name)
    pdf = render_monthly_pdf(report, Anchor.of(checkpoint), locale=lang, font_file=settings.report_font)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="idverify-monthly-{month}.pdf"'})
