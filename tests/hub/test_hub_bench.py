"""``idverify bench hub`` end to end at toy scale on the real PostgreSQL server: every phase runs, nothing is
refused, the race leaves one chain, and the CPU figures the README quotes are measured (not left at zero)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from idverify.hub.bench import BenchConfig, run_hub_bench
from tests.conftest import POSTGRES_URL, postgres_unavailable_reason


def test_hub_bench_every_phase_on_postgresql() -> None:
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    cfg = BenchConfig(clinics=4, events=400, backend="postgresql", postgres_url=POSTGRES_URL, processes=1,
                      rounds=4, race_requests=20, witness_threads=2, feed_threads=2)
    phases: list[str] = []
    before = _bench_schemas()
    result = run_hub_bench(cfg, phases.append)

    assert len(phases) == 6
    assert (result["witness_http_requests"], result["witness_http_errors"]) == (8, 0)  # 4 clinics × 2 rounds
    assert (result["witness_requests"], result["witness_errors"]) == (8, 0)
    assert result["witness_http_server_cpu_ms"] > 0 and result["witness_http_client_cpu_ms"] > 0
    assert result["witness_cpu_ms"] > 0 and result["witness_per_s"] > 0
    assert (result["feed_entries"], result["feed_errors"]) == (400, 0)
    assert result["alert_query_max_s"] == max(v for k, v in result["alert_queries_s"].items()
                                              if not k.endswith("median_s"))
    race = result["race"]
    assert race["rollbacks"] == 0 and race["chain_ok"] and race["cosigned"] >= 1
    assert _bench_schemas() == before  # the scratch schema is gone


def _bench_schemas() -> set[str]:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT schema_name FROM information_schema.schemata "
                                         "WHERE schema_name LIKE 'hub_bench_%'")).scalars())
    finally:
        engine.dispose()
