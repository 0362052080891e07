"""``/metrics`` after real work: a stage check counted by stage and outcome with its duration, a failed device
capture counted by error code, the ledger's gauges (entries, newest checkpoint, integrity) and the devices' up/down
read at scrape time. The alert rules and the Grafana dashboard in ``drivers/`` may name only series the daemon
exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from idverify.bench.load import check_bodies, seed
from idverify.devices.health import DeviceHealth
from idverify.ledger.cosignature import witness_verifier_key
from idverify.ledger.scheduler import LedgerScheduler

DRIVERS = Path(__file__).resolve().parents[2] / "drivers"
HUB_KEY = witness_verifier_key("hub.example", bytes(range(32)))  # well-formed; the hub is never reached here


@pytest.fixture
def data(shared_data: Path) -> Path:
    if not (shared_data / "face" / "asian_dev").is_dir() or not (shared_data / "fingerprint").is_dir():
        pytest.skip("asian_dev faces or FVC2002 fingerprints missing")
    return shared_data


def scrape(daemon: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, keyed by (sample name, sorted labels)."""
    resp = daemon.client().get("/metrics")
    assert resp.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def scheduler_of(daemon: Any) -> LedgerScheduler:
    scheduler = daemon.app.state.ctx.subsystem("ledger")
    assert isinstance(scheduler, LedgerScheduler)
    return scheduler


def test_a_check_and_a_failed_capture_are_counted_and_the_ledger_is_scraped(db_url: str, data: Path,
                                                                            make_app: Any) -> None:
    daemon = make_app(db_url, simulate=True)  # devices configured but not started: a device capture fails
    cycle_id, token = seed(daemon.settings.resolved_database_url, data, daemon.settings)
    url, auth = f"/api/v1/cycles/{cycle_id}/checks", {"authorization": f"Bearer {token}"}
    client = daemon.client()

    resp = client.post(url, json=check_bodies(data)[0], headers=auth)
    assert resp.status_code == 201, resp.text
    decision = resp.json()["verification"]["decision"]
    seconds = resp.json()["timings_ms"]["total_ms"] / 1000
    failed = client.post(url, json={"stage": "egg_retrieval", "use_devices": True,
                                    "finger_positions": ["right_index"]}, headers=auth)
    assert failed.status_code in (503, 504), failed.text
    code = failed.json()["error"]["code"]
    scheduler_of(daemon).tick()  # what the running daemon does every checkpoint interval

    samples = scrape(daemon)
    stage = (("stage", "egg_retrieval"),)
    assert samples[("idverify_check_decisions_total", (("outcome", decision), *stage))] == 1
    assert samples[("idverify_check_duration_seconds_count", stage)] == 1
    assert samples[("idverify_check_duration_seconds_sum", stage)] == pytest.approx(seconds, abs=1e-3)
    assert samples[("idverify_capture_failures_total", (("code", code),))] == 1
    assert not any(name == "idverify_check_decisions_total" and dict(labels)["outcome"] != decision
                   for name, labels in samples)  # the failed capture decided nothing
    with daemon.app.state.ctx.session_factory() as db:
        entries = db.scalar(text("SELECT COUNT(*) FROM ledger_entries"))
    assert entries and samples[("idverify_ledger_entries", ())] == entries
    assert samples[("idverify_ledger_checkpoint_entries", ())] == entries  # the tick signed them all
    assert 0 <= samples[("idverify_ledger_checkpoint_age_seconds", ())] < 60
    assert samples[("idverify_ledger_checkpoint_interval_seconds", ())] == daemon.settings.checkpoint_interval_s
    assert samples[("idverify_ledger_integrity_ok", ())] == 1
    assert ("idverify_ledger_last_full_check_timestamp_seconds", ()) in samples


