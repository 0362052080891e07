"""Calibrated fingerprint operating thresholds: reading ``models/thresholds_fingerprint.json``.

Owns the operating points of :func:`idverify.biometrics.fingerprint.match` (accept when ``score >= threshold``).
Must not touch decisions (fusion reads these numbers), storage, or calibration (which produces the file:
:mod:`idverify.bench.calibrate_fingerprint`); loading refuses a file written for another algorithm version.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION
from idverify.biometrics.models_path import model_file
from idverify.errors import ConfigError

THRESHOLDS_FILE = "thresholds_fingerprint.json"
_cache: dict[Path, dict[str, Any]] = {}
_lock = threading.Lock()


def thresholds_path(override: Path | None = None) -> Path:
    """The calibration file: ``override``, else the first model directory holding it (see ``models_path``)."""
    return override if override is not None else model_file(THRESHOLDS_FILE, verify=False)


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    """The parsed thresholds file (cached per path); refuses one written for another algorithm version."""
    p = thresholds_path(path)
    with _lock:
        if p not in _cache:
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
                data["operating_points"]["fmr_0.001"]["threshold"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"fingerprint thresholds file unreadable or malformed: {p}") from exc
            if data.get("algorithm_version") != ALGORITHM_VERSION:
                raise ConfigError("fingerprint thresholds were calibrated for another algorithm version; recalibrate")
            _cache[p] = data
        return _cache[p]


def threshold_for(target_fmr: float = 1e-3, path: Path | None = None) -> float:
    """Score threshold (accept when ``match(a, b) >= threshold``) at ``target_fmr`` (1e-3 or 1e-4)."""
    points = load_thresholds(path)["operating_points"]
    key = f"fmr_{target_fmr:g}"
    if key not in points:
        raise ConfigError(f"no calibrated fingerprint threshold at FMR {target_fmr:g}; available: {sorted(points)}")
    return float(points[key]["threshold"])
