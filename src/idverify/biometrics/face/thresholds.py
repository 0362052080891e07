"""Calibrated face thresholds: reading them from ``models/thresholds_face.json``.

Owns: the operating points (score threshold per target false-match rate, for live-to-enrolment and
live-to-document comparisons). Must not touch: decisions (fusion reads these numbers), calibration (which
produces the file: :mod:`idverify.bench.calibrate_face`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from idverify.biometrics.models_path import model_file
from idverify.errors import ConfigError

THRESHOLDS_FILE = "thresholds_face.json"
_cache: dict[Path, dict[str, Any]] = {}
_lock = threading.Lock()


def thresholds_path(override: Path | None = None) -> Path:
    """The calibration file: ``override``, else the first model directory holding it (see ``models_path``)."""
    return override if override is not None else model_file(THRESHOLDS_FILE, verify=False)


def face_thresholds(path: Path | None = None) -> dict[str, Any]:
    """The parsed thresholds file (cached per path)."""
    p = thresholds_path(path)
    with _lock:
        if p not in _cache:
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
                data["operating_points"]["live"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"face thresholds file unreadable or malformed: {p}") from exc
            _cache[p] = data
        return _cache[p]


def threshold_for(kind: str = "live", target_fmr: float = 0.001, path: Path | None = None) -> float:
    """Score threshold (accept when ``score >= threshold``) for ``kind`` ``live``/``document`` at ``target_fmr``."""
    points = face_thresholds(path)["operating_points"].get(kind)
    if not points:
        raise ConfigError(f"no calibrated face operating points for {kind!r}")
    key = f"fmr_{target_fmr:g}"
    if key not in points:
        raise ConfigError(f"no calibrated face threshold for {kind!r} at FMR {target_fmr:g}; "
                          f"available: {', '.join(sorted(points))}")
    return float(points[key]["threshold"])
