"""Audit API for inspectors: events with filters and paging, signed checkpoints, Merkle proofs, the stored tree
re-verified, and exports (verifiable JSON Lines, FHIR AuditEvents — R5 or R4, one Bundle or NDJSON — and CSV: the
same documents as ``idverify audit export --format …``).

Read-only except for two audited writes: creating a checkpoint on demand and recording ``export.created``.
it_admin may read the integrity status only. Routes are thin: the work is in :mod:`idverify.reports` and the
ledger (:mod:`idverify.ledger.proofs`, :mod:`idverify.ledger.integrity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from idverify.api.deps import Inspector, SessionDep, SettingsDep, require_roles
from idverify.api.schemas.audit import (
    AuditEventOut,
    AuditEventPage,
    CheckpointOut,
    CheckpointPage,
    ConsistencyProofOut,
    EventTypesOut,
    InclusionProofOut,
    IntegrityOut,
    VerificationProofOut,
)
from idverify.audit import EVENT_TYPES
from idverify.auth.roles import Principal, Role
from idverify.errors import ConflictError, ErrorCode, NotFoundError
from idverify.ledger import proofs
from idverify.ledger import repository as ledger_repo
from idverify.ledger.merkle import ProofError
from idverify.ledger.signing_key import verify_clinic_tree
from idverify.reports import repository as reports_repo
from idverify.reports import service
from idverify.reports.events import EventQuery, list_events, parse_when
from idverify.reports.exports import (
    FHIR_FORMATS,
    all_media_types,
    build_export,
    check_export_request,
    file_name,
    media_type,
)
from idverify.reports.verification_proof import verification_proof

router = APIRouter(prefix="/audit", tags=["audit"])

InspectorOrItAdmin = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.IT_ADMIN))]
MAX_INDEX = 2**62  # within PostgreSQL BIGINT; the ledger will never be that large

FromQ = Annotated[str | None, Query(alias="from", max_length=40,
                                    description="YYYY-MM-DD (UTC day) or RFC 3339 timestamp, inclusive")]
ToQ = Annotated[str | None, Query(max_length=40,
                                  description="YYYY-MM-DD (that UTC day included) or RFC 3339 timestamp, exclusive")]
TypeQ = Annotated[str | None, Query(max_length=64, description="event type, or a prefix such as 'enrollment.*'")]
StageQ = Annotated[str | None, Query(max_length=32)]
DecisionQ = Literal["accept", "reject", "retry"] | None
IdQ = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class EventFilters:
    """The inspector's event filters as sent (an export records them) and as the query they mean."""

    given: dict[str, str]
    query: EventQuery


def event_filters(from_: FromQ = None, to: ToQ = None, type: TypeQ = None, stage: StageQ = None,
                  decision: DecisionQ = None, staff_id: IdQ = None, patient_id: IdQ = None) -> EventFilters:
    """One declaration of the filter parameters for every route that lists or exports events."""
    given = {"from": from_, "to": to, "type": type, "stage": stage, "decision": decision, "staff_id": staff_id,
             "patient_id": patient_id}
    query = EventQuery(since=parse_when(from_, end=False, name="from"), until=parse_when(to, end=True, name="to"),
                       event_type=type or None, stage=stage or None, decision=decision, staff_id=staff_id or None,
                       patient_id=patient_id or None)
    return EventFilters(given={k: v for k, v in given.items() if v is not None}, query=query)


Filters = Annotated[EventFilters, Depends(event_filters)]


