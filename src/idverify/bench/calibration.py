"""Writing a calibrated thresholds file, and its line in the model manifest beside it.

Owns only the write: the thresholds' stored precision, the JSON document a calibration produced, and the
``sha256`` / ``bytes`` of that file in the ``manifest.json`` of the same directory (the daemon refuses a thresholds
file whose checksum differs from the manifest, see :mod:`idverify.biometrics.operating_points`). Must not touch:
the calibration maths (:mod:`idverify.bench.calibrate_face`, :mod:`idverify.bench.calibrate_fingerprint`), any
other manifest entry.

``python -m idverify.bench.calibration models/thresholds_*.json`` records the checksum of a thresholds file that
arrived without it (calibrated on another checkout, or merged), after checking it was calibrated for this build's
algorithm version.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from idverify.biometrics.models_path import MANIFEST, read_manifest

THRESHOLDS_KIND = "thresholds"


def stored_threshold(t: float) -> float:
    """``t`` rounded *up* to six decimals, as thresholds files store it: no score the exact threshold rejects can
    pass the stored one (rounding to nearest let FVC2004_DB4_B's third-highest fp/1.4 impostor score, 0.0274265,
    pass a stored 0.027426: FMR 0.104 % at a 0.1 % point)."""
    return math.ceil(t * 1e6) / 1e6


def write_thresholds(out: Path, document: dict[str, Any], *, source: str) -> bool:
    """Write ``document`` to ``out``; when ``out``'s directory has a manifest, record the file's checksum there.

    Returns whether the manifest was updated (a file written elsewhere, e.g. a trial run, leaves none behind).
    """
    data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    out.write_bytes(data)
    if not (out.parent / MANIFEST).is_file():
        return False
    manifest = read_manifest(out.parent)
    entry = manifest["files"].setdefault(out.name, {"kind": THRESHOLDS_KIND})
    entry.update({"version": document.get("algorithm_version"), "source": source,
                  "licence": "Apache-2.0 (idverify)", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    (out.parent / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def record(paths: list[Path]) -> list[str]:
    """Record the checksums of thresholds files already written (by a calibration on another checkout, or a
    merge) in the manifest beside each; refuses a file calibrated for another algorithm version than this build's."""
    from idverify.biometrics.operating_points import current_versions
    from idverify.errors import ConfigError

    versions = current_versions()
    done: list[str] = []
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        expected = versions.get(path.name)
        if expected is None or document.get("algorithm_version") != expected:
            raise ConfigError(f"{path}: calibrated for {document.get('algorithm_version')!r}, this build runs "
                              f"{expected!r}; recalibrate instead of recording it")
        source = read_manifest(path.parent)["files"].get(path.name, {}).get("source", "recorded by hand")
        if not write_thresholds(path, document, source=source):
            raise ConfigError(f"{path.parent / MANIFEST} not found")
        done.append(f"{path.name}: {hashlib.sha256(path.read_bytes()).hexdigest()}")
    return done


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m idverify.bench.calibration models/thresholds_*.json")
    print("\n".join(record([Path(a) for a in sys.argv[1:]])))
