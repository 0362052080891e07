"""``idverify audit report``: the monthly report written to a file from the command line (PDF, CSV or JSON).

For clinics that send the commission a file without running the REST API. Like the REST download, it records
``export.created`` (actor: the CLI at this workstation) and signs a checkpoint first, so the PDF prints a root
that covers its own creation. Database and rendering imports stay inside the function (``idverify --help`` is fast).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from idverify.console import emit_json, fail, settings_or_exit
from idverify.errors import IdverifyError, ValidationFailed
from idverify.i18n import LOCALES


def audit_report(
    month: Annotated[str, typer.Option("--month", help="Calendar month, YYYY-MM.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, csv or json.")] = "pdf",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone the month is counted in.")] = "Asia/Shanghai",
    lang: Annotated[str, typer.Option("--lang", help="Language of the PDF: zh-CN or en.")] = "zh-CN",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on the last line.")] = False,
) -> None:
    """Write the monthly statistics report (figures, charts, ledger checkpoint root) for the health commission."""
    from sqlalchemy.exc import SQLAlchemyError

    from idverify.reports import service
    from idverify.reports.monthly import monthly_statistics, parse_month
    from idverify.store.db import database_error, make_engine, make_session_factory

    settings = settings_or_exit()
    engine = make_engine(settings.resolved_database_url)
    try:
        if fmt not in {"pdf", "csv", "json"}:
            raise ValidationFailed("--format must be pdf, csv or json")
        if lang not in LOCALES:
            raise ValidationFailed("--lang must be zh-CN or en")
        period = parse_month(month, tz)
        actor: dict[str, str | None] = {"staff_id": None, "role": "cli", "workstation": settings.workstation_id}
        with make_session_factory(engine)() as db:
            checkpoint = service.record_export(db, settings, actor,
                                               {"format": f"monthly.{fmt}", "month": month, "tz": tz})
            report = monthly_statistics(db, period, clinic=settings.clinic_name)
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "pdf":
            from idverify.reports.pdf import Anchor, render_monthly_pdf

            out.write_bytes(render_monthly_pdf(report, Anchor.of(checkpoint), locale=lang,
                                               font_file=settings.report_font))
        elif fmt == "csv":
            from idverify.reports.tabular import write_monthly_csv

            with out.open("w", encoding="utf-8", newline="") as fh:
                write_monthly_csv(report, fh, locale=lang)
        else:
            out.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    except SQLAlchemyError as exc:
        fail(database_error(exc), as_json=as_json)
    finally:
        engine.dispose()
    summary: dict[str, Any] = {"out": str(out), "format": fmt, "month": month, "checks": report.checks_total,
                               "tree_size": int(checkpoint.tree_size)}
    if as_json:
        emit_json(summary)
    else:
        typer.echo(f"wrote the {month} report ({report.checks_total} checks) to {out}")
