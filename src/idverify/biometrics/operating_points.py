"""The calibrated operating points: the one reader of ``thresholds_face.json`` and ``thresholds_fingerprint.json``.

Owns: finding the two thresholds files (:func:`~idverify.biometrics.models_path.model_file`, which checks each
file's sha256 against ``manifest.json``), refusing a file calibrated for another algorithm version than the
engine that will produce the scores, and turning the files into typed :class:`OperatingPoint` values. Must not
touch: decisions (:mod:`idverify.biometrics.fusion` receives the points), calibration (``idverify.bench``
produces the files), storage.

Why both checks: a threshold is only meaningful on the score scale of the algorithm it was calibrated for — a
file from an older face or fingerprint pipeline would silently change every false-match rate — and a hand-edited
threshold would do the same without any trace. The daemon therefore loads the points at start-up and refuses to
start on a stale or altered file (``create_app``); stage checks and enrolment get the same, already checked
points from the cache here.

File shape (what the calibration writes): ``{"algorithm_version": "...", "operating_points": {...}}`` where the
fingerprint file maps ``"fmr_<target>"`` to ``{"threshold": t}`` and the face file holds one such map per
comparison, ``"live"`` (live capture against enrolment) and ``"document"`` (live capture against the ID-document
photo). A point may carry ``"impostor_mean"`` (for fusion's score normalisation).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idverify.biometrics.models_path import model_file
from idverify.errors import ConfigError

FACE_FILE = "thresholds_face.json"
FINGERPRINT_FILE = "thresholds_fingerprint.json"
# factor -> (file, comparison inside the file; None = the file's operating points directly)
FACTOR_SOURCES: dict[str, tuple[str, str | None]] = {
    "face": (FACE_FILE, "live"),
    "document_photo": (FACE_FILE, "document"),
    "fingerprint": (FINGERPRINT_FILE, None),
}


@dataclass(frozen=True)
class OperatingPoint:
    """One calibrated threshold: accept when ``score >= threshold`` for a false-match rate of ``target_fmr``."""

    threshold: float
    target_fmr: float
    impostor_mean: float | None  # the hardest dev set's mean impostor score (fusion normalises with it)
    source: str  # file and key, e.g. "thresholds_face.json:live/fmr_0.001" (recorded with every decision)


@dataclass(frozen=True)
class OperatingPoints:
    """Every factor's calibrated points, keyed ``factor -> "fmr_<target>"``, and the versions they belong to."""

    points: Mapping[str, Mapping[str, OperatingPoint]]
    algorithm_versions: Mapping[str, str]  # file name -> algorithm version it was calibrated for

    def point(self, factor: str, target_fmr: float) -> OperatingPoint:
        """The point of ``factor`` (face, fingerprint, document_photo) at ``target_fmr``; ConfigError if none."""
        if factor not in FACTOR_SOURCES:
            raise ConfigError(f"unknown factor {factor!r}; use face, fingerprint or document_photo")
        key = _key(target_fmr)
        found = self.points.get(factor, {}).get(key)
        if found is None:
            name, kind = FACTOR_SOURCES[factor]
            raise ConfigError(f"{name} has no operating point {key!r}" + (f" for {kind!r}" if kind else ""))
        return found


def _key(target_fmr: float) -> str:
    return f"fmr_{target_fmr:g}"


def current_versions() -> dict[str, str]:
    """The algorithm version each thresholds file must have been calibrated for: the engines' own constants."""
    from idverify.biometrics.face.engine import ALGORITHM_VERSION as FACE_VERSION
    from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION as FINGERPRINT_VERSION

    return {FACE_FILE: FACE_VERSION, FINGERPRINT_FILE: FINGERPRINT_VERSION}


_cache: dict[tuple[tuple[Path, int, int], ...], OperatingPoints] = {}
_lock = threading.Lock()


def load_operating_points() -> OperatingPoints:
    """The checked operating points of both files (cached until a file changes; a changed file is checked again).

    Raises :class:`ConfigError` naming the file when it is missing, not listed in its manifest, fails its
    checksum, was calibrated for another algorithm version (both versions named), or is malformed.
    """
    paths = {name: model_file(name) for name in (FACE_FILE, FINGERPRINT_FILE)}  # sha256 against the manifest
    stamp = tuple((p, p.stat().st_size, p.stat().st_mtime_ns) for p in paths.values())
    with _lock:
        cached = _cache.get(stamp)
        if cached is not None:
            return cached
        versions = current_versions()
        documents = {name: _read(path, versions[name]) for name, path in paths.items()}
        points: dict[str, dict[str, OperatingPoint]] = {}
        for factor, (name, kind) in FACTOR_SOURCES.items():
            points[factor] = _points(paths[name], documents[name], kind)
        loaded = OperatingPoints(points=points, algorithm_versions=versions)
        _cache.clear()
        _cache[stamp] = loaded
        return loaded


def _read(path: Path, expected_version: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"thresholds file unreadable: {path} ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("operating_points"), dict):
        raise ConfigError(f"thresholds file malformed (no 'operating_points' object): {path}")
    version = data.get("algorithm_version")
    if version != expected_version:
        raise ConfigError(
            f"thresholds file {path} was calibrated for algorithm version {version!r}, but this build runs "
            f"{expected_version!r}: install the thresholds file that matches this version or recalibrate "
            "(python -m idverify.bench.calibrate_face / calibrate_fingerprint)"
        )
    return data


def _points(path: Path, data: dict[str, Any], kind: str | None) -> dict[str, OperatingPoint]:
    where = f"{path.name}:{kind + '/' if kind else ''}"
    section = data["operating_points"].get(kind) if kind is not None else data["operating_points"]
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"thresholds file malformed: {path} has no operating points" +
                          (f" for {kind!r}" if kind else ""))
    out: dict[str, OperatingPoint] = {}
    for key, point in section.items():
        try:
            target = float(key.removeprefix("fmr_"))
            threshold = float(point["threshold"] if isinstance(point, dict) else point)
            mean = point.get("impostor_mean") if isinstance(point, dict) else None
            out[key] = OperatingPoint(threshold=threshold, target_fmr=target,
                                      impostor_mean=None if mean is None else float(mean), source=where + key)
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"thresholds file malformed: {where}{key} has no numeric threshold") from None
    return out
