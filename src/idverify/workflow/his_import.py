"""Registering patients from HIS messages: the one service behind the REST import routes and the MLLP listener.

It owns the rule "an update for a known document updates the identity, anything else registers", and the HL7 v2
exchange rule "raw ER7 in, an ACK out": a message refused for its content or its form is acknowledged (``AE`` /
``AR``) rather than raised, because an interface engine reads ``MSA``, not HTTP statuses or sockets. Faults of the
daemon itself (5xx) are still raised. It must not touch HTTP or sockets: callers pass bytes and get text back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from idverify.auth.roles import Principal
from idverify.errors import ErrorCode, IdverifyError, ValidationFailed
from idverify.store.keys import Keys
from idverify.store.models import Patient
from idverify.workflow import his, patients
from idverify.workflow.patients import PatientIdentity

#: The longest HL7 v2 message accepted, in characters (the REST wrapper's limit too).
HIS_MESSAGE_MAX = 64_000

#: MSH-18 character sets (HL7 table 0211) a Chinese HIS sends, as Python codecs.
_MSH18_CODECS = {"UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "GB 18030-2000": "gb18030", "GB18030": "gb18030",
                 "GBK": "gbk", "ASCII": "ascii", "8859/1": "latin-1"}


@dataclass(frozen=True)
class Imported:
    patient: Patient
    created: bool


def import_patient(db: Session, keys: Keys, actor: Principal, parsed: his.HisPatient, source: str) -> Imported:
    """Register the patient, or update a known one for an update event (A08/A31); commits."""
    existing = patients.find_by_document(db, keys, parsed.identity.document_type, parsed.identity.document_number)
    if existing is not None and parsed.event == "update":
        merged = PatientIdentity(**{**asdict(parsed.identity), "sex": existing.sex})
        patient = patients.update_identity(db, keys, existing, merged, actor=actor, source=source)
        created = False
    else:
        patient, created = patients.register(db, keys, parsed.identity, source=source, actor=actor)
    db.commit()
    return Imported(patient, created)


def er7_charset(raw: bytes) -> str:
    """The codec MSH-18 names (HL7 table 0211), UTF-8 when it names none or one we do not know.

    The MSH segment before MSH-18 is ASCII in every character set a HIS uses, so it is read as Latin-1 first."""
    fields = his.msh_fields(raw.decode("latin-1"))
    if len(fields) < 18:
        return "utf-8"
    component = fields[1][:1] or "^"  # MSH-2, the encoding characters, starts with the component separator
    declared = fields[17].split(component)[0].strip()
    return _MSH18_CODECS.get(declared.upper(), "utf-8")


def import_er7(db: Session, keys: Keys, actor: Principal, raw: bytes, charset: str | None, *, sender: str) -> str:
    """Import one raw ER7 message and answer its ACK (``charset`` None: as MSH-18 declares it, else UTF-8)."""
    text = ""
    codec = charset or er7_charset(raw)
    try:
        try:
            text = raw.decode(codec)
        except (LookupError, UnicodeDecodeError):
            text = raw.decode("latin-1")  # enough to read MSH and answer with the sender's control id
            raise ValidationFailed(f"the message is not valid {codec} text", code=ErrorCode.HL7_INVALID) from None
        if len(text) > HIS_MESSAGE_MAX:
            raise ValidationFailed(f"HL7 message longer than {HIS_MESSAGE_MAX} characters", code=ErrorCode.HL7_INVALID)
        import_patient(db, keys, actor, his.from_hl7v2(text), "his_hl7v2")
        return his.hl7_ack(text, sender=sender)
    except IdverifyError as exc:
        if exc.status_code >= 500:
            raise  # the daemon's fault, not the message's
        db.rollback()
        return his.hl7_ack(text, sender=sender, error=exc)


def reject_er7(raw: bytes, error: IdverifyError, *, sender: str) -> str:
    """The ACK for a message refused before it could be imported (e.g. its sender's key was revoked)."""
    return his.hl7_ack(raw.decode("latin-1"), sender=sender, error=error)
