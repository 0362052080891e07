"""Ledger entries as FHIR AuditEvents in both releases (issue 16.13): the standard DICOM audit codes where they
exist, idverify's own event type kept as a second coding and as an extension, the R4 and R5 shapes — every
resource validated by ``fhir.resources`` (R5 models, and the R4B models for R4: R4B changed no AuditEvent or
Bundle element), so an invalid resource fails the test."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.auditevent import AuditEvent
from fhir.resources.bundle import Bundle
from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent
from fhir.resources.R4B.bundle import Bundle as R4Bundle
from sqlalchemy.orm import Session

from idverify.ledger.append import append, append_many
from idverify.ledger.fhir import (
    DCM,
    EVENT_TYPE_EXTENSION,
    EVENT_TYPE_SYSTEM,
    FhirVersion,
    audit_code,
    mapping_table,
    to_fhir_audit_event,
    write_fhir_bundle,
    write_fhir_ndjson,
)
from idverify.ledger.models import LedgerEntry

from .conftest import EventFactory

# event type -> (DICOM event id, DICOM event type or None, action)
EXPECTED: dict[str, tuple[str, str | None, str]] = {
    "staff.login": ("110114", "110122", "E"),
    "staff.login_failed": ("110114", "110122", "E"),
    "staff.logout": ("110114", "110123", "E"),
    "export.created": ("110106", None, "R"),
    "patient.registered": ("110110", None, "C"),
    "patient.updated": ("110110", None, "U"),
    "patient.deleted": ("110110", None, "D"),
    "patient.pseudonym_assigned": ("110110", None, "U"),
    "couple.registered": ("110110", None, "C"),
    "consent.recorded": ("110110", None, "C"),
    "consent.withdrawn": ("110110", None, "U"),
    "retention.purged": ("110110", None, "D"),
    "cycle.opened": ("110111", None, "C"),
    "cycle.closed": ("110111", None, "U"),
    "override.recorded": ("110113", "110127", "E"),
    "alert.repeated_rejects": ("110113", None, "E"),
    "auth.repeated_failures": ("110113", None, "E"),
    "staff.created": ("110113", "110137", "C"),
    "staff.updated": ("110113", "110137", "U"),
    "api_key.issued": ("110113", "110137", "C"),
    "api_key.rotated": ("110113", "110137", "U"),
    "api_key.revoked": ("110113", "110137", "U"),
    "configuration.changed": ("110113", "110129", "U"),
    "ledger.checkpoint_signed": ("110101", None, "E"),
    "verification.completed": ("110100", None, "E"),
    "enrollment.complete": ("110100", None, "E"),
    "enrollment.duplicate_suspected": ("110100", None, "E"),
    "something.new": ("110100", None, "E"),
    # the regional hub's own ledger
    "hub.user.login": ("110114", "110122", "E"),
    "hub.user.created": ("110113", "110137", "C"),
    "hub.clinic.registered": ("110113", "110129", "C"),
    "hub.alert.raised": ("110113", None, "E"),
    "hub.alert.closed": ("110113", None, "E"),
    "hub.witness.cosigned": ("110101", None, "E"),
    "hub.witness.refused": ("110101", None, "E"),
    "hub.feed.accepted": ("110101", None, "E"),
    "hub.export.created": ("110106", None, "R"),
    "hub.something_new": ("110100", None, "E"),
}


def _entry(session: Session, make_event: EventFactory, etype: str, **data: Any) -> LedgerEntry:
    entry = append(session, make_event(3, etype=etype, **data))
    session.commit()
    return entry


def _codes(codings: list[dict[str, Any]], system: str) -> list[str]:
    return [c["code"] for c in codings if c["system"] == system]


@pytest.mark.parametrize("etype", sorted(EXPECTED))
def test_standard_codes_in_both_releases(session: Session, make_event: EventFactory, etype: str) -> None:
    event_id, subtype, action = EXPECTED[etype]
    assert (audit_code(etype).event.code, getattr(audit_code(etype).subtype, "code", None),
            audit_code(etype).action) == EXPECTED[etype]
    entry = _entry(session, make_event, etype)
    r5 = AuditEvent.model_validate(to_fhir_audit_event(entry, "r5")).model_dump(mode="json", exclude_none=True)
    assert _codes(r5["category"][0]["coding"], DCM) == [event_id]
    assert _codes(r5["code"]["coding"], DCM) == [subtype or event_id]
    assert _codes(r5["code"]["coding"], EVENT_TYPE_SYSTEM) == [etype]  # the private code: a second coding
    assert r5["action"] == action
    r4 = R4AuditEvent.model_validate(to_fhir_audit_event(entry, "r4")).model_dump(mode="json", exclude_none=True)
    assert r4["type"]["system"] == DCM and r4["type"]["code"] == event_id
    assert _codes(r4["subtype"], DCM) == ([subtype] if subtype else [])
    assert _codes(r4["subtype"], EVENT_TYPE_SYSTEM) == [etype]
    assert r4["action"] == action
    for resource in (r4, r5):
        assert {"url": EVENT_TYPE_EXTENSION, "valueCode": etype} in resource["extension"]


def test_mapping_table_covers_every_rule() -> None:
    rules = dict(mapping_table())
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name, code in rules.items():  # the README's table names every code the mapping uses
        for dcm in (code.event, code.subtype):
            assert dcm is None or f"{dcm.code} {dcm.display}" in readme, (name, dcm)
        assert name == "anything else" or f"`{name.split('.')[0]}." in readme, name
    assert rules["staff.login"].subtype is not None and rules["staff.login"].subtype.display == "Login"
    assert rules["override.recorded"].event.display == "Security Alert"
    assert rules["anything else"].event.code == "110100"
    assert all(code.event.code.startswith("1101") for code in rules.values())


def test_r5_shape(session: Session, make_event: EventFactory) -> None:
    entry = _entry(session, make_event, "verification.completed", decision="reject")
    r5 = to_fhir_audit_event(entry)  # R5 is the default
    assert r5["code"]["coding"][0]["display"] == "Application Activity"
    assert r5["outcome"]["code"] == {"system": "http://terminology.hl7.org/CodeSystem/audit-event-outcome",
                                     "code": "4", "display": "Minor failure"}
    assert r5["outcome"]["detail"] == [{"text": "reject"}]
    assert r5["patient"] == {"reference": "Patient/patient-3"}
    assert r5["occurredDateTime"] == "2026-11-23T09:30:00+08:00"
    (agent,) = r5["agent"]
    assert agent["who"]["identifier"]["value"] == "staff-0" and agent["networkString"] == "ws-1"
    assert r5["source"]["observer"]["identifier"]["value"] == "ws-1"
    ledger, cycle = r5["entity"]
    assert ledger["what"]["identifier"] == {"system": "urn:idverify:ledger-index", "value": "0"}
    assert json.loads(ledger["detail"][1]["valueString"])["decision"] == "reject"
    assert cycle["what"]["identifier"]["value"] == "cycle-1"
    for absent in ("type", "subtype", "period", "outcomeDesc"):
        assert absent not in r5


def test_r4_shape(session: Session, make_event: EventFactory) -> None:
    entry = _entry(session, make_event, "staff.login_failed", decision=None, code="not_authenticated")
    r4 = to_fhir_audit_event(entry, "r4")
    assert (r4["outcome"], r4["outcomeDesc"]) == ("4", "not_authenticated")  # a failed login is not a success
    assert r4["period"] == {"start": "2026-11-23T09:30:00+08:00", "end": "2026-11-23T09:30:00+08:00"}
    assert r4["recorded"].endswith("Z")
    (agent,) = r4["agent"]
    assert agent["requestor"] is True and agent["network"] == {"address": "ws-1", "type": "1"}
    patient, ledger, cycle = r4["entity"]  # R4 has no AuditEvent.patient: the patient is an entity
    assert patient["what"] == {"reference": "Patient/patient-3"}
    assert patient["role"]["code"] == "1" and patient["type"]["code"] == "1"
    assert ledger["detail"][0]["type"] == "leaf_hash" and "valueBase64Binary" in ledger["detail"][0]
    assert cycle["what"]["identifier"]["value"] == "cycle-1"
    for absent in ("category", "code", "patient", "occurredDateTime", "severity"):
        assert absent not in r4
    ok = to_fhir_audit_event(_entry(session, make_event, "staff.login", decision=None), "r4")
    assert ok["outcome"] == "0"


@pytest.mark.parametrize(("version", "bundle_model", "event_model"),
                         [("r5", Bundle, AuditEvent), ("r4", R4Bundle, R4AuditEvent)])
def test_bundle_and_ndjson_validate(session: Session, make_event: EventFactory, version: FhirVersion,
                                    bundle_model: Any, event_model: Any) -> None:
    types = ["staff.login", "verification.completed", "override.recorded", "export.created"]
    append_many(session, [make_event(i, etype=t) for i, t in enumerate(types)])
    session.commit()

    def entries() -> Any:
        return session.query(LedgerEntry).order_by(LedgerEntry.index)

    out = io.StringIO()
    assert write_fhir_bundle(entries(), out, version=version) == len(types)
    bundle = bundle_model.model_validate_json(out.getvalue())
    assert bundle.type == "collection" and len(bundle.entry) == len(types)
    assert all(isinstance(e.resource, event_model) for e in bundle.entry)
    lines = io.StringIO()
    assert write_fhir_ndjson(entries(), lines, version=version) == len(types)
    parsed = [event_model.model_validate_json(line) for line in lines.getvalue().splitlines()]
    assert [p.id for p in parsed] == [f"ledger-{i}" for i in range(len(types))]
