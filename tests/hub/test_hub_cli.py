"""``idverify hub db upgrade | witness-key | clinic add`` from the shell's point of view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idverify.cli import app
from idverify.ledger.cosignature import parse_witness_key

from .conftest import MemoryLog


def test_migrate_print_witness_key_and_register_a_clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"IDVERIFY_HUB_DATA_DIR": str(tmp_path / "hub")}
    runner = CliRunner()
    up = runner.invoke(app, ["hub", "db", "upgrade"], env=env)
    assert up.exit_code == 0, up.output
    key = runner.invoke(app, ["hub", "witness-key"], env=env)
    assert key.exit_code == 0
    witness = parse_witness_key(key.output.strip().splitlines()[-1])
    assert witness.name.startswith("idverify-hub/")
    # the same key every time (created once, 0600)
    assert runner.invoke(app, ["hub", "witness-key"], env=env).output == key.output
    assert (tmp_path / "hub" / "keys" / "witness.key").stat().st_mode & 0o777 == 0o600

    log = MemoryLog()
    added = runner.invoke(app, ["hub", "clinic", "add", "--name", "Clinic A", "--verifier-key", log.vkey], env=env)
    assert added.exit_code == 0, added.output
    result = json.loads(added.output.strip().splitlines()[-1])
    assert result["origin"] == log.origin and result["clinic_id"]
    again = runner.invoke(app, ["hub", "clinic", "add", "--name", "A", "--verifier-key", log.vkey], env=env)
    assert again.exit_code == 1
    assert json.loads(again.output.strip().splitlines()[-1])["error"]["code"] == "origin_registered"
    bad = runner.invoke(app, ["hub", "clinic", "add", "--name", "A", "--verifier-key", "nonsense"], env=env)
    assert bad.exit_code == 2  # a malformed key: usage
    assert json.loads(bad.output.strip().splitlines()[-1])["error"]["code"] == "validation_error"


def test_the_hub_refuses_a_clinic_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idverify.store.db import upgrade_database

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    upgrade_database(url)
    out = CliRunner().invoke(app, ["hub", "db", "upgrade"], env={"IDVERIFY_HUB_DATABASE_URL": url,
                                                                   "IDVERIFY_HUB_DATA_DIR": str(tmp_path / "h")})
    assert out.exit_code == 2
    assert "clinic's database" in out.output


def test_serving_an_unmigrated_hub_database_is_refused(tmp_path: Path) -> None:
    from idverify.config import load_hub_settings
    from idverify.errors import DatabaseNotMigrated
    from idverify.hub.app import create_hub_app

    with pytest.raises(DatabaseNotMigrated, match="idverify hub db upgrade"):
        create_hub_app(load_hub_settings(data_dir=tmp_path))


def test_region_key_is_created_once(tmp_path: Path) -> None:
    from idverify.store.region import load_region_key

    runner = CliRunner()
    out = tmp_path / "region.key"
    made = runner.invoke(app, ["hub", "region-key", "--out", str(out)])
    assert made.exit_code == 0
    assert json.loads(made.output.strip().splitlines()[-1])["key_id"] == load_region_key(out).key_id
    again = runner.invoke(app, ["hub", "region-key", "--out", str(out)])
    assert again.exit_code == 1 and "never overwritten" in again.output


def test_the_hub_ledger_exports_and_verifies_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"IDVERIFY_HUB_DATA_DIR": str(tmp_path / "hub")}
    runner = CliRunner()
    assert runner.invoke(app, ["hub", "db", "upgrade"], env=env).exit_code == 0
    for i in range(3):
        log = MemoryLog()
        assert runner.invoke(app, ["hub", "clinic", "add", "--name", f"C{i}", "--verifier-key", log.vkey],
                             env=env).exit_code == 0
    out = tmp_path / "hub-ledger.jsonl"
    exported = runner.invoke(app, ["hub", "ledger", "export", "--out", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.output.strip().splitlines()[-1])
    assert summary["entries"] == 3
    key = runner.invoke(app, ["hub", "ledger", "public-key"], env=env).output.strip()
    assert key == summary["public_key"]
    verified = runner.invoke(app, ["audit", "verify", str(out), "--public-key", key, "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output.strip().splitlines()[-1])["entries"] == 3
    # the same entries as FHIR AuditEvents, validated in both releases: clinic registrations are security
    # configuration (DICOM 110113 + 110129)
    from fhir.resources.bundle import Bundle
    from fhir.resources.R4B.auditevent import AuditEvent as R4AuditEvent

    bundle_file, ndjson_file = tmp_path / "hub-ledger.fhir.json", tmp_path / "hub-ledger.r4.ndjson"
    as_bundle = runner.invoke(app, ["hub", "ledger", "export", "--out", str(bundle_file), "--format", "fhir"], env=env)
    assert as_bundle.exit_code == 0, as_bundle.output
    assert json.loads(as_bundle.output.strip().splitlines()[-1])["fhir_version"] == "r5"
    bundle = Bundle.model_validate_json(bundle_file.read_text(encoding="utf-8"))
    events = [e.resource for e in bundle.entry or []]
    # the first export's own record (hub.export.created) may have joined the ledger: entries are at least three
    registered = [e for e in events if any(c.code == "110129" for c in e.code.coding)]  # type: ignore[union-attr]
    assert len(registered) == 3 and len(events) >= 3
    as_r4 = runner.invoke(app, ["hub", "ledger", "export", "--out", str(ndjson_file), "--format", "fhir-ndjson",
                                "--fhir-version", "r4"], env=env)
    assert as_r4.exit_code == 0, as_r4.output
    lines = ndjson_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == json.loads(as_r4.output.strip().splitlines()[-1])["entries"] >= 3
    r4 = [R4AuditEvent.model_validate_json(line) for line in lines]
    assert sum(1 for e in r4 if e.subtype and e.subtype[0].code == "110129") == 3
    wrong = runner.invoke(app, ["hub", "ledger", "export", "--out", str(out), "--format", "csv"], env=env)
    assert wrong.exit_code != 0 and "--format must be" in wrong.output


def test_readme_lists_every_hub_setting() -> None:
    from idverify.config import HubSettings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [n for n in HubSettings.model_fields if f"IDVERIFY_HUB_{n.upper()}" not in readme]
    assert missing == []
