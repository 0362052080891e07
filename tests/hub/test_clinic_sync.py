"""The clinic daemon's side: cosignatures requested, checked and stored next to checkpoints; entries fed; the
backlog visible while the hub is away; exports that carry cosignatures and fail with a forged one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from idverify.hub.models import HubClinic, HubEntry
from idverify.ledger import append, proofs
from idverify.ledger.cosignature import CosignatureSigner
from idverify.ledger.export import export_jsonl
from idverify.ledger.models import LedgerCosignature
from idverify.ledger.verify import ExportInvalid, verify_export
from idverify.ledger.witness_client import HubClient, HubUnavailable

from .conftest import Hub


def _event(i: int) -> dict[str, Any]:
    return {"type": "test.event", "occurred_at": "2026-12-01T10:00:00+00:00",
            "actor": {"staff_id": None, "role": "system", "workstation": "ws-a"}, "subject": {}, "data": {"n": i}}


def _clinic(make_app: Any, hub: Hub, db_url: str | None = None) -> Any:
    daemon = make_app(db_url, hub_url="http://hub.invalid", hub_witness_key=hub.ctx.witness.key.vkey)
    ctx = daemon.app.state.ctx
    sync = ctx.subsystem("hub")
    sync.client = HubClient(http=hub.client())  # the hub app in-process instead of the network
    hub.register_key(ctx.subsystem("ledger").signer)
    return daemon


def _append(daemon: Any, n: int, start: int = 0) -> int:
    ctx = daemon.app.state.ctx
    with ctx.session_factory() as s:
        append.append_many(s, [_event(start + i) for i in range(n)])
        s.commit()
    return int(ctx.subsystem("ledger").checkpoint_now())


def _hub_held(hub: Hub) -> tuple[int, int, int]:
    with hub.session() as s:
        clinic = s.scalars(select(HubClinic)).one()
        entries = s.scalar(select(func.count()).select_from(HubEntry)) or 0
        return int(clinic.witness_size), int(clinic.feed_size), int(entries)


def test_cosign_store_feed_and_export_with_the_witness(make_app: Any, make_hub: Any, db_url: str,
                                                        tmp_path: Path) -> None:
    hub = make_hub()
    daemon = _clinic(make_app, hub, db_url)
    ctx = daemon.app.state.ctx
    sync = ctx.subsystem("hub")
    sync.batch = 7  # several feed batches
    size = _append(daemon, 30)
    status = sync.sync_once()
    assert (status.cosigned_size, status.feed_size, status.witness_backlog, status.feed_backlog) == (size, size, 0, 0)
    assert _hub_held(hub) == (size, size, size)
    with ctx.session_factory() as s:
        stored = s.scalars(select(LedgerCosignature)).one()
        assert stored.witness == hub.ctx.witness.name
    component = next(c for c in daemon.client().get("/healthz").json()["components"] if c["kind"] == "hub")
    assert component["status"] == "ok" and component["cosigned_size"] == size

    out = tmp_path / "export.jsonl"
    with ctx.session_factory() as s, out.open("w") as fh:
        export_jsonl(s, fh, clinic="A")
    clinic_key = ctx.subsystem("ledger").signer.public_key
    witness = hub.ctx.witness.key
    assert verify_export(out, clinic_key, witnesses=[witness]).witnesses == [witness.name]
    stranger = CosignatureSigner("other.example/witness", Ed25519PrivateKey.generate()).key
    with pytest.raises(ExportInvalid, match="1 valid cosignature"):
        verify_export(out, clinic_key, witnesses=[witness, stranger])
    assert verify_export(out, clinic_key, witnesses=[witness, stranger], quorum=1).quorum == 1
    # a forged cosignature (right witness name and key id, wrong signature) fails the export
    text = out.read_text()
    line = next(json.loads(x) for x in text.splitlines() if '"type":"checkpoint"' in x)
    cos = line["note"].rstrip("\n").split("\n")[-1]
    forged_sig = cos[:-12] + ("A" if cos[-12] != "A" else "B") + cos[-11:]
    forged = tmp_path / "forged.jsonl"
    assert cos in text
    forged.write_text(text.replace(cos, forged_sig))
    with pytest.raises(ExportInvalid, match="does not verify"):
        verify_export(forged, clinic_key, witnesses=[witness])
    # without --witness-key the forged cosignature is somebody else's business: the export itself is intact
    assert verify_export(forged, clinic_key).entries == size


def test_unreachable_hub_backlog_then_catch_up_and_resume_after_409(make_app: Any, make_hub: Any) -> None:
    hub = make_hub()
    daemon = _clinic(make_app, hub)
    ctx = daemon.app.state.ctx
    sync = ctx.subsystem("hub")
    first = _append(daemon, 5)
    sync.sync_once()
    online = sync.client
    sync.client = HubClient("http://127.0.0.1:9", timeout_s=0.5)  # nothing listens there
    second = _append(daemon, 6, start=5)  # the clinic keeps working
    with pytest.raises(HubUnavailable):
        sync.sync_once()
    with pytest.raises(HubUnavailable):
        sync.sync_once()
    assert sync.status.failures == 2 and sync.next_delay() > sync.interval_s
    health = next(c for c in daemon.client().get("/healthz").json()["components"] if c["kind"] == "hub")
    assert health["status"] == "degraded" and health["witness_backlog"] == second - first
    metrics = daemon.client().get("/metrics").text
    assert f"idverify_hub_witness_backlog_entries {float(second - first)}" in metrics

    # meanwhile another workstation of the clinic got a newer checkpoint cosigned: our known size is stale
    third = _append(daemon, 4, start=11)
    with ctx.session_factory() as s:
        latest = proofs.latest_checkpoint(s)
        proof = proofs.consistency_proof(s, first, third).hashes
    assert latest is not None
    assert online.add_checkpoint(first, proof, latest.note).status == 200
    fourth = _append(daemon, 3, start=15)
    sync.client = online
    status = sync.sync_once()  # 409 → resumes from the witness's size → cosigned
    assert status.cosigned_size == fourth and status.failures == 0
    assert _hub_held(hub) == (fourth, fourth, fourth)


def test_a_hub_that_refuses_our_history_is_an_error_not_a_retry(make_app: Any, make_hub: Any) -> None:
    hub = make_hub()
    daemon = _clinic(make_app, hub)
    sync = daemon.app.state.ctx.subsystem("hub")
    _append(daemon, 4)
    sync.sync_once()
    wrong = CosignatureSigner(sync.witness.name, Ed25519PrivateKey.generate())
    sync.witness = wrong.key  # as if IDVERIFY_HUB_WITNESS_KEY named another key
    _append(daemon, 2, start=4)
    with pytest.raises(Exception, match="without a cosignature"):
        sync.sync_once()
    assert daemon.app.state.ctx.subsystem("hub").health()[0]["status"] == "degraded"


def test_the_hub_sync_needs_the_witness_key(make_app: Any) -> None:
    from idverify.errors import ConfigError

    with pytest.raises(ConfigError, match="IDVERIFY_HUB_WITNESS_KEY"):
        make_app(hub_url="http://hub.invalid")


def test_cli_exports_the_witnessed_checkpoint_and_verifies_with_the_witness_key(
    make_app: Any, make_hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from idverify.cli import app
    from idverify.ledger.checkpoint import verifier_key

    hub = make_hub()
    daemon = _clinic(make_app, hub)
    settings = daemon.app.state.ctx.settings
    monkeypatch.chdir(tmp_path)
    env = {"IDVERIFY_DATA_DIR": str(settings.data_dir), "IDVERIFY_DATABASE_URL": settings.resolved_database_url}
    runner = CliRunner()
    out = tmp_path / "e.jsonl"
    refused = runner.invoke(app, ["audit", "export", "--out", str(out), "--witnessed", "--json"], env=env)
    assert refused.exit_code == 1 and "not_cosigned" in refused.output
    _append(daemon, 8)
    daemon.app.state.ctx.subsystem("hub").sync_once()
    exported = runner.invoke(app, ["audit", "export", "--out", str(out), "--witnessed", "--json"], env=env)
    assert exported.exit_code == 0, exported.output
    signer = daemon.app.state.ctx.subsystem("ledger").signer
    clinic_key = verifier_key(signer.origin, signer.public_key)
    wkey = tmp_path / "witness.vkey"
    wkey.write_text(hub.ctx.witness.key.vkey + "\n")
    ok = runner.invoke(app, ["audit", "verify", str(out), "--public-key", clinic_key, "--witness-key", str(wkey),
                             "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output.strip().splitlines()[-1])["cosigned_by"] == [hub.ctx.witness.name]
    other = CosignatureSigner("other.example/w", Ed25519PrivateKey.generate()).key.vkey
    short = runner.invoke(app, ["audit", "verify", str(out), "--public-key", clinic_key, "--witness-key",
                                str(wkey), "--witness-key", other, "--json"], env=env)
    assert short.exit_code == 3  # too few valid cosignatures: the export does not verify
    assert "1 valid cosignature" in json.loads(short.output.strip().splitlines()[-1])["error"]["message"]
    # the plain export (fresh, not yet cosigned checkpoint) fails a witness check, passes without one
    plain = tmp_path / "p.jsonl"
    assert runner.invoke(app, ["audit", "export", "--out", str(plain)], env=env).exit_code == 0
    assert runner.invoke(app, ["audit", "verify", str(plain), "--public-key", clinic_key, "--witness-key",
                               str(wkey)], env=env).exit_code == 3
    assert runner.invoke(app, ["audit", "verify", str(plain), "--public-key", clinic_key], env=env).exit_code == 0
