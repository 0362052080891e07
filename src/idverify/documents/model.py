"""The parsed identity document every reader returns (GA 467 ID cards, eMRTD passports).

One shape for all document types, matching ``idverify card read --json`` (README, *Command line*): fields a document
lacks are ``None``. The photo stays as encoded bytes (JPEG, JPEG 2000, or decoded WLT → PNG) because the face core
decodes it; only ``photo: "available"|"unavailable"`` leaves the process in summaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

DocumentType = Literal[
    "cn_resident_id",
    "cn_foreigner_permanent_residence",
    "cn_hmt_residence_permit",
    "passport",
    "travel_permit",
    "other",
]
Sex = Literal["F", "M", "X"]
PassiveAuth = Literal["passed", "failed", "not_verified", "not_applicable"]


@dataclass(frozen=True)
class DocumentChecks:
    """Validation results. ``checksum``: every check digit/code on the document is right (ID number MOD 11-2,
    MRZ check digits). ``expired``: valid_to lies before today. ``passive_auth``: chip data signed by a trusted
    issuer (eMRTD); ``not_verified`` means no trust anchor was configured, distinct from ``failed``.

    ``claimed_by``/``claims``: for a document read elsewhere and uploaded, who reported it and what that reader
    claimed. A claim is recorded as a claim and never as a result of this daemon: ``passive_auth`` stays
    ``not_verified`` whatever was claimed (a claimed ``failed`` is still honoured)."""

    checksum: bool
    expired: bool
    passive_auth: PassiveAuth = "not_applicable"
    detail: str | None = None
    claimed_by: str | None = None
    claims: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"checksum": self.checksum, "expired": self.expired, "passive_auth": self.passive_auth}
        if self.claimed_by is not None:
            out |= {"claimed_by": self.claimed_by, "claims": dict(self.claims or {})}
        return out


@dataclass(frozen=True)
class IdentityDocument:
    document_type: DocumentType
    document_number: str | None
    name: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    nation: str | None = None  # ethnic group on Chinese ID cards (民族)
    nationality: str | None = None  # ISO 3166-1 alpha-3 where known (CHN for Chinese ID cards)
    address: str | None = None
    issuer: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None  # None with ``long_term`` for 长期 cards
    long_term: bool = False
    photo: bytes | None = field(default=None, repr=False)
    photo_format: str | None = None  # "jpeg", "jp2", "png", "wlt" (undecoded)
    checks: DocumentChecks = field(default_factory=lambda: DocumentChecks(checksum=False, expired=False))
    source: str | None = None  # device that read it, e.g. "ga467:/dev/ttyUSB0"

    @property
    def photo_available(self) -> bool:
        return self.photo is not None and self.photo_format not in (None, "wlt")

    def to_summary(self) -> dict[str, Any]:
        """The ``card read --json`` object (dates as ISO strings; the photo only as availability)."""

        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "document_type": self.document_type,
            "name": self.name,
            "sex": self.sex,
            "birth_date": iso(self.birth_date),
            "document_number": self.document_number,
            "nation": self.nation,
            "nationality": self.nationality,
            "address": self.address,
            "issuer": self.issuer,
            "valid_from": iso(self.valid_from),
            "valid_to": "long_term" if self.long_term else iso(self.valid_to),
            "photo": "available" if self.photo_available else "unavailable",
            "checks": self.checks.as_dict(),
        }
