"""The monthly report as a PDF for the health commission (reportlab), with the charts and the ledger anchor.

Owns layout only: figures come from a :class:`~idverify.reports.monthly.MonthlyReport`, pictures from
:mod:`idverify.reports.charts`, words from the locale catalogue (the report is written in the reader's language:
zh-CN for the commission, English on request), and the one embedded font from :mod:`idverify.reports.fonts`.
Each heading is kept on the page of the table or chart it introduces. The signed ledger checkpoint (tree size,
root hash, time, origin) is printed on every page's footer, so a printed report can be tied to the audit trail it
summarises: an inspector holding the clinic's public key can ask for a consistency proof from that root to any
later one. Ids and counts only.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from idverify.biometrics.reasons import render
from idverify.i18n import Translator
from idverify.ledger.canonical import format_time
from idverify.ledger.models import LedgerCheckpoint
from idverify.reports import charts, fonts
from idverify.reports.estimates import MIN_TRIALS_FOR_COMPARISON
from idverify.reports.monthly import DECISIONS, MonthlyReport


@dataclass(frozen=True)
class Anchor:
    """The signed checkpoint a report is tied to."""

    tree_size: int
    root_hash_b64: str
    signed_at: str
    origin: str

    @classmethod
    def of(cls, cp: LedgerCheckpoint) -> Anchor:
        return cls(int(cp.tree_size), base64.b64encode(bytes(cp.root_hash)).decode(), format_time(cp.signed_at),
                   cp.origin)


def _pct(t: Translator, value: float | None) -> str:
    return t("pdf.na") if value is None else f"{100 * value:.2f} %"


def _label(t: Translator, prefix: str, key: str) -> str:
    """The catalogue's word for ``prefix.key`` (a stage, decision, factor, reason); the key itself when unknown."""
    text = t(f"{prefix}.{key}")
    return key.replace("_", " ") if text == f"{prefix}.{key}" else text


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()

    def style(name: str, parent: str, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base[parent], fontName=font, **kw)

    return {
        "title": style("t", "Title", fontSize=17, leading=22, spaceAfter=2),
        "clinic": style("c", "Normal", fontSize=12, leading=15, alignment=1),
        "h2": style("h", "Heading2", fontSize=12, leading=15, spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "body": style("b", "Normal", fontSize=9, leading=12.5),
        "small": style("s", "Normal", fontSize=7.5, leading=10, textColor=colors.HexColor("#444444")),
    }


def _table(font: str, rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    t = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b0bec5")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return t


def _image(png: bytes, width: float) -> Image:
    img = Image(io.BytesIO(png))
    scale = width / img.imageWidth
    img.drawWidth, img.drawHeight = width, img.imageHeight * scale
    return img


def render_monthly_pdf(report: MonthlyReport, anchor: Anchor, *, locale: str = "zh-CN",
                       font_file: Path | None = None) -> bytes:
    """A4 PDF in ``locale``: key figures, charts, tables, estimate method, per-staff activity; anchor on every page.

    ``font_file`` is the configured report font (``IDVERIFY_REPORT_FONT``); None looks for an installed one.
    """
    t = Translator(locale)
    font_path = fonts.find_font(font_file)
    font = fonts.register(font_path)
    family = fonts.chart_family(font_path)
    st = _styles(font)
    doc = report.as_dict()
    width = A4[0] - 36 * mm

    def section(heading: str, *body: Flowable) -> Flowable:
        """A heading kept on one page with what it introduces (a long table still breaks after its header row)."""
        return KeepTogether([Paragraph(escape(heading), st["h2"]), *body])

    def table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        return _table(font, rows, widths)

    checks = doc["checks"]
    est = doc["error_estimates"]
    story: list[Flowable] = [
        Paragraph(escape(t("pdf.title")), st["title"]),
        Paragraph(escape(report.clinic or t("reason.pdf.clinic_unnamed")), st["clinic"]),
        Paragraph(escape(t("pdf.period", month=report.period.month, tz=report.period.timezone, start=doc["from"],
                           end=doc["to"], generated=doc["generated_at"])), st["small"]),
        Spacer(1, 4 * mm),
    ]
    key_rows: list[list[Any]] = [
        [t("pdf.col.figure"), t("pdf.col.value")],
        [t("pdf.enrolments_all"), doc["enrolments"]["total"]],
        [t("pdf.patients_enrolled"), doc["enrolments"]["patients_enrolled"]],
        [t("pdf.stage_checks"), checks["total"]],
        *[[f"  {_label(t, 'decision', d)}", checks["by_decision"][d]] for d in DECISIONS],
        [t("pdf.overrides"), doc["overrides"]["total"]],
        [t("pdf.duplicate_alerts"), doc["alerts"]["duplicate_identity_enrolments"]],
        [t("pdf.card_of_another"), doc["alerts"]["card_of_another_patient"]],
        [t("pdf.repeated_rejects"), doc["alerts"]["repeated_rejects"]],
        [t("pdf.frr_estimate"), _pct(t, est["false_reject_rate"]["rate"])],
    ]
    story.append(section(t("pdf.key_figures"), table(key_rows, [95 * mm, 40 * mm])))

    labels = charts.Labels(t, family)
    stage_rows: list[list[Any]] = [[t("pdf.col.stage"), t("pdf.col.total"), *[_label(t, "decision", d)
                                                                             for d in DECISIONS],
                                    t("pdf.col.overridden")]]
    for stage, c in checks["by_stage"].items():
        stage_rows.append([_label(t, "stage", stage), c["total"], *[c[d] for d in DECISIONS], c["overridden"]])
    story.append(section(t("pdf.checks_per_stage"), _image(charts.checks_by_stage_png(report, labels), width * 0.92),
                         table(stage_rows)))

    def reason_table(items: list[dict[str, Any]]) -> Table:
        """Reasons in the report's language (a cell that wraps), with their counts."""
        return table([[t("pdf.col.reason"), t("pdf.col.count")],
                      *[[Paragraph(escape(render(t, item, details=False)), st["body"]), item["count"]]
                        for item in items]], [135 * mm, 25 * mm])

    story.append(section(t("pdf.rejects_by_reason"),
                         _image(charts.reject_reasons_png(report, labels), width * 0.92),
                         *([reason_table(doc["reject_reasons"])] if doc["reject_reasons"] else [])))
    if doc["retry_reasons"]:
        story.append(section(t("reason.pdf.retries_by_reason"), reason_table(doc["retry_reasons"])))
    if doc["overrides"]["by_reason"]:
        story.append(section(t("pdf.overrides_by_reason"), table(
            [[t("pdf.col.reason"), t("pdf.col.count")],
             *[[_label(t, "override_reason", k), v] for k, v in doc["overrides"]["by_reason"].items()]],
            [95 * mm, 40 * mm])))

    acq_rows: list[list[Any]] = [[t("pdf.col.factor_device"), t("pdf.col.attempts"), t("pdf.col.failures"),
                                  t("pdf.col.rate")]]
    for factor, a in doc["acquisition_failures"].items():
        acq_rows.append([_label(t, "factor", factor), a["attempts"], a["failures"], _pct(t, a["rate"])])
        for device, r in a["by_device"].items():
            name = t("pdf.device_unknown") if device == "unknown" else device
            acq_rows.append([f"  {name}", r["attempts"], r["failures"], _pct(t, r["rate"])])
    story.append(section(t("pdf.acquisition"), _image(charts.acquisition_png(report, labels), width * 0.8),
                         table(acq_rows)))

    err_rows: list[list[Any]] = [[t("pdf.col.rate_kind"), t("pdf.col.factor"), t("pdf.col.errors_trials"),
                                  t("pdf.col.estimate"), t("pdf.col.interval")]]
    for kind in ("fnmr", "fmr"):
        for factor, v in est[kind].items():
            interval = (t("pdf.na") if v["ci95_low"] is None
                        else f"{_pct(t, v['ci95_low'])} – {_pct(t, v['ci95_high'])}")
            err_rows.append([t(f"pdf.rate.{kind}"), _label(t, "factor", factor), f"{v['errors']} / {v['trials']}",
                             _pct(t, v["rate"]), interval])
    story.append(section(t("pdf.estimates"), table(err_rows), Spacer(1, 2 * mm),
                         Paragraph(escape(t("pdf.method", min_trials=MIN_TRIALS_FOR_COMPARISON)), st["small"])))

    staff_rows: list[list[Any]] = [[t("pdf.col.staff_id"), t("pdf.col.checks"),
                                    *[_label(t, "decision", d) for d in DECISIONS], t("pdf.col.enrolments"),
                                    t("pdf.col.ovr_requested"), t("pdf.col.ovr_witnessed")]]
    for p in doc["staff"]:
        staff_rows.append([p["staff_id"], p["checks"], *[p[d] for d in DECISIONS], p["enrolments"],
                           p["overrides_requested"], p["overrides_witnessed"]])
    story.append(section(t("pdf.staff"), table(staff_rows, [62 * mm] + [15.7 * mm] * 7)))

    # The catalogue's anchor text carries <b> markup; only the values are escaped.
    story.append(section(t("pdf.anchor"), Paragraph(t(
        "pdf.anchor_text", size=anchor.tree_size, root=escape(anchor.root_hash_b64), signed=escape(anchor.signed_at),
        origin=escape(anchor.origin)), st["body"])))

    def footer(canvas: Canvas, pdf_doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 6.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, 11 * mm, t("pdf.footer", size=anchor.tree_size, root=anchor.root_hash_b64,
                                              signed=anchor.signed_at, origin=anchor.origin))
        canvas.drawRightString(A4[0] - 18 * mm, 7.5 * mm, t("pdf.page", month=report.period.month,
                                                            page=pdf_doc.page))
        canvas.restoreState()

    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=t("pdf.doc_title", month=report.period.month),
                            author="idverify", lang=locale, initialFontName=font)
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
