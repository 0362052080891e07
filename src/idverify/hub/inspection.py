"""What the regional inspector reads: the clinics table, a clinic's witness history, alerts with their evidence,
and any fed entry with an inclusion proof against a checkpoint the witness cosigned.

The proof an inspector gets is checkable without trusting the hub: the entry's exact leaf bytes, the RFC 6962
audit path, and the checkpoint note carrying both the clinic's signature and the witness's cosignature — the
clinic cannot deny the entry (its key signed the root) and the hub cannot have invented it (the leaf hash and path
lead to that root). Read-only, except that reading evidence is not itself recorded (exports are).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idverify.errors import NotFoundError
from idverify.hub import alert_repository, repository
from idverify.hub.clinics import ClinicView
from idverify.hub.models import HubAlert, HubCosignature, HubEntry, HubRefusal
from idverify.ledger.canonical import format_time
from idverify.ledger.merkle import inclusion_ranges, tree_root, verify_inclusion


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def clinics_table(session: Session) -> list[dict[str, Any]]:
    open_alerts = alert_repository.open_counts_by_clinic(session)
    refusals = repository.refusal_counts(session)
    inconsistent = alert_repository.clinics_with(session, "checkpoint_refused")
    rows = []
    for clinic in repository.clinics(session):
        view = ClinicView(clinic, open_alerts.get(clinic.id, 0), refusals.get(clinic.id, 0)).as_dict()
        view["integrity"] = "inconsistent" if clinic.id in inconsistent else "consistent"
        rows.append(view)
    return rows


def clinic_detail(session: Session, clinic_id: str) -> dict[str, Any]:
    clinic = repository.clinic(session, clinic_id)
    if clinic is None:
        raise NotFoundError("no such clinic")
    view = next(c for c in clinics_table(session) if c["clinic_id"] == clinic_id)
    view["verifier_key"] = clinic.verifier_key
    view["cosignatures"] = [
        {"tree_size": int(c.tree_size), "old_size": int(c.old_size), "root_hash": _b64(bytes(c.root_hash)),
         "at": format_time(c.created_at)} for c in repository.cosignatures(session, clinic_id, limit=20)]
    view["refused"] = [
        {"id": int(r.id), "status": int(r.status_code), "reason": r.reason, "old_size": int(r.old_size),
         "tree_size": int(r.tree_size), "cosigned_size": int(r.witness_size), "at": format_time(r.received_at)}
        for r in repository.refusals(session, clinic_id, limit=20)]
    return view


def alert_view(alert: HubAlert) -> dict[str, Any]:
    return {
        "id": int(alert.id), "kind": alert.kind, "status": alert.status, "clinic_id": alert.clinic_id,
        "summary": alert.summary, "created_at": format_time(alert.created_at),
        "updated_at": format_time(alert.updated_at), "updated_by": alert.updated_by, "note": alert.note,
    }


def alert_detail(session: Session, alert_id: int) -> dict[str, Any]:
    alert = alert_repository.get(session, alert_id)
    if alert is None:
        raise NotFoundError("no such alert")
    names = {c.id: c.name for c in repository.clinics(session)}
    evidence = []
    for original in alert.evidence:
        item = dict(original)
        if item.get("clinic_id"):
            item["clinic_name"] = names.get(item["clinic_id"])
        if item.get("type") == "entry":
            entry = session.get(HubEntry, (item["clinic_id"], int(item["index"])))
            if entry is not None:
                item["event_type"] = entry.event_type
                item["recorded_at"] = format_time(entry.recorded_at)
            item["proof_path"] = f"/api/v1/clinics/{item['clinic_id']}/entries/{int(item['index'])}"
        elif item.get("type") == "refusal":
            refused = session.get(HubRefusal, int(item["refusal_id"]))
            if refused is not None:
                item["request"] = refused.body  # the signed submission itself: the evidence
        evidence.append(item)
    involved = {alert.clinic_id, *(e.get("clinic_id") for e in evidence), *alert.summary.get("clinics", [])}
    return {**alert_view(alert), "clinic_name": names.get(alert.clinic_id or ""), "evidence": evidence,
            "clinic_names": {c: names[c] for c in involved if c in names}}


def entry_with_proof(session: Session, clinic_id: str, index: int) -> dict[str, Any]:
    """The entry, and its inclusion proof in the largest cosigned checkpoint the hub holds every entry of."""
    clinic = repository.clinic(session, clinic_id)
    entry = session.get(HubEntry, (clinic_id, index))
    if clinic is None or entry is None:
        raise NotFoundError("the hub holds no such entry")
    cosigned = session.scalar(
        select(HubCosignature).where(HubCosignature.clinic_id == clinic_id, HubCosignature.tree_size > index,
                                     HubCosignature.tree_size <= int(clinic.feed_size))
        .order_by(HubCosignature.tree_size.desc(), HubCosignature.id.desc()).limit(1))
    if cosigned is None:  # pragma: no cover - every fed entry was proven against a cosigned checkpoint
        raise NotFoundError("no cosigned checkpoint covers this entry yet")
    size = int(cosigned.tree_size)
    leaves = [bytes(h) for (h,) in session.execute(
        select(HubEntry.leaf_hash).where(HubEntry.clinic_id == clinic_id, HubEntry.index < size)
        .order_by(HubEntry.index)).all()]
    path = [tree_root(leaves[s:e]) for s, e in inclusion_ranges(index, size)]
    verify_inclusion(index, size, leaves[index], path, bytes(cosigned.root_hash))  # the hub checks before telling
    return {
        "clinic_id": clinic_id, "origin": clinic.origin, "index": index, "event_type": entry.event_type,
        "recorded_at": format_time(entry.recorded_at), "entry": json.loads(entry.canonical),
        "leaf_hash": _b64(bytes(entry.leaf_hash)),
        "proof": {"tree_size": size, "hashes": [_b64(h) for h in path],
                  "root_hash": _b64(bytes(cosigned.root_hash)),
                  "checkpoint": cosigned.note + cosigned.cosignature},
    }


def counts(session: Session) -> dict[str, int]:
    open_alerts = session.scalar(select(func.count()).select_from(HubAlert).where(HubAlert.status == "open")) or 0
    return {"open_alerts": int(open_alerts)}
