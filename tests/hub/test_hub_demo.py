"""``idverify hub demo --scenario``: a hub and two real clinic daemons over HTTP; the shared couple raises the
cross-clinic alert, clinic B's rewritten and re-signed history is refused, clinic A's export verifies with the
witness key. The one JSON line (README, "Output for scripts") is the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idverify.cli import app


@pytest.mark.slow
def test_scenario_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["hub", "demo", "--scenario", "--data-dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output[-2000:]
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert {"clinics", "cosigned", "alerts", "rewrite_detected", "verify_with_witness"} <= set(summary)
    assert summary["clinics"] == 2
    assert len(summary["cosigned"]) == 2 and all(size > 10 for size in summary["cosigned"].values())
    assert summary["rewrite_detected"] is True and summary["verify_with_witness"] is True
    kinds = {(a["kind"], a["clinic"]) for a in summary["alerts"]}
    assert ("checkpoint_refused", "Clinic B") in kinds
    shared = next(a for a in summary["alerts"] if a["kind"] == "open_cycles_two_clinics")
    assert shared["clinics"] == ["Clinic A", "Clinic B"]
    # the refused, signed submission is kept by the hub as evidence
    from idverify.config import load_hub_settings
    from idverify.hub.models import HubRefusal
    from idverify.store.db import make_engine, make_session_factory

    engine = make_engine(load_hub_settings(data_dir=tmp_path / "demo" / "hub").resolved_database_url)
    with make_session_factory(engine)() as s:
        refusal = s.query(HubRefusal).filter(HubRefusal.reason == "bad_proof").first()
        assert refusal is not None and refusal.body.startswith("old ")
    engine.dispose()
