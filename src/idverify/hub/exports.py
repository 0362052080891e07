"""Exports for the commission: alerts and monthly statistics as CSV (UTF-8 with BOM, so spreadsheet programs
read the Chinese clinic names), alerts as a FHIR ``Bundle`` of ``AuditEvent`` resources (R5, or R4 on request),
statistics as a PDF.

An alert is DICOM's "Security Alert" (110113, the code the clinic ledger's alerts carry too, see
:mod:`idverify.ledger.fhir`); the alert's kind is the specific code (hub system) and, with its status, an extension.

Layout only: the rows come from :mod:`idverify.hub.inspection` and :mod:`idverify.hub.stats`. Ids, counts and
pseudonym references only — the hub holds no names or ID numbers to leak. Every export is recorded as a hub action
by the route that serves it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from xml.sax.saxutils import escape

from idverify.ledger.canonical import format_time
from idverify.ledger.fhir import DEFAULT_FHIR_VERSION, SECURITY_ALERT, FhirVersion
from idverify.store.base import utcnow

BOM = "\ufeff"
SYSTEM = "urn:idverify:hub"
ALERT_KIND_EXTENSION = f"{SYSTEM}:fhir:extension:alert-kind"
ALERT_STATUS_EXTENSION = f"{SYSTEM}:fhir:extension:alert-status"
ALERT_COLUMNS = ("id", "kind", "status", "clinic_id", "clinic_name", "created_at", "updated_at", "person",
                 "summary", "evidence_entries", "note")
MONTHLY_COLUMNS = ("clinic_id", "name", "checks", "accepts", "rejects", "retries", "overrides", "reject_rate",
                   "override_rate", "enrolments", "registrations", "alerts")


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def alerts_csv(alerts: list[dict[str, Any]]) -> str:
    return _csv(ALERT_COLUMNS, [[
        a["id"], a["kind"], a["status"], a["clinic_id"] or "", a.get("clinic_name") or "", a["created_at"],
        a["updated_at"], a["summary"].get("person", ""),
        json.dumps(a["summary"], ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        sum(1 for e in a.get("evidence", []) if e.get("type") == "entry"), a["note"] or "",
    ] for a in alerts])


def monthly_csv(stats: dict[str, Any]) -> str:
    rows = [[c.get(col) if c.get(col) is not None else "" for col in MONTHLY_COLUMNS] for c in stats["clinics"]]
    region = stats["region"]
    rows.append(["region", f"all {region['clinics']} clinics", *[
        region.get(col) if region.get(col) is not None else "" for col in MONTHLY_COLUMNS[2:]]])
    return _csv(MONTHLY_COLUMNS, rows)


def alert_audit_event(alert: dict[str, Any], *, hub_name: str,
                      version: FhirVersion = DEFAULT_FHIR_VERSION) -> dict[str, Any]:
    """One alert as a validated FHIR AuditEvent, R5 or R4 (the evidence entries as ``entity``)."""
    kind = {"system": f"{SYSTEM}:alert-kind", "code": alert["kind"]}
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"hub-alert-{alert['id']}",
        "extension": [{"url": ALERT_KIND_EXTENSION, "valueCode": alert["kind"]},
                      {"url": ALERT_STATUS_EXTENSION, "valueCode": alert["status"]}],
        "action": "E",
        "recorded": alert["created_at"],
    }
    agents: list[dict[str, Any]] = [{"who": {"display": hub_name}, "requestor": False}]
    if alert.get("clinic_id"):
        agents.append({"who": {"identifier": {"system": f"{SYSTEM}:clinic", "value": alert["clinic_id"]}},
                       "requestor": False})
    evidence = [e for e in alert.get("evidence", []) if e.get("type") == "entry"]
    entities: list[dict[str, Any]] = [{
        "what": {"identifier": {"system": f"urn:idverify:log:{e['origin']}", "value": str(e["index"])}},
        "role": {"system": f"{SYSTEM}:evidence", "code": e.get("what", "entry")},
    } for e in evidence]
    if version == "r4":
        from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent

        resource |= {"type": SECURITY_ALERT.coding(), "subtype": [kind], "agent": agents,
                     "source": {"observer": {"display": hub_name}}}
        if entities:
            resource["entity"] = entities
        r4: dict[str, Any] = R4AuditEvent.model_validate(resource).model_dump(mode="json", exclude_none=True)
        return r4
    from fhir.resources.auditevent import AuditEvent

    resource |= {
        "category": [{"coding": [SECURITY_ALERT.coding()]}, {"coding": [kind]}],
        "code": {"coding": [SECURITY_ALERT.coding(), kind]},
        "severity": "alert",
        "agent": agents,
        "source": {"observer": {"display": hub_name}},
    }
    if entities:
        resource["entity"] = [{**e, "role": {"coding": [e["role"]]}} for e in entities]
    r5: dict[str, Any] = AuditEvent.model_validate(resource).model_dump(mode="json", exclude_none=True)
    return r5


def alerts_fhir_bundle(alerts: list[dict[str, Any]], *, hub_name: str,
                       version: FhirVersion = DEFAULT_FHIR_VERSION) -> dict[str, Any]:
    """A ``collection`` Bundle of the alerts, validated as a whole against the release asked for."""
    if version == "r4":
        from fhir.resources.R4B.bundle import Bundle as R4Bundle

        bundle_model: Any = R4Bundle
    else:
        from fhir.resources.bundle import Bundle

        bundle_model = Bundle
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": format_time(utcnow()),
        "entry": [{"fullUrl": f"urn:uuid:hub-alert-{a['id']}",
                   "resource": alert_audit_event(a, hub_name=hub_name, version=version)} for a in alerts],
    }
    validated: dict[str, Any] = bundle_model.model_validate(bundle).model_dump(mode="json", exclude_none=True)
    return validated


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


#: columns of the monthly PDF: catalogue key of the heading, and the statistics' field
PDF_COLUMNS = (("stats.checks", "checks"), ("stats.accepts", "accepts"), ("stats.rejects", "rejects"),
               ("stats.retries", "retries"), ("stats.overrides", "overrides"), ("stats.reject_rate", "reject_rate"),
               ("stats.override_rate", "override_rate"), ("stats.enrolments", "enrolments"),
               ("stats.registrations", "registrations"), ("stats.alerts", "alerts"))


def monthly_pdf(stats: dict[str, Any], *, hub_name: str, anchor: dict[str, Any] | None,
                locale: str = "zh-CN") -> bytes:
    """The month's statistics per clinic and for the region, with the hub ledger checkpoint in the footer,
    written in ``locale`` (the regional inspector's language; the page asks in its own)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from idverify.hub.web.i18n import HubTranslator
    from idverify.reports import fonts

    t = HubTranslator(locale)
    font = fonts.register(fonts.find_font(None))  # embedded like the clinic's report: clinic names are Chinese
    styles = {name: style.clone(f"hub-{name}", fontName=font) for name, style in
              ((n, getSampleStyleSheet()[n]) for n in ("Title", "BodyText"))}
    buf = io.BytesIO()
    footer = (t("pdf.footer_checkpoint", size=anchor["tree_size"], root=anchor["root_hash"], at=anchor["signed_at"])
              if anchor else t("pdf.footer_no_checkpoint"))

    def on_page(canvas: Canvas, _doc: Any) -> None:
        canvas.setFont(font, 7)
        canvas.drawString(12 * mm, 8 * mm, footer)
        canvas.drawRightString(285 * mm, 8 * mm, t("pdf.page", page=canvas.getPageNumber()))

    title = t("pdf.title", month=stats["month"])
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=15 * mm, title=title, initialFontName=font)
    cell = styles["BodyText"]
    rows: list[list[Any]] = [[Paragraph(escape(t("clinics.name")), cell),
                              *(Paragraph(escape(t(key)), cell) for key, _ in PDF_COLUMNS)]]
    region = stats["region"]
    for c in [*stats["clinics"], {**region, "name": t("stats.region", clinics=region["clinics"])}]:
        rows.append([Paragraph(escape(str(c["name"])), cell),
                     *(_pct(c[field]) if field.endswith("_rate") else c.get(field, 0) for _, field in PDF_COLUMNS)])
    table = Table(rows, repeatRows=1, colWidths=[70 * mm] + [19 * mm] * len(PDF_COLUMNS))
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke), ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ]))
    story = [Paragraph(escape(title), styles["Title"]),
             Paragraph(escape(t("pdf.intro", witness=hub_name)), cell), Spacer(1, 4 * mm), table]
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
