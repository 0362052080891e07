"""Inspector exports over REST: the ledger's verifiable JSON Lines, FHIR AuditEvents (R5 or R4; one Bundle, or
NDJSON), CSV.

The formats themselves belong to the ledger (:mod:`idverify.ledger.export`, :mod:`idverify.ledger.fhir`) and are
the very documents ``idverify audit export --format …`` writes; this module chooses the entries (time range and
content filters) and writes into a spooled temporary file so the database transaction ends before the HTTP
response starts streaming (memory stays flat: the spool moves to disk past a few megabytes).

A verifiable export must be a contiguous index range (the verifier recomputes the tree from it), so JSON Lines
accepts only a time range; stage, decision, staff, patient and type filters apply to FHIR and CSV.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from idverify.biometrics.reasons import render
from idverify.errors import ErrorCode, ValidationFailed
from idverify.i18n import Translator
from idverify.ledger.export import export_jsonl, resolve_range, write_csv
from idverify.ledger.fhir import DEFAULT_FHIR_VERSION, RELEASES, FhirVersion, write_fhir_bundle, write_fhir_ndjson
from idverify.ledger.models import LedgerCheckpoint
from idverify.reports.events import EventQuery, iter_matching

ExportFormat = Literal["jsonl", "fhir", "fhir-ndjson", "csv"]
FORMATS: tuple[str, ...] = ("jsonl", "fhir", "fhir-ndjson", "csv")
FHIR_FORMATS = frozenset({"fhir", "fhir-ndjson"})
_MEDIA_TYPES: dict[str, str] = {
    "jsonl": "application/jsonl",
    "fhir": "application/fhir+json",
    "fhir-ndjson": "application/fhir+ndjson",
    "csv": "text/csv; charset=utf-8",
}
_EXTENSIONS: dict[str, str] = {"jsonl": "jsonl", "fhir": "fhir.json", "fhir-ndjson": "fhir.ndjson", "csv": "csv"}
SPOOL_BYTES = 4 * 1024 * 1024
CHUNK = 64 * 1024


def media_type(fmt: str, version: FhirVersion = DEFAULT_FHIR_VERSION) -> str:
    """The response's media type; FHIR's says which release (``fhirVersion`` parameter, FHIR R5 §3.2.0.13)."""
    if fmt in FHIR_FORMATS:
        return f"{_MEDIA_TYPES[fmt]}; fhirVersion={RELEASES[version]}"
    return _MEDIA_TYPES[fmt]


def all_media_types() -> list[str]:
    """Every media type the export answers with (for the OpenAPI document)."""
    return [_MEDIA_TYPES[f] for f in FORMATS]


def file_name(fmt: str, tree_size: int, version: FhirVersion = DEFAULT_FHIR_VERSION) -> str:
    """``idverify-audit-<size>.jsonl``, ``…-<size>.r4.fhir.json``: the FHIR release is in the name."""
    release = f".{version}" if fmt in FHIR_FORMATS else ""
    return f"idverify-audit-{tree_size}{release}.{_EXTENSIONS[fmt]}"


def event_label(locale: str) -> Callable[[Mapping[str, Any]], str]:
    """What an event says, in ``locale``, for the CSV's ``label`` column: the event type's name, and for a stage
    check its decision and reasons, for an enrolment its outcome's reasons and prompts, for an alert the alert —
    each reason rendered from its code (never the English sentence)."""
    t = Translator(locale)

    def word(key: str) -> str:
        text = t(key)
        return "" if text == key else text

    def label(event: Mapping[str, Any]) -> str:
        kind = str(event.get("type", ""))
        data = event.get("data") or {}
        parts = [word(f"inspector.event_type.{kind}")]
        if kind == "verification.completed":
            parts.append(word(f"decision.{data.get('decision')}"))
        reasons = [*(data.get("reasons") or []), *(data.get("prompts") or [])]
        if isinstance(data.get("alert"), Mapping):
            reasons.append(data["alert"])
        parts.append(t("reason.list_separator").join(render(t, r) for r in reasons))
        return t("reason.list_separator").join(p for p in parts if p)

    return label


def check_export_request(fmt: str, query: EventQuery) -> None:
    """Refuse what cannot be exported, before anything is recorded."""
    if fmt not in _MEDIA_TYPES:
        raise ValidationFailed("format must be jsonl, fhir, fhir-ndjson or csv", code=ErrorCode.BAD_FORMAT)
    if fmt == "jsonl" and query.has_content_filters:
        raise ValidationFailed(
            "a verifiable JSON Lines export covers a contiguous range: filter it by time only "
            "(use format=csv or fhir for stage, decision, staff, patient or type filters)",
            code=ErrorCode.FILTER_NOT_VERIFIABLE,
        )


@dataclass(frozen=True)
class ExportFile:
    """A finished export in a spooled file, read back in chunks by the HTTP response."""

    spool: Any  # tempfile.SpooledTemporaryFile[str]
    fmt: str
    version: FhirVersion
    summary: dict[str, Any]

    def chunks(self) -> Iterator[bytes]:
        try:
            self.spool.seek(0)
            while True:
                block = self.spool.read(CHUNK)
                if not block:
                    return
                yield block.encode("utf-8")
        finally:
            self.spool.close()


def build_export(db: Session, fmt: str, query: EventQuery, checkpoint: LedgerCheckpoint, *,
                 clinic: str = "", version: FhirVersion = DEFAULT_FHIR_VERSION, locale: str = "zh-CN") -> ExportFile:
    """Write the export anchored on ``checkpoint`` (entries after it are not part of it); ``version`` is the FHIR
    release of the two FHIR formats, and a CSV's ``label`` column is in ``locale``."""
    check_export_request(fmt, query)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
    try:
        if fmt == "jsonl":
            written = export_jsonl(db, spool, start=query.since, end=query.until, clinic=clinic,
                                   checkpoint=checkpoint, release_between_batches=True)
            summary: dict[str, Any] = written.as_dict()
        else:
            first, last = resolve_range(db, int(checkpoint.tree_size), query.since, query.until)
            entries = iter_matching(db, query, first, last)
            if fmt == "csv":
                count = write_csv(entries, spool, event_label(locale))
            elif fmt == "fhir":
                count = write_fhir_bundle(entries, spool, version=version)
            else:
                count = write_fhir_ndjson(entries, spool, version=version)
            summary = {"start": first, "end": last, "tree_size": int(checkpoint.tree_size),
                       "checkpoint_id": int(checkpoint.id), "entries": count}
    except BaseException:
        spool.close()
        raise
    return ExportFile(spool, fmt, version, summary)
