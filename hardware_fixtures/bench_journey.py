"""The nurse's wait: click-to-verdict of a stage check on the simulated workstation, paced at the real wire speeds
(not a test: numbers for the README).

A daemon with the demo's simulated devices and ``simulate_paced`` on (GA 467 at its baud rate, the ZhianTec sensor
at 57600 baud, switched by the driver to 115200 as on real hardware) on an embedded SQLite database. The simulated
woman presents her card, is registered from it, consents, enrols her face and two fingers on the devices; a cycle
is opened; then ``--checks`` egg-retrieval checks are timed from the request (the nurse's click) to the answer,
through the REST API as the nurse's page calls it. The daemon's own breakdown (``timings_ms``: capture, face and
fingerprint matching) is reported beside the wall time.

The simulators answer instantly apart from the wire time, so these are lower bounds for real hardware: a real
sensor spends ~0.3–0.5 s taking each image, a real reader a few hundred milliseconds on the card's RF exchange.

    python -m hardware_fixtures.bench_journey [--checks 5] [--unpaced] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from idverify.config import load_settings
from idverify.logging import configure_logging
from idverify.runtime import bootstrap_demo

PERSONA = "female"
FINGERS = ["right_index", "left_index"]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def run(checks: int, *, paced: bool = True, data_dir: Path | None = None) -> dict[str, Any]:
    """Enrol the simulated woman on the devices, then time ``checks`` egg-retrieval checks. Returns the figures."""
    with tempfile.TemporaryDirectory(prefix="idverify-journey-") as scratch:
        settings = load_settings(data_dir=data_dir or Path(scratch), database_url="", simulate=True,
                                 simulate_paced=paced, workstation_id="bench-ws", log_json=True,
                                 log_level="WARNING")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        configure_logging(settings.log_level, json=settings.log_json)
        passwords = {a.username: a.password for a in bootstrap_demo(settings)}
        from idverify.app import create_app

        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            login = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": passwords["nurse1"]})
            login.raise_for_status()
            h = {"X-CSRF-Token": login.json()["csrf_token"]}

            def call(method: str, path: str, **kwargs: Any) -> Any:
                resp = client.request(method, f"/api/v1{path}", headers=h, **kwargs)
                if resp.status_code >= 300:
                    raise SystemExit(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
                return resp.json()

            call("POST", "/simulator/present", json={"persona": PERSONA})
            card = call("POST", "/patients/from-card")
            her = card["patient"]["id"]
            call("POST", f"/patients/{her}/consent", json={"accepted": ["face", "fingerprint"], "refused": []})
            t = time.perf_counter()
            call("POST", f"/patients/{her}/enrolment", json={"use_devices": True, "finger_positions": FINGERS})
            enrol_s = time.perf_counter() - t
            call("POST", "/simulator/present", json={"persona": "male"})
            him = call("POST", "/patients/from-card")["patient"]["id"]
            couple = call("POST", "/couples", json={"female_patient_id": her, "male_patient_id": him})
            cycle = call("POST", "/cycles", json={"couple_id": couple["id"], "kind": "ivf"})
            call("POST", "/simulator/present", json={"persona": PERSONA})
            walls: list[float] = []
            parts: dict[str, list[float]] = {}
            decisions: list[str] = []
            for i in range(checks + 1):  # the first warms the matching worker processes up: not timed
                t = time.perf_counter()
                out = call("POST", f"/cycles/{cycle['id']}/checks",
                           json={"stage": "egg_retrieval", "use_devices": True, "finger_positions": FINGERS})
                decisions.append(out["verification"]["decision"])
                if i == 0:
                    continue
                walls.append((time.perf_counter() - t) * 1000)
                for key, value in out["timings_ms"].items():
                    parts.setdefault(key, []).append(value)
    return {
        "paced": paced,
        "checks": checks,
        "fingers": len(FINGERS),
        "decisions": {d: decisions.count(d) for d in sorted(set(decisions))},  # warm-up included
        "click_to_verdict_ms": {"median": _median(walls), "min": round(min(walls), 1), "max": round(max(walls), 1)},
        "daemon_timings_median_ms": {key: _median(values) for key, values in sorted(parts.items())},
        "enrolment_s": round(enrol_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=5, help="timed checks (default 5)")
    parser.add_argument("--unpaced", action="store_true", help="simulators at full speed (the software's share)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.checks, paced=not args.unpaced)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