def test_device_up_names_each_configured_device(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = make_app(simulate=True)
    lines = [DeviceHealth("camera", "usb camera 0", "ok"), DeviceHealth("fingerprint", "ZhianTec", "unavailable"),
             DeviceHealth("card_reader", "none", "not_configured")]
    monkeypatch.setattr(daemon.app.state.ctx.devices, "health", lambda: lines)
    up = {labels: value for (name, labels), value in scrape(daemon).items() if name == "idverify_device_up"}
    assert up == {(("kind", "camera"), ("name", "usb camera 0")): 1,
                  (("kind", "fingerprint"), ("name", "ZhianTec")): 0}  # nobody configured the card reader


def test_integrity_gauge_drops_when_the_ledger_is_tampered_with(make_app: Any) -> None:
    daemon = make_app()  # SQLite: the tamper below drops its trigger
    for username in ("nurse1", "admin"):  # logins are audited: two ledger entries
        daemon.login(username)
    scheduler = scheduler_of(daemon)
    scheduler.tick()
    assert scrape(daemon)[("idverify_ledger_integrity_ok", ())] == 1
    with daemon.app.state.ctx.engine.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar_one() >= 2
        conn.execute(text("DROP TRIGGER ledger_entries_no_update"))
        conn.execute(text("UPDATE ledger_entries SET leaf_hash = zeroblob(32) WHERE idx = 1"))
    assert not scheduler.check_now().ok
    assert scrape(daemon)[("idverify_ledger_integrity_ok", ())] == 0


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bidverify_[a-z_]+\b", expr))


def test_alert_rules_and_dashboard_name_only_exposed_series(make_app: Any) -> None:
    daemon = make_app(simulate=True, hub_url="http://hub.invalid", hub_witness_key=HUB_KEY)
    scheduler_of(daemon).tick()
    exposed = {name for name, _ in scrape(daemon)}
    # a counter or histogram that has not counted yet shows no sample: take the names of its families too
    text_ = daemon.client().get("/metrics").text
    readme = (DRIVERS.parent / "README.md").read_text(encoding="utf-8")
    for family in text_string_to_metric_families(text_):
        if family.name.startswith("idverify_") and not family.name.endswith("_created"):  # a counter's start time
            assert f"`{family.name}" in readme, family.name  # the README's metrics table lists every family
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        exposed |= {family.name + suffix for suffix in suffixes}

    rules = yaml.safe_load((DRIVERS / "prometheus-alerts.yml").read_text(encoding="utf-8"))
    groups = {g["name"]: {r["alert"]: r["expr"] for r in g["rules"]} for g in rules["groups"]}
    assert set(groups) == {"idverify-ledger", "idverify-devices", "idverify-integrations", "idverify-checks",
                           "idverify-http"}
    alerts = {name: expr for group in groups.values() for name, expr in group.items()}
    assert "idverify_ledger_integrity_ok == 0" in alerts["IdverifyLedgerIntegrityFailed"]
    assert "3 * idverify_ledger_checkpoint_interval_seconds" in alerts["IdverifyCheckpointStale"]
    assert "idverify_device_up == 0" in alerts["IdverifyDeviceDown"]
    assert 'outcome="reject"' in alerts["IdverifyRejectRateSpike"]
    assert 'status=~"5.."' in alerts["IdverifyHttp5xx"]
    assert {"IdverifyWebhookDeliveriesFailing", "IdverifyWebhookBacklogGrowing", "IdverifyWitnessBacklogGrowing",
            "IdverifyHubSyncFailing"} <= set(alerts)
    for name, expr in alerts.items():
        assert _metric_names(expr) and _metric_names(expr) <= exposed, name

    dashboard = json.loads((DRIVERS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    queried = {n for panel in dashboard["panels"] for t in panel["targets"] for n in _metric_names(t["expr"])}
    assert queried <= exposed
    assert {"idverify_check_decisions_total", "idverify_check_duration_seconds_bucket", "idverify_device_up",
            "idverify_capture_failures_total", "idverify_ledger_entries", "idverify_ledger_checkpoint_age_seconds",
            "idverify_ledger_integrity_ok", "idverify_webhook_backlog", "idverify_hub_witness_backlog_entries",
            "idverify_http_requests_total"} <= queried


def test_a_failed_enrolment_capture_is_counted(make_app: Any) -> None:
    daemon = make_app(simulate=True)  # devices configured but not started
    nurse, csrf = daemon.login("nurse1")
    patient = nurse.post("/api/v1/patients", headers={"X-CSRF-Token": csrf}, json={
        "document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "测试女", "sex": "F",
        "birth_date": "1990-03-07"})
    assert patient.status_code == 201, patient.text
    resp = nurse.post(f"/api/v1/patients/{patient.json()['patient']['id']}/enrolment", headers={"X-CSRF-Token": csrf},
                      json={"use_devices": True, "finger_positions": ["right_index"]})
    assert resp.status_code in (503, 504), resp.text
    code = resp.json()["error"]["code"]
    assert scrape(daemon)[("idverify_capture_failures_total", (("code", code),))] == 1
