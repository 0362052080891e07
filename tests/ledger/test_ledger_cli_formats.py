"""The audit CLI end to end, and the CSV / FHIR (one Bundle, or NDJSON; R5 or R4) renderings of entries."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent
from fhir.resources.R4B.bundle import Bundle as R4Bundle
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from idverify.cli import app
from idverify.i18n import catalogue
from idverify.ledger.append import append, append_many
from idverify.ledger.export import CSV_COLUMNS, write_csv
from idverify.ledger.fhir import to_fhir_audit_event, write_fhir_ndjson
from idverify.ledger.models import LedgerEntry

from .conftest import EventFactory


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray idverify.toml
    monkeypatch.delenv("IDVERIFY_CONFIG_FILE", raising=False)
    return {"IDVERIFY_DATA_DIR": str(tmp_path / "data"), "IDVERIFY_DATABASE_URL": sqlite_url,
            "IDVERIFY_CLINIC_NAME": "Test clinic", "IDVERIFY_WORKSTATION_ID": "ws-test"}


def _last_json(output: str) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return parsed


def test_cli_export_verify_roundtrip_and_tamper(
    env: dict[str, str], session: Session, make_event: EventFactory, tmp_path: Path
) -> None:
    append_many(session, [make_event(i) for i in range(12)])
    session.commit()
    runner = CliRunner()
    out = tmp_path / "audit.jsonl"
    res = runner.invoke(app, ["audit", "export", "--out", str(out), "--json"], env=env)
    assert res.exit_code == 0, res.output
    summary = _last_json(res.output)
    assert summary["entries"] == 13  # 12 events + the export.created event the CLI records first
    key_file = tmp_path / "ledger.pub"
    res = runner.invoke(app, ["audit", "public-key", "--out", str(key_file)], env=env)
    assert res.exit_code == 0 and "BEGIN PUBLIC KEY" in key_file.read_text()
    for _ in range(2):
        res = runner.invoke(app, ["audit", "verify", str(out), "--public-key", str(key_file), "--json"], env=env)
        assert res.exit_code == 0, res.output
        assert _last_json(res.output)["entries"] == 13
    lines = out.read_text().splitlines()
    tampered = [line.replace('"n":4', '"n":40') if '"index":4,' in line else line for line in lines]
    assert tampered != lines
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(tampered) + "\n")
    res = runner.invoke(app, ["audit", "verify", str(bad), "--public-key", str(key_file), "--json"], env=env)
    assert res.exit_code == 3  # tampered, not a usage or I/O error
    error = _last_json(res.output)["error"]
    assert isinstance(error, dict) and error["code"] == "ledger_tampered" and error["first_bad_index"] == 4
    res = runner.invoke(app, ["audit", "check", "--json"], env=env)
    assert res.exit_code == 0 and _last_json(res.output)["status"] == "ok"


def test_cli_csv_fhir_and_date_range(env: dict[str, str], session: Session, make_event: EventFactory,
                                      tmp_path: Path) -> None:
    append_many(session, [make_event(i) for i in range(3)])
    session.commit()
    runner = CliRunner()
    runs = (("csv", "r5", "a.csv"), ("fhir", "r5", "a.fhir.json"), ("fhir-ndjson", "r5", "a.ndjson"),
            ("fhir", "r4", "b.fhir.json"), ("fhir-ndjson", "r4", "b.ndjson"))
    for expected, (fmt, version, name) in enumerate(runs, start=4):
        res = runner.invoke(app, ["audit", "export", "--out", str(tmp_path / name), "--format", fmt, "--json",
                                  "--fhir-version", version, "--from", "2000-01-01", "--to", "2099-12-31"], env=env)
        assert res.exit_code == 0, res.output
        summary = _last_json(res.output)
        assert summary["entries"] == expected  # each export records itself first
        assert summary.get("fhir_version") == (version if fmt.startswith("fhir") else None)
        assert "exporting" not in res.output  # no progress bar without a terminal
    # --format fhir is one Bundle (as the API's format=fhir), fhir-ndjson one AuditEvent per line
    r5 = Bundle.model_validate_json((tmp_path / "a.fhir.json").read_text())
    r4 = R4Bundle.model_validate_json((tmp_path / "b.fhir.json").read_text())
    assert (r5.type, len(r5.entry or []), r4.type, len(r4.entry or [])) == ("collection", 5, "collection", 7)
    assert all(isinstance(e.resource, R4AuditEvent) for e in r4.entry or [])
    lines = (tmp_path / "b.ndjson").read_text().splitlines()
    assert [R4AuditEvent.model_validate_json(line).id for line in lines] == [f"ledger-{i}" for i in range(8)]
    assert len((tmp_path / "a.ndjson").read_text().splitlines()) == 6
    exported = [json.loads(e.canonical)["event"]["data"] for e in session.query(LedgerEntry).order_by(
        LedgerEntry.index) if e.event_type == "export.created"]
    assert [(d["format"], d.get("fhir_version")) for d in exported] == [
        (fmt, version if fmt != "csv" else None) for fmt, version, _ in runs]
    # the CSV's label column says each event in the reader's language, as the API's export does (zh-CN default)
    session.rollback()  # end the test's read before the CLI writes its export event
    labels = [row[-1] for row in csv.reader(io.StringIO((tmp_path / "a.csv").read_text(encoding="utf-8-sig")))][1:]
    zh = catalogue("zh-CN")["inspector.event_type.export.created"]
    assert labels[-1] == zh and all(label for label in labels)
    res = runner.invoke(app, ["audit", "export", "--out", str(tmp_path / "en.csv"), "--format", "csv", "--lang", "en",
                              "--json"], env=env)
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO((tmp_path / "en.csv").read_text(encoding="utf-8-sig"))))
    assert rows[-1][-1] == catalogue("en")["inspector.event_type.export.created"]
    for bad in (["--format", "xml"], ["--format", "fhir", "--fhir-version", "r3"], ["--format", "csv", "--lang", "fr"]):
        res = runner.invoke(app, ["audit", "export", "--out", str(tmp_path / "x"), "--json", *bad], env=env)
        assert res.exit_code == 2 and _last_json(res.output)["error"]["code"] == "validation_error"  # type: ignore[index]
    res = runner.invoke(app, ["audit", "export", "--out", str(tmp_path / "x"), "--from", "yesterday"], env=env)
    assert res.exit_code != 0


def test_csv_rows_carry_ids_only(session: Session, make_event: EventFactory) -> None:
    append_many(session, [make_event(i) for i in range(2)])
    session.commit()
    out = io.StringIO()
    assert write_csv(session.query(LedgerEntry).order_by(LedgerEntry.index), out) == 2
    assert out.getvalue().startswith("\ufeff")  # the BOM: Excel on Chinese Windows reads UTF-8
    rows = list(csv.DictReader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[1]["patient_id"] == "patient-1" and rows[1]["role"] == "nurse"
    assert json.loads(rows[1]["data"])["n"] == 1


def test_fhir_audit_event_mapping(session: Session, make_event: EventFactory) -> None:
    entry = append(session, make_event(7, etype="override.recorded"))
    session.commit()
    resource = to_fhir_audit_event(entry)
    assert resource["resourceType"] == "AuditEvent"
    assert [c["code"] for c in resource["code"]["coding"]] == ["110127", "override.recorded"]  # DICOM, then ours
    assert resource["category"][0]["coding"][0]["code"] == "110113"  # Security Alert
    assert resource["action"] == "E"
    assert resource["patient"]["reference"] == "Patient/patient-7"
    assert resource["agent"][0]["who"]["identifier"]["value"] == "staff-1"
    assert resource["outcome"]["code"]["code"] == "0"
    assert resource["entity"][0]["what"]["identifier"]["value"] == "0"
    out = io.StringIO()
    assert write_fhir_ndjson([entry], out) == 1
    assert json.loads(out.getvalue())["id"] == "ledger-0"
