"""Ledger entries as FHIR R5 ``AuditEvent`` resources (``fhir.resources`` ≥ 8, whose default package is R5).

FHIR is the export vocabulary for hospital systems and regulators; the ledger entry stays the source of truth.
Ids only: staff, patient, couple and cycle appear as identifiers/references, never with names; an API key's
action names the key (and the integration's name IT gave it) as ``agent.who``, not the person who issued it. The
entry's index and leaf hash go into ``entity`` so a FHIR consumer can ask the clinic for an inclusion proof.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import IO, Any

from idverify.ledger.models import LedgerEntry

SYSTEM = "urn:idverify"
EVENT_TYPE_SYSTEM = f"{SYSTEM}:audit-event-type"
CATEGORY_SYSTEM = f"{SYSTEM}:audit-event-category"
OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"

# FHIR AuditEvent.action: C create, R read, U update, D delete, E execute.
_ACTIONS = {"created": "C", "recorded": "C", "deleted": "D", "updated": "U", "read": "R", "viewed": "R"}
_DECISION_OUTCOME = {"accept": "0", "reject": "4", "retry": "4", "inconclusive": "4"}


def _action(event_type: str) -> str:
    verb = event_type.rsplit(".", 1)[-1]
    return _ACTIONS.get(verb, "E")


def to_fhir_audit_event(entry: LedgerEntry) -> dict[str, Any]:
    """Map one entry to a validated R5 AuditEvent (as JSON-ready dict)."""
    from fhir.resources.auditevent import AuditEvent

    doc = json.loads(entry.canonical)
    ev: dict[str, Any] = doc["event"]
    actor: dict[str, Any] = ev.get("actor") or {}
    subject: dict[str, Any] = ev.get("subject") or {}
    data: dict[str, Any] = ev.get("data") or {}
    etype: str = ev["type"]
    agent: dict[str, Any] = {"requestor": True}
    if actor.get("api_key_id"):  # an integration acted; its issuer stays in the entity's data (key_created_by)
        agent["who"] = {"identifier": {"system": f"{SYSTEM}:api-key", "value": actor["api_key_id"]}}
        if isinstance(data.get("integration"), str):
            agent["who"]["display"] = data["integration"]
    elif actor.get("staff_id"):
        agent["who"] = {"identifier": {"system": f"{SYSTEM}:staff", "value": actor["staff_id"]}}
    else:
        agent["who"] = {"display": "system"}
    if actor.get("role"):
        agent["role"] = [{"coding": [{"system": f"{SYSTEM}:role", "code": actor["role"]}]}]
    if actor.get("workstation"):
        agent["networkString"] = actor["workstation"]
    entities: list[dict[str, Any]] = [
        {
            "what": {"identifier": {"system": f"{SYSTEM}:ledger-index", "value": str(doc["index"])}},
            "detail": [
                {"type": {"text": "leaf_hash"}, "valueBase64Binary": base64.b64encode(bytes(entry.leaf_hash)).decode()},
                {"type": {"text": "data"}, "valueString": json.dumps(data, ensure_ascii=False, sort_keys=True)},
            ],
        }
    ]
    for key in ("couple_id", "cycle_id"):
        if subject.get(key):
            entities.append({"what": {"identifier": {"system": f"{SYSTEM}:{key.removesuffix('_id')}",
                                                     "value": subject[key]}}})
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"ledger-{doc['index']}",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": etype.split(".", 1)[0]}]}],
        "code": {"coding": [{"system": EVENT_TYPE_SYSTEM, "code": etype}]},
        "action": _action(etype),
        "recorded": doc["recorded_at"],
        "occurredDateTime": ev["occurred_at"],
        "agent": [agent],
        "source": {"observer": {"identifier": {"system": f"{SYSTEM}:workstation",
                                               "value": actor.get("workstation") or "unknown"}}},
        "entity": entities,
    }
    decision = data.get("decision") if isinstance(data, dict) else None
    if isinstance(decision, str) and decision in _DECISION_OUTCOME:
        resource["outcome"] = {"code": {"system": OUTCOME_SYSTEM, "code": _DECISION_OUTCOME[decision]},
                               "detail": [{"text": decision}]}
    if subject.get("patient_id"):
        resource["patient"] = {"reference": f"Patient/{subject['patient_id']}"}
    validated: dict[str, Any] = AuditEvent.model_validate(resource).model_dump(mode="json", exclude_none=True)
    return validated


def write_fhir_ndjson(entries: Iterable[LedgerEntry], out: IO[str]) -> int:
    """FHIR bulk-data style NDJSON: one AuditEvent per line. Returns the count."""
    count = 0
    for entry in entries:
        out.write(json.dumps(to_fhir_audit_event(entry), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count
