"""Ledger entries as FHIR ``AuditEvent`` resources, R5 (the default) or R4, one per line or in a ``Bundle``.

FHIR is the export vocabulary for hospital systems and regulators; the ledger entry stays the source of truth.
Ids only: staff, patient, couple and cycle appear as identifiers/references, never with names; an API key's
action names the key (and the integration's name IT gave it) as ``agent.who``, not the person who issued it. The
entry's index and leaf hash go into ``entity`` so a FHIR consumer can ask the clinic for an inclusion proof.

Codes: the standard audit vocabulary first — the DICOM audit event ids and event types (PS3.16 CID 400/401,
system :data:`DCM`, the codes IHE BALP and the FHIR audit value sets use), chosen by :func:`audit_code` — and
idverify's own event type as a second coding of the specific code and as an extension, so nothing of the
private vocabulary is lost. Where the two FHIR versions put them:

==================  =====================================  ==========================================
what                R4 (4.0.1)                             R5 (5.0.0)
==================  =====================================  ==========================================
DICOM event id      ``type`` (Coding)                      ``category[0]``
DICOM event type    ``subtype[0]`` (when there is one)     ``code.coding[0]`` (else the event id)
idverify type       ``subtype[-1]``, extension             ``code.coding[-1]``, extension
outcome             ``outcome`` 0/4 + ``outcomeDesc``      ``outcome.code`` + ``outcome.detail``
occurred            ``period``                             ``occurredDateTime``
patient             ``entity`` (Person, role Patient)      ``patient``
workstation         ``agent.network`` (machine name)       ``agent.networkString``
==================  =====================================  ==========================================

R4 resources are validated with ``fhir.resources``' R4B models: R4B changed no AuditEvent or Bundle element.
Must not touch: the database (callers hand in entries), HTTP.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, Literal

from idverify.ledger.canonical import format_time
from idverify.ledger.models import LedgerEntry
from idverify.ledger.progress import SILENT, Meter
from idverify.store.base import utcnow

FhirVersion = Literal["r4", "r5"]
FHIR_VERSIONS: tuple[FhirVersion, ...] = ("r5", "r4")
DEFAULT_FHIR_VERSION: FhirVersion = "r5"
#: The FHIR release each version name stands for (the ``fhirVersion`` MIME-type parameter).
RELEASES: dict[str, str] = {"r4": "4.0", "r5": "5.0"}

SYSTEM = "urn:idverify"
EVENT_TYPE_SYSTEM = f"{SYSTEM}:audit-event-type"
CATEGORY_SYSTEM = f"{SYSTEM}:audit-event-category"
#: Extension carrying idverify's own event type (``valueCode``), whatever standard code the event got.
EVENT_TYPE_EXTENSION = f"{SYSTEM}:fhir:extension:audit-event-type"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
SOURCE_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/object-role"
NETWORK_TYPE_MACHINE_NAME = "1"


@dataclass(frozen=True)
class Dcm:
    """One DICOM audit code (system :data:`DCM`)."""

    code: str
    display: str

    def coding(self) -> dict[str, str]:
        return {"system": DCM, "code": self.code, "display": self.display}


# DICOM PS3.16 CID 400 "Audit Event ID": what kind of event (R4 ``type``, R5 ``category``).
APPLICATION_ACTIVITY = Dcm("110100", "Application Activity")
AUDIT_LOG_USED = Dcm("110101", "Audit Log Used")
EXPORT = Dcm("110106", "Export")
PATIENT_RECORD = Dcm("110110", "Patient Record")
PROCEDURE_RECORD = Dcm("110111", "Procedure Record")
SECURITY_ALERT = Dcm("110113", "Security Alert")
USER_AUTHENTICATION = Dcm("110114", "User Authentication")
# CID 401 "Audit Event Type Code": which one exactly (R4 ``subtype``, R5 ``code``).
LOGIN = Dcm("110122", "Login")
LOGOUT = Dcm("110123", "Logout")
EMERGENCY_OVERRIDE_STARTED = Dcm("110127", "Emergency Override Started")
SECURITY_CONFIGURATION = Dcm("110129", "Security Configuration")
USER_SECURITY_ATTRIBUTES_CHANGED = Dcm("110137", "User Security Attributes Changed")

OUTCOMES: dict[str, str] = {"0": "Success", "4": "Minor failure", "8": "Serious failure", "12": "Major failure"}


@dataclass(frozen=True)
class AuditCode:
    """The standard codes of one idverify event type."""

    event: Dcm  # CID 400 event id
    subtype: Dcm | None = None  # CID 401 event type, when one says exactly what happened
    action: str | None = None  # C R U D E; None: from the event type's verb


# Exact event types first, then the part before the first dot, else Application Activity. The README's FHIR
# paragraph shows this table; tests/ledger/test_fhir_audit_event.py pins it.
_EXACT: dict[str, AuditCode] = {
    "staff.login": AuditCode(USER_AUTHENTICATION, LOGIN, "E"),
    "staff.login_failed": AuditCode(USER_AUTHENTICATION, LOGIN, "E"),
    "staff.logout": AuditCode(USER_AUTHENTICATION, LOGOUT, "E"),
    "override.recorded": AuditCode(SECURITY_ALERT, EMERGENCY_OVERRIDE_STARTED, "E"),
    "configuration.changed": AuditCode(SECURITY_ALERT, SECURITY_CONFIGURATION, "U"),
    "export.created": AuditCode(EXPORT, None, "R"),  # DICOM: an export reads the records it sends out
    "retention.purged": AuditCode(PATIENT_RECORD, None, "D"),
    "patient.pseudonym_assigned": AuditCode(PATIENT_RECORD, None, "U"),
}
_BY_PREFIX: dict[str, AuditCode] = {
    "staff": AuditCode(SECURITY_ALERT, USER_SECURITY_ATTRIBUTES_CHANGED),  # staff.created, staff.updated
    "api_key": AuditCode(SECURITY_ALERT, USER_SECURITY_ATTRIBUTES_CHANGED),  # issued, rotated, revoked
    "auth": AuditCode(SECURITY_ALERT, None, "E"),  # auth.repeated_failures
    "alert": AuditCode(SECURITY_ALERT, None, "E"),  # alert.repeated_rejects
    "patient": AuditCode(PATIENT_RECORD),
    "couple": AuditCode(PATIENT_RECORD),
    "consent": AuditCode(PATIENT_RECORD),
    "cycle": AuditCode(PROCEDURE_RECORD),  # a treatment cycle is the procedure's record
    "ledger": AuditCode(AUDIT_LOG_USED),
    "checkpoint": AuditCode(AUDIT_LOG_USED),
    "export": AuditCode(EXPORT, None, "R"),
}
# The regional hub's own ledger (``hub.<kind>``, see idverify.hub.audit): the kind after ``hub.`` decides.
_HUB_EXACT: dict[str, AuditCode] = {
    "hub.user.login": AuditCode(USER_AUTHENTICATION, LOGIN, "E"),
    "hub.user.login_failed": AuditCode(USER_AUTHENTICATION, LOGIN, "E"),
}
_HUB_BY_KIND: dict[str, AuditCode] = {
    "user": AuditCode(SECURITY_ALERT, USER_SECURITY_ATTRIBUTES_CHANGED),  # hub.user.created
    "clinic": AuditCode(SECURITY_ALERT, SECURITY_CONFIGURATION),  # a clinic's log registered: whom the hub trusts
    "alert": AuditCode(SECURITY_ALERT, None, "E"),  # raised, acknowledged, closed
    "witness": AuditCode(AUDIT_LOG_USED, None, "E"),  # a clinic checkpoint cosigned or refused
    "feed": AuditCode(AUDIT_LOG_USED, None, "E"),  # a clinic's ledger entries taken in
    "export": AuditCode(EXPORT, None, "R"),
}
_DEFAULT = AuditCode(APPLICATION_ACTIVITY, None, "E")  # stage checks, enrolment, anything new

# FHIR AuditEvent.action from the event type's verb: C create, R read, U update, D delete, E execute.
_ACTIONS = {"created": "C", "recorded": "C", "registered": "C", "opened": "C", "issued": "C", "deleted": "D",
            "updated": "U", "rotated": "U", "revoked": "U", "withdrawn": "U", "closed": "U", "read": "R",
            "viewed": "R"}
_DECISION_OUTCOME = {"accept": "0", "reject": "4", "retry": "4", "inconclusive": "4"}


def audit_code(event_type: str) -> AuditCode:
    """The DICOM event id, event type and action of an idverify event type (pure: same input, same output)."""
    if event_type.startswith("hub."):
        found = _HUB_EXACT.get(event_type) or _HUB_BY_KIND.get(event_type[4:].split(".", 1)[0]) or _DEFAULT
    else:
        found = _EXACT.get(event_type) or _BY_PREFIX.get(event_type.split(".", 1)[0]) or _DEFAULT
    if found.action is None:
        return AuditCode(found.event, found.subtype, _ACTIONS.get(event_type.rsplit(".", 1)[-1], "E"))
    return found


def mapping_table() -> list[tuple[str, AuditCode]]:
    """Every rule of :func:`audit_code`, for the documentation (``*`` = any event of that prefix)."""
    return [*_EXACT.items(), *((f"{p}.*", c) for p, c in _BY_PREFIX.items()), *_HUB_EXACT.items(),
            *((f"hub.{k}.*", c) for k, c in _HUB_BY_KIND.items()), ("anything else", _DEFAULT)]


def _outcome(etype: str, data: dict[str, Any]) -> tuple[str, str] | None:
    """``(code, detail)``: a stage decision, a login attempt; None where the ledger states no outcome."""
    decision = data.get("decision")
    if isinstance(decision, str) and decision in _DECISION_OUTCOME:
        return _DECISION_OUTCOME[decision], decision
    if etype == "staff.login_failed":
        return "4", str(data.get("code") or "login failed")
    if etype in ("staff.login", "staff.logout"):
        return "0", "success"
    return None


def _validated(resource: dict[str, Any], version: FhirVersion) -> dict[str, Any]:
    """Round-trip through ``fhir.resources`` so an invalid resource fails here, not at the regulator."""
    if version == "r4":
        from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent

        r4: dict[str, Any] = R4AuditEvent.model_validate(resource).model_dump(mode="json", exclude_none=True)
        return r4
    from fhir.resources.auditevent import AuditEvent

    r5: dict[str, Any] = AuditEvent.model_validate(resource).model_dump(mode="json", exclude_none=True)
    return r5


def to_fhir_audit_event(entry: LedgerEntry, version: FhirVersion = DEFAULT_FHIR_VERSION) -> dict[str, Any]:
    """Map one entry to a validated R5 (default) or R4 AuditEvent, as a JSON-ready dict."""
    doc = json.loads(entry.canonical)
    ev: dict[str, Any] = doc["event"]
    actor: dict[str, Any] = ev.get("actor") or {}
    subject: dict[str, Any] = ev.get("subject") or {}
    data: dict[str, Any] = ev.get("data") or {}
    etype: str = ev["type"]
    code = audit_code(etype)
    private = {"system": EVENT_TYPE_SYSTEM, "code": etype}
    if actor.get("api_key_id"):  # an integration acted; its issuer stays in the entity's data (key_created_by)
        who: dict[str, Any] = {"identifier": {"system": f"{SYSTEM}:api-key", "value": actor["api_key_id"]}}
        if isinstance(data.get("integration"), str):
            who["display"] = data["integration"]
    elif actor.get("staff_id"):
        who = {"identifier": {"system": f"{SYSTEM}:staff", "value": actor["staff_id"]}}
    else:
        who = {"display": "system"}
    agent: dict[str, Any] = {"who": who, "requestor": True}
    if actor.get("role"):
        agent["role"] = [{"coding": [{"system": f"{SYSTEM}:role", "code": actor["role"]}]}]
    workstation = actor.get("workstation")
    observer = {"identifier": {"system": f"{SYSTEM}:workstation", "value": workstation or "unknown"}}
    server = {"system": SOURCE_TYPE_SYSTEM, "code": "4", "display": "Application Server"}
    ledger_what = {"identifier": {"system": f"{SYSTEM}:ledger-index", "value": str(doc["index"])}}
    leaf = base64.b64encode(bytes(entry.leaf_hash)).decode()
    data_text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    related = [{"what": {"identifier": {"system": f"{SYSTEM}:{key.removesuffix('_id')}", "value": subject[key]}}}
               for key in ("couple_id", "cycle_id") if subject.get(key)]
    outcome = _outcome(etype, data)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"ledger-{doc['index']}",
        "extension": [{"url": EVENT_TYPE_EXTENSION, "valueCode": etype}],
        "action": code.action,
        "recorded": doc["recorded_at"],
    }
    if version == "r4":
        if workstation:
            agent["network"] = {"address": workstation, "type": NETWORK_TYPE_MACHINE_NAME}
        entities: list[dict[str, Any]] = [{
            "what": ledger_what,
            "type": {"system": ENTITY_TYPE_SYSTEM, "code": "2", "display": "System Object"},
            "detail": [{"type": "leaf_hash", "valueBase64Binary": leaf}, {"type": "data", "valueString": data_text}],
        }]
        if subject.get("patient_id"):
            entities.insert(0, {
                "what": {"reference": f"Patient/{subject['patient_id']}"},
                "type": {"system": ENTITY_TYPE_SYSTEM, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE_SYSTEM, "code": "1", "display": "Patient"},
            })
        resource |= {
            "type": code.event.coding(),
            "subtype": [*([code.subtype.coding()] if code.subtype else []), private],
            "period": {"start": ev["occurred_at"], "end": ev["occurred_at"]},
            "agent": [agent],
            "source": {"observer": observer, "type": [server]},
            "entity": [*entities, *related],
        }
        if outcome:
            resource["outcome"], resource["outcomeDesc"] = outcome
        return _validated(resource, version)
    if workstation:
        agent["networkString"] = workstation
    resource |= {
        "category": [{"coding": [code.event.coding()]},
                     {"coding": [{"system": CATEGORY_SYSTEM, "code": etype.split(".", 1)[0]}]}],
        "code": {"coding": [(code.subtype or code.event).coding(), private]},
        "occurredDateTime": ev["occurred_at"],
        "agent": [agent],
        "source": {"observer": observer, "type": [{"coding": [server]}]},
        "entity": [{
            "what": ledger_what,
            "detail": [{"type": {"text": "leaf_hash"}, "valueBase64Binary": leaf},
                       {"type": {"text": "data"}, "valueString": data_text}],
        }, *related],
    }
    if outcome:
        resource["outcome"] = {"code": {"system": OUTCOME_SYSTEM, "code": outcome[0], "display": OUTCOMES[outcome[0]]},
                               "detail": [{"text": outcome[1]}]}
    if subject.get("patient_id"):
        resource["patient"] = {"reference": f"Patient/{subject['patient_id']}"}
    return _validated(resource, version)


def _dump(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def write_fhir_ndjson(entries: Iterable[LedgerEntry], out: IO[str], *, version: FhirVersion = DEFAULT_FHIR_VERSION,
                      progress: Meter = SILENT) -> int:
    """FHIR bulk-data style NDJSON (``--format fhir-ndjson``): one AuditEvent per line. Returns the count."""
    count = 0
    for entry in entries:
        out.write(_dump(to_fhir_audit_event(entry, version)))
        out.write("\n")
        count += 1
        progress.update(count)
    return count


def write_fhir_bundle(entries: Iterable[LedgerEntry], out: IO[str], *, version: FhirVersion = DEFAULT_FHIR_VERSION,
                      timestamp: str | None = None, progress: Meter = SILENT) -> int:
    """One FHIR ``Bundle`` of type ``collection`` holding one validated AuditEvent per entry (``--format fhir``
    on the command line and ``format=fhir`` over REST: the same document). Streamed: memory stays flat."""
    if timestamp is None:
        timestamp = format_time(utcnow())
    out.write('{"resourceType":"Bundle","type":"collection","timestamp":')
    out.write(json.dumps(timestamp))
    out.write(',"entry":[')
    count = 0
    for entry in entries:
        resource = to_fhir_audit_event(entry, version)
        if count:
            out.write(",")
        out.write(_dump({"fullUrl": f"urn:idverify:ledger:{resource['id']}", "resource": resource}))
        count += 1
        progress.update(count)
    out.write("]}\n")
    return count
