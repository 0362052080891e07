"""The monthly report as a PDF for the health commission (reportlab), with the charts and the ledger anchor.

Owns layout only: figures come from a :class:`~idverify.reports.monthly.MonthlyReport`, pictures from
:mod:`idverify.reports.charts`. The signed ledger checkpoint (tree size, root hash, time, origin) is printed on
every page's footer, so a printed report can be tied to the audit trail it summarises: an inspector holding the
clinic's public key can ask for a consistency proof from that root to any later one. Ids and counts only.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
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

from idverify.ledger.canonical import format_time
from idverify.ledger.models import LedgerCheckpoint
from idverify.reports import charts
from idverify.reports.monthly import DECISIONS, MonthlyReport

CJK_FONT = "STSong-Light"  # Adobe's CID font: no font file needed, renders Chinese clinic names


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


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return {
        "title": ParagraphStyle("t", parent=base["Title"], fontSize=17, spaceAfter=2),
        "clinic": ParagraphStyle("c", parent=base["Normal"], fontName=CJK_FONT, fontSize=12, alignment=1),
        "h2": ParagraphStyle("h", parent=base["Heading2"], fontSize=12, spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("b", parent=base["Normal"], fontSize=9, leading=11.5),
        "small": ParagraphStyle("s", parent=base["Normal"], fontSize=7.5, leading=9.5,
                                textColor=colors.HexColor("#444444")),
    }


def _table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    t = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
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


def render_monthly_pdf(report: MonthlyReport, anchor: Anchor) -> bytes:
    """A4 PDF: key figures, charts, tables, estimate method, per-staff activity; anchor on every page."""
    st = _styles()
    doc = report.as_dict()
    width = A4[0] - 36 * mm
    story: list[Flowable] = [
        Paragraph("Patient identity verification — monthly report", st["title"]),
        Paragraph(escape(report.clinic or "clinic"), st["clinic"]),
        Paragraph(f"Month {escape(report.period.month)} ({escape(report.period.timezone)}): "
                  f"{doc['from']} to {doc['to']} (UTC). Generated {doc['generated_at']}.", st["small"]),
        Spacer(1, 4 * mm),
        Paragraph("Key figures", st["h2"]),
    ]
    checks = doc["checks"]
    est = doc["error_estimates"]
    key_rows: list[list[Any]] = [
        ["figure", "value"],
        ["enrolments (all outcomes)", doc["enrolments"]["total"]],
        ["patients newly enrolled", doc["enrolments"]["patients_enrolled"]],
        ["stage checks", checks["total"]],
        *[[f"  {d}", checks["by_decision"][d]] for d in DECISIONS],
        ["overrides (two-person)", doc["overrides"]["total"]],
        ["duplicate-identity alerts at enrolment", doc["alerts"]["duplicate_identity_enrolments"]],
        ["cards of another patient presented", doc["alerts"]["card_of_another_patient"]],
        ["repeated-reject alerts", doc["alerts"]["repeated_rejects"]],
        ["check-level false reject rate (estimate)", _pct(est["false_reject_rate"]["rate"])],
    ]
    story.append(_table(key_rows, [95 * mm, 40 * mm]))
    story.append(KeepTogether([Paragraph("Checks per stage", st["h2"]),
                               _image(charts.checks_by_stage_png(report), width * 0.92)]))
    stage_rows: list[list[Any]] = [["stage", "total", *DECISIONS, "overridden"]]
    for stage, c in checks["by_stage"].items():
        stage_rows.append([stage.replace("_", " "), c["total"], *[c[d] for d in DECISIONS], c["overridden"]])
    story.append(_table(stage_rows))

    story.append(KeepTogether([Paragraph("Rejects by reason", st["h2"]),
                               _image(charts.reject_reasons_png(report), width * 0.92)]))
    if doc["overrides"]["by_reason"]:
        story.append(Paragraph("Overrides by reason", st["h2"]))
        story.append(_table([["reason", "count"], *[[k.replace("_", " "), v]
                                                     for k, v in doc["overrides"]["by_reason"].items()]],
                            [95 * mm, 40 * mm]))

    story.append(KeepTogether([Paragraph("Devices: failures to acquire", st["h2"]),
                               _image(charts.acquisition_png(report), width * 0.8)]))
    acq_rows: list[list[Any]] = [["factor / device", "attempts", "failures", "rate"]]
    for factor, a in doc["acquisition_failures"].items():
        acq_rows.append([factor.replace("_", " "), a["attempts"], a["failures"], _pct(a["rate"])])
        for device, r in a["by_device"].items():
            acq_rows.append([f"  {device}", r["attempts"], r["failures"], _pct(r["rate"])])
    story.append(_table(acq_rows))

    story.append(Paragraph("Error-rate estimates from operation", st["h2"]))
    err_rows: list[list[Any]] = [["rate", "factor", "errors / trials", "estimate", "95 % interval"]]
    for kind, label in (("fnmr", "FNMR"), ("fmr", "FMR")):
        for factor, v in est[kind].items():
            interval = "n/a" if v["ci95_low"] is None else f"{_pct(v['ci95_low'])} – {_pct(v['ci95_high'])}"
            err_rows.append([label, factor.replace("_", " "), f"{v['errors']} / {v['trials']}", _pct(v["rate"]),
                             interval])
    story.append(_table(err_rows))
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(f"How these are estimated: {escape(est['method'])}", st["small"]))

    story.append(Paragraph("Activity per staff member (ids)", st["h2"]))
    staff_rows: list[list[Any]] = [["staff id", "checks", *DECISIONS, "enrol.", "ovr. req.", "ovr. witn."]]
    for p in doc["staff"]:
        staff_rows.append([p["staff_id"], p["checks"], *[p[d] for d in DECISIONS], p["enrolments"],
                           p["overrides_requested"], p["overrides_witnessed"]])
    story.append(_table(staff_rows, [62 * mm] + [15.7 * mm] * 7))

    story.append(Paragraph("Audit ledger anchor", st["h2"]))
    story.append(Paragraph(
        f"These figures were produced from the clinic's tamper-evident audit ledger. Signed checkpoint: "
        f"tree size <b>{anchor.tree_size}</b>, root hash (SHA-256, base64) <b>{escape(anchor.root_hash_b64)}</b>, "
        f"signed {escape(anchor.signed_at)} by {escape(anchor.origin)}. Request a consistency proof from this "
        f"size to verify that later exports extend the same ledger.", st["body"]))

    def footer(canvas: Canvas, pdf_doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, 11 * mm, f"ledger checkpoint: size {anchor.tree_size}  root "
                          f"{anchor.root_hash_b64}  signed {anchor.signed_at}  {anchor.origin}")
        canvas.drawRightString(A4[0] - 18 * mm, 7.5 * mm, f"{report.period.month} · page {pdf_doc.page}")
        canvas.restoreState()

    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=f"Monthly identity verification report {report.period.month}",
                            author="idverify")
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
