"""Patient identities from the hospital information system: HL7 v2 ADT^A04/A08 and FHIR Patient.

Parsing goes through hl7apy and fhir.resources (no hand parsing). Identifiers are mapped by their HL7 v2
identifier type code (table 0203): ``NNCHN`` (Chinese national/resident ID number) → ``cn_resident_id``,
``PPN`` → ``passport``, ``MR`` → the HIS medical record number kept as ``external_id``; in FHIR, an identifier
whose ``system`` is the national resident-ID OID ``urn:oid:2.16.156.10011.1.3`` (the identifier OID list of the
Chinese health information standards, e.g. WS/T 500) is a resident ID number even without a type coding.

The name registered is the legal one when the message carries several (an HIS often sends the pinyin alias first):
the PID-5 repetition with name type (XPN.7) ``L``, the FHIR ``HumanName`` with ``use: official``; else the first.
Names follow the document's order: Chinese family name directly followed by the given name, others "given family".

HL7 v2 arrives as ER7 text (raw over HTTP, or inside the JSON wrapper) and is answered, when raw, with an HL7
acknowledgement (:func:`hl7_ack`): ``MSA|AA`` accepted, ``AE`` refused for its content (an invalid ID number, a
conflict), ``AR`` rejected as a message (unparseable, unsupported type), each echoing the sender's MSH-10 control
id, the reason in ``ERR`` (HL7 table 0357 code, our error code, the message).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from idverify.errors import ErrorCode, IdverifyError, ValidationFailed
from idverify.workflow.patients import PatientIdentity

ACCEPTED_ADT = {"A04", "A08", "A28", "A31"}  # register / update patient (and their A28/A31 person equivalents)
DOCUMENT_TYPES = {"NNCHN": "cn_resident_id", "PPN": "passport", "PRC": "cn_foreigner_permanent_residence"}
CN_RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
CN_ID_SYSTEMS = {CN_RESIDENT_ID_SYSTEM}
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SEX_V2 = {"F": "F", "M": "M", "O": "X", "U": "X", "A": "X", "N": "X"}
_SEX_FHIR = {"female": "F", "male": "M", "other": "X", "unknown": "X"}


@dataclass(frozen=True)
class HisPatient:
    identity: PatientIdentity
    event: str  # "register" or "update"


def _full_name(family: str, given: str) -> str:
    family, given = family.strip(), given.strip()
    if _HAN.search(family + given):
        return family + given
    return " ".join(p for p in (given, family) if p)


def _v2_date(value: str) -> date | None:
    value = value.strip()[:8]
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise ValidationFailed("PID-7 birth date must be YYYYMMDD") from None


def from_hl7v2(message: str) -> HisPatient:
    from hl7apy.exceptions import HL7apyException
    from hl7apy.parser import parse_message

    text = message.strip().replace("\r\n", "\r").replace("\n", "\r")
    try:
        msg = parse_message(text, find_groups=False)
        trigger = msg.msh.msh_9.msh_9_2.to_er7()
        msg_type = msg.msh.msh_9.msh_9_1.to_er7()
        pid = msg.pid
    except (HL7apyException, AttributeError, IndexError, ValueError) as exc:
        raise ValidationFailed(f"not a parseable HL7 v2 message ({type(exc).__name__})",
                               code=ErrorCode.HL7_INVALID) from None
    if msg_type != "ADT" or trigger not in ACCEPTED_ADT:
        raise ValidationFailed(f"expected ADT^A04 or ADT^A08, got {msg_type}^{trigger}", code=ErrorCode.HL7_UNSUPPORTED)
    document_type = document_number = external_id = None
    for rep in pid.pid_3:
        number, kind = rep.cx_1.to_er7().strip(), rep.cx_5.to_er7().strip().upper()
        if kind in DOCUMENT_TYPES and document_number is None:
            document_type, document_number = DOCUMENT_TYPES[kind], number
        elif kind == "MR" and external_id is None:
            external_id = number
    if not document_number or document_type is None:
        raise ValidationFailed("PID-3 carries no identity document (type NNCHN, PPN or PRC)",
                               code=ErrorCode.HL7_NO_DOCUMENT)
    names = list(pid.pid_5) if pid.pid_5 else []
    name_field = next((n for n in names if n.xpn_7.to_er7().strip().upper() == "L"), names[0] if names else None)
    family = name_field.xpn_1.to_er7().split("&")[0] if name_field is not None else ""
    given = name_field.xpn_2.to_er7() if name_field is not None else ""
    if not (family or given):
        raise ValidationFailed("PID-5 patient name is empty", code=ErrorCode.HL7_INVALID)
    sex = _SEX_V2.get(pid.pid_8.to_er7().strip().upper(), "")
    if not sex:
        raise ValidationFailed("PID-8 sex must be F, M, O or U", code=ErrorCode.HL7_INVALID)
    address = None
    if pid.pid_11:
        parts = [p for p in pid.pid_11.to_er7().split("^") if p]
        address = ", ".join(parts) or None
    identity = PatientIdentity(
        document_type=document_type, document_number=document_number, name=_full_name(family, given), sex=sex,
        birth_date=_v2_date(pid.pid_7.to_er7()), address=address, external_id=external_id,
        nationality="CHN" if document_type == "cn_resident_id" else None,
    )
    return HisPatient(identity=identity, event="update" if trigger in {"A08", "A31"} else "register")


def from_fhir(resource: dict[str, Any] | str) -> HisPatient:
    from fhir.resources.patient import Patient as FhirPatient
    from pydantic import ValidationError

    data = json.loads(resource) if isinstance(resource, str) else resource
    if not isinstance(data, dict) or data.get("resourceType") != "Patient":
        raise ValidationFailed("expected a FHIR Patient resource", code=ErrorCode.FHIR_INVALID)
    try:
        patient = FhirPatient.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise ValidationFailed("invalid FHIR Patient",
                               code=ErrorCode.FHIR_INVALID, details={"fields": fields}) from None
    document_type = document_number = external_id = None
    for ident in patient.identifier or []:
        codes = {c.code for c in (ident.type.coding if ident.type and ident.type.coding else []) if c.code}
        if ident.system in CN_ID_SYSTEMS:
            codes.add("NNCHN")
        kind = next((c for c in ("NNCHN", "PPN", "PRC") if c in codes), None)
        if kind and document_number is None and ident.value:
            document_type, document_number = DOCUMENT_TYPES[kind], ident.value
        elif "MR" in codes and external_id is None and ident.value:
            external_id = ident.value
    if not document_number or document_type is None:
        raise ValidationFailed("Patient.identifier carries no identity document (NNCHN, PPN or PRC)",
                               code=ErrorCode.FHIR_NO_DOCUMENT)
    name = ""
    if patient.name:
        chosen = next((n for n in patient.name if n.use == "official"), patient.name[0])
        given = [g for g in (chosen.given or []) if g]
        joined = "".join(given) if _HAN.search("".join(given)) else " ".join(given)
        name = chosen.text or _full_name(chosen.family or "", joined)
    if not name:
        raise ValidationFailed("Patient.name is empty", code=ErrorCode.FHIR_INVALID)
    sex = _SEX_FHIR.get(patient.gender or "", "")
    if not sex:
        raise ValidationFailed("Patient.gender is required", code=ErrorCode.FHIR_INVALID)
    address = None
    if patient.address:
        addr = patient.address[0]
        parts = [p for p in [*(addr.line or []), addr.city, addr.state] if p]
        address = addr.text or ", ".join(parts) or None
    birth = patient.birthDate if isinstance(patient.birthDate, date) else None
    identity = PatientIdentity(
        document_type=document_type, document_number=document_number, name=name, sex=sex, birth_date=birth,
        address=address, external_id=external_id, nationality="CHN" if document_type == "cn_resident_id" else None,
    )
    return HisPatient(identity=identity, event="register")


AckCode = Literal["AA", "AE", "AR"]
#: Error codes that reject the message as a whole (``AR``): its form, or a sender who may not send (MLLP's key).
MESSAGE_REJECTED = frozenset({"hl7_invalid", "hl7_unsupported", "invalid_token", "token_revoked", "token_expired",
                              "forbidden"})
#: HL7 table 0357 (message error condition codes) for our error codes; anything else is 207.
_HL70357 = {"hl7_invalid": ("100", "Segment sequence error"), "hl7_unsupported": ("200", "Unsupported message type"),
            "hl7_no_document": ("101", "Required field missing"), "id_number_invalid": ("102", "Data type error"),
            "identity_conflict": ("205", "Duplicate key identifier")}
_ER7_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"), ("\r", " "),
                ("\n", " "))


def _escape(text: str) -> str:
    for raw, escaped in _ER7_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def msh_fields(message: str) -> list[str]:
    """The MSH fields of a message as sent (index i is MSH-(i+1) with MSH-1 the separator), read without a parser
    so that even a message the parser refuses is acknowledged with its own control id. Empty when there is none."""
    text = message.lstrip()
    if not text.startswith("MSH") or len(text) < 4:
        return []
    sep = text[3]
    first = re.split(r"[\r\n]", text, maxsplit=1)[0]
    return ["MSH", sep, *first[4:].split(sep)][1:]


def hl7_ack(message: str, *, sender: str, error: IdverifyError | None = None, now: datetime | None = None) -> str:
    """The ER7 ACK answering ``message``: AA without ``error``; AE or AR (:data:`MESSAGE_REJECTED`) with it.

    Sending and receiving application/facility are swapped from the message; MSA-2 echoes its MSH-10. The ERR
    segment carries the HL7 error code (table 0357), our stable error code and its message — never field values
    (error messages hold none)."""
    fields = msh_fields(message)

    def msh(n: int) -> str:  # MSH-n as sent (its components kept, a stray field separator escaped), or empty
        return fields[n - 1].replace("|", "\\F\\") if len(fields) >= n else ""

    code: AckCode = "AA" if error is None else ("AR" if error.code in MESSAGE_REJECTED else "AE")
    trigger = msh(9).split("^")[1] if "^" in msh(9) else ""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    control = msh(10)
    segments = [
        "|".join(["MSH", "^~\\&", "IDVERIFY", _escape(sender), msh(3), msh(4), stamp, "",
                  f"ACK^{trigger}^ACK" if trigger else "ACK", f"ACK{control}"[:20] if control else f"ACK{stamp}",
                  msh(11) or "P", msh(12) or "2.5"]),
        f"MSA|{code}|{control}",
    ]
    if error is not None:
        hl7_code, hl7_text = _HL70357.get(error.code, ("207", "Application internal error"))
        segments.append(f"ERR|||{hl7_code}^{hl7_text}^HL70357|E|{_escape(error.code)}^^idverify|||"
                        f"{_escape(error.message)}")
    return "\r".join(segments) + "\r"
