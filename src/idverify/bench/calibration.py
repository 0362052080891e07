"""Writing a calibrated thresholds file, and its line in the model manifest beside it.

Owns only the write: the JSON document a calibration produced, and the ``sha256`` / ``bytes`` of that file in the
``manifest.json`` of the same directory (the daemon refuses a thresholds file whose checksum differs from the
manifest, see :mod:`idverify.biometrics.operating_points`). Must not touch: the calibration maths
(:mod:`idverify.bench.calibrate_face`, :mod:`idverify.bench.calibrate_fingerprint`), any other manifest entry.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from idverify.biometrics.models_path import MANIFEST, read_manifest

THRESHOLDS_KIND = "thresholds"


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