@router.get("/events", response_model=AuditEventPage, summary="Audit events, newest first (keyset paging)")
def get_events(
    db: SessionDep,
    _inspector: Inspector,
    filters: Filters,
    after: Annotated[int | None, Query(ge=0, le=MAX_INDEX, description="next_after of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditEventPage:
    page = list_events(db, filters.query, limit=limit, after=after)
    return AuditEventPage(items=[AuditEventOut.model_validate(i) for i in page.items], next_after=page.next_after,
                          limit=limit)


@router.get("/event-types", response_model=EventTypesOut, summary="Event types to filter by, and their families")
def get_event_types(db: SessionDep, _inspector: Inspector) -> EventTypesOut:
    types = sorted({*EVENT_TYPES, *ledger_repo.event_types(db)})
    return EventTypesOut(types=types, groups=sorted({t.split(".", 1)[0] for t in types if "." in t}))


@router.get("/verifications/{verification_id}/proof", response_model=VerificationProofOut,
            summary="The ledger entry of a stage check and its inclusion proof in the newest signed checkpoint")
def get_verification_proof(verification_id: Annotated[str, Path(max_length=64)], db: SessionDep,
                           _inspector: Inspector) -> VerificationProofOut:
    proof = verification_proof(db, verification_id)
    return VerificationProofOut(
        verification_id=proof.verification_id, status=proof.status, index=proof.index,
        recorded_at=proof.recorded_at, leaf_hash=proof.leaf_hash, tree_size=proof.tree_size,
        hashes=list(proof.hashes), root_hash=proof.root_hash, verified=proof.verified,
        checkpoint=CheckpointOut.of(proof.checkpoint) if proof.checkpoint is not None else None)


@router.get("/checkpoints", response_model=CheckpointPage, summary="Signed checkpoints, newest first")
def get_checkpoints(
    db: SessionDep,
    _inspector: Inspector,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CheckpointPage:
    rows, total = reports_repo.checkpoint_page(db, offset=offset, limit=limit)
    return CheckpointPage(items=[CheckpointOut.of(r) for r in rows], total=total, offset=offset, limit=limit)


@router.get("/checkpoints/latest", response_model=CheckpointOut, summary="The latest signed checkpoint")
def get_latest_checkpoint(db: SessionDep, _inspector: Inspector) -> CheckpointOut:
    cp = proofs.latest_checkpoint(db)
    if cp is None:
        raise NotFoundError("the ledger has no signed checkpoint yet", code=ErrorCode.NO_CHECKPOINT)
    return CheckpointOut.of(cp)


@router.post("/checkpoints", response_model=CheckpointOut, status_code=201,
             summary="Sign a checkpoint of the current tree now (the latest one if nothing changed)")
def post_checkpoint(db: SessionDep, settings: SettingsDep, _inspector: Inspector) -> CheckpointOut:
    return CheckpointOut.of(service.sign_now(db, settings))


@router.get("/proofs/inclusion", response_model=InclusionProofOut, summary="RFC 9162 inclusion proof")
def get_inclusion_proof(
    db: SessionDep,
    _inspector: Inspector,
    index: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_INDEX, description="default: the latest checkpoint's")] = None,
) -> InclusionProofOut:
    if tree_size is None:
        latest = proofs.latest_checkpoint(db)
        if latest is None:
            raise NotFoundError("no signed checkpoint yet: pass tree_size or create a checkpoint",
                                code=ErrorCode.NO_CHECKPOINT)
        tree_size = int(latest.tree_size)
    try:
        proof = proofs.inclusion_proof(db, index, tree_size)
    except ProofError as exc:
        raise ConflictError(str(exc), code=ErrorCode.LEDGER_DAMAGED) from None
    cp = reports_repo.checkpoint_of_size(db, tree_size)
    return InclusionProofOut(**proof.as_dict(), checkpoint=CheckpointOut.of(cp) if cp else None)


@router.get("/proofs/consistency", response_model=ConsistencyProofOut, summary="RFC 9162 consistency proof")
def get_consistency_proof(
    db: SessionDep,
    _inspector: Inspector,
    old_size: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    new_size: Annotated[int | None, Query(ge=0, le=MAX_INDEX, description="default: the whole ledger")] = None,
) -> ConsistencyProofOut:
    try:
        proof = proofs.consistency_proof(db, old_size, new_size)
    except ProofError as exc:
        raise ConflictError(str(exc), code=ErrorCode.LEDGER_DAMAGED) from None
    old_cp = reports_repo.checkpoint_of_size(db, proof.old_size)
    new_cp = reports_repo.checkpoint_of_size(db, proof.new_size)
    return ConsistencyProofOut(**proof.as_dict(), old_checkpoint=CheckpointOut.of(old_cp) if old_cp else None,
                               new_checkpoint=CheckpointOut.of(new_cp) if new_cp else None)


@router.get("/integrity", response_model=IntegrityOut,
            summary="Re-verify the stored tree: every leaf, node and checkpoint signature (inspector, it_admin)")
def get_integrity(db: SessionDep, settings: SettingsDep, _who: InspectorOrItAdmin) -> IntegrityOut:
    report = verify_clinic_tree(db, service.signer_for(settings))
    return IntegrityOut(ok=report.ok, tree_size=report.tree_size, checkpoints_checked=report.checkpoints_checked,
                        nodes_checked=report.nodes_checked, problems=report.problems,
                        first_bad_index=report.first_bad_index, checked_at=report.checked_at,
                        duration_s=round(report.duration_s, 6))


@router.get("/export", summary="Export events (streamed): jsonl (verifiable), fhir (one Bundle), fhir-ndjson "
            "(one AuditEvent per line) or csv", response_class=StreamingResponse,
            responses={200: {"content": {t: {} for t in all_media_types()}}})
def get_export(
    db: SessionDep,
    settings: SettingsDep,
    inspector: Inspector,
    filters: Filters,
    format: Literal["jsonl", "fhir", "fhir-ndjson", "csv"] = "jsonl",
    fhir_version: Annotated[Literal["r4", "r5"], Query(description="FHIR release of the fhir formats")] = "r5",
    lang: Annotated[Literal["zh-CN", "en"], Query(description="Language of the CSV's label column")] = "zh-CN",
) -> StreamingResponse:
    check_export_request(format, filters.query)
    # Filters are nested so the export event itself never matches a stage/decision filter of later queries.
    recorded: dict[str, object] = {"format": format, "filters": filters.given}
    if format in FHIR_FORMATS:
        recorded["fhir_version"] = fhir_version
    checkpoint = service.record_export(db, settings, inspector, recorded)
    export = build_export(db, format, filters.query, checkpoint, clinic=settings.clinic_name, version=fhir_version,
                          locale=lang)
    db.rollback()  # end the read transaction before streaming
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name(format, int(checkpoint.tree_size), fhir_version)}"',
        "X-Export-Entries": str(export.summary["entries"]),
        "X-Export-Tree-Size": str(export.summary["tree_size"]),
    }
    return StreamingResponse(export.chunks(), media_type=media_type(format, fhir_version), headers=headers)
