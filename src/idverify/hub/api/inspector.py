"""The regional inspector's API: clinics, alerts with drill-down to the evidence, monthly statistics, exports.

``hub_admin`` may read the clinics table (it runs the registry); everything about alerts, entries, statistics
and exports is for ``regional_inspector`` only. Exports are recorded as hub actions before a byte is sent.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from idverify.hub import alert_repository, alerts, audit, exports, inspection, stats
from idverify.hub.api.deps import HubDep, HubSession, HubUser, RegionalInspector
from idverify.hub.scheduler import latest_anchor
from idverify.ledger.fhir import RELEASES

router = APIRouter(tags=["inspection"])


@router.get("/clinics", summary="Every registered clinic log: cosigned size and time, backlog, integrity")
def list_clinics(db: HubSession, _user: HubUser) -> dict[str, Any]:
    return {"items": inspection.clinics_table(db)}


@router.get("/clinics/{clinic_id}", summary="One clinic: its witness history and refused submissions")
def get_clinic(clinic_id: str, db: HubSession, _user: HubUser) -> dict[str, Any]:
    return inspection.clinic_detail(db, clinic_id)


@router.get("/clinics/{clinic_id}/entries/{index}",
            summary="A fed ledger entry with its inclusion proof in a cosigned checkpoint (verifiable offline)")
def get_entry(clinic_id: str, index: Annotated[int, Path(ge=0, le=2**62)], db: HubSession,
              _inspector: RegionalInspector) -> dict[str, Any]:
    return inspection.entry_with_proof(db, clinic_id, index)


AlertStatus = Literal["open", "acknowledged", "closed"]


@router.get("/alerts", summary="Alerts, newest first, with filters")
def list_alerts(
    db: HubSession, _inspector: RegionalInspector,
    status: AlertStatus | None = None, kind: str | None = Query(default=None, max_length=40),
    clinic_id: str | None = Query(default=None, max_length=36),
    limit: int = Query(default=50, ge=1, le=500), offset: int = Query(default=0, ge=0),
) -> dict[str, Any]:
    rows, total = alert_repository.listing(db, alert_repository.AlertFilter(status, kind, clinic_id),
                                           limit=limit, offset=offset)
    return {"items": [inspection.alert_view(a) for a in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/alerts/{alert_id}", summary="One alert with its evidence (entries, proofs, refused submissions)")
def get_alert(alert_id: int, db: HubSession, _inspector: RegionalInspector) -> dict[str, Any]:
    return inspection.alert_detail(db, alert_id)


class StatusIn(BaseModel):
    status: Literal["acknowledged", "closed"]
    note: str | None = Field(default=None, max_length=2000)


@router.post("/alerts/{alert_id}/status", summary="Acknowledge or close an alert (closing needs a note)")
def set_status(alert_id: int, body: StatusIn, db: HubSession, inspector: RegionalInspector) -> dict[str, Any]:
    alert = alerts.change_status(db, alert_id, body.status, note=body.note, user_id=inspector.user_id,
                                 role=inspector.role.value)
    db.commit()
    return inspection.alert_view(alert)


@router.get("/stats/monthly", summary="Monthly statistics per clinic and for the region")
def get_monthly(db: HubSession, _inspector: RegionalInspector,
                month: str | None = Query(default=None, max_length=7)) -> dict[str, Any]:
    return stats.monthly(db, stats.check_month(month))


def _record_export(db: Any, inspector: Any, what: str, fmt: str, **data: Any) -> None:
    audit.record(db, "export.created", {"what": what, "format": fmt, **data}, actor=inspector.user_id,
                 role=inspector.role.value)
    db.commit()


def _download(content: bytes | str, media: str, name: str) -> Response:
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                        "Cache-Control": "no-store"})


@router.get("/exports/alerts", summary="Alerts as CSV (with BOM) or a FHIR AuditEvent bundle (R5 or R4)",
            response_class=Response)
def export_alerts(db: HubSession, hub: HubDep, inspector: RegionalInspector,
                  format: Literal["csv", "fhir"] = "csv", status: AlertStatus | None = None,
                  fhir_version: Literal["r4", "r5"] = "r5") -> Response:
    rows, _total = alert_repository.listing(db, alert_repository.AlertFilter(status=status), limit=100_000,
                                            offset=0)
    detailed = [inspection.alert_detail(db, int(a.id)) for a in rows]
    extra = {"fhir_version": fhir_version} if format == "fhir" else {}
    _record_export(db, inspector, "alerts", format, status=status, alerts=len(detailed), **extra)
    if format == "csv":
        return _download(exports.alerts_csv(detailed), "text/csv; charset=utf-8", "hub-alerts.csv")
    bundle = exports.alerts_fhir_bundle(detailed, hub_name=hub.witness.name, version=fhir_version)
    return _download(json.dumps(bundle, ensure_ascii=False),
                     f"application/fhir+json; fhirVersion={RELEASES[fhir_version]}",
                     f"hub-alerts.{fhir_version}.fhir.json")


@router.get("/exports/monthly", summary="Monthly statistics as CSV (with BOM) or PDF", response_class=Response)
def export_monthly(db: HubSession, hub: HubDep, inspector: RegionalInspector,
                   month: str | None = Query(default=None, max_length=7),
                   format: Literal["csv", "pdf"] = "csv",
                   lang: Annotated[Literal["zh-CN", "en"], Query(description="Language the PDF is written in")]
                   = "zh-CN") -> Response:
    figures = stats.monthly(db, stats.check_month(month))
    _record_export(db, inspector, "monthly", format, month=figures["month"])
    if format == "csv":
        return _download(exports.monthly_csv(figures), "text/csv; charset=utf-8",
                         f"hub-monthly-{figures['month']}.csv")
    pdf = exports.monthly_pdf(figures, hub_name=hub.witness.name, anchor=latest_anchor(db), locale=lang)
    return _download(pdf, "application/pdf", f"hub-monthly-{figures['month']}.pdf")
