"""Fingerprint threshold calibration: ``models/thresholds_fingerprint.json`` from FVC folders (run by hand).

Owns: the calibration of the operating points of :func:`idverify.biometrics.fingerprint.match` (accept when
``score >= threshold``) and the evidence written with them. Must not touch: reading the thresholds at run time
(:mod:`idverify.biometrics.operating_points`), decisions, storage.

Rule: on each dev set (FVC folder, every cross-finger impostor pair) and on all sets pooled (which adds the
cross-set impostor pairs), take the lowest threshold whose FMR is at or below the target
(:func:`idverify.biometrics.metrics.threshold_at_fmr`); ship the largest of these (the hardest set decides). The
dev sets are small: FMR 1e-4 is resolved only by the pooled impostors, and with few impostors such a point is in
practice the zero-FMR point of the data — treat it as optimistic.

Run after any change of the fingerprint ``ALGORITHM_VERSION`` (the daemon refuses a file written for another
version): ``python -m idverify.bench.calibrate_fingerprint FVC_DIR [FVC_DIR ...] [--out FILE]`` (default: the
repository's ``models/thresholds_fingerprint.json``; its checksum is recorded in the ``manifest.json`` beside it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.bench.calibration import write_thresholds
from idverify.bench.fingerprint import list_dataset, load_grey
from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION
from idverify.biometrics.metrics import threshold_at_fmr

THRESHOLDS_FILE = "thresholds_fingerprint.json"
TARGET_FMRS = (1e-3, 1e-4)
SOURCE = "python -m idverify.bench.calibrate_fingerprint (data sets and protocol in the file's evidence)"


def _rates(genuine: NDArray[np.float64], impostor: NDArray[np.float64], t: float) -> dict[str, Any]:
    return {"fmr": float(np.mean(impostor >= t)), "fnmr": float(np.mean(genuine < t)),
            "genuine": int(genuine.size), "impostor": int(impostor.size)}


def calibrate(datasets: list[Path]) -> dict[str, Any]:
    """Extract every image of the FVC folders, score all pairs, and return the thresholds document."""
    from idverify.biometrics.fingerprint.extract import extract
    from idverify.biometrics.fingerprint.match import descriptors, match_descriptors
    from idverify.errors import BiometricError

    labels: list[tuple[str, str]] = []
    descs: list[Any] = []
    for ds in datasets:
        for im in list_dataset(ds):
            try:
                d = descriptors(extract(load_grey(im.path)))
            except BiometricError:
                d = None
            labels.append((ds.name, im.finger))
            descs.append(d)
    per_set: dict[str, tuple[list[float], list[float]]] = {ds.name: ([], []) for ds in datasets}
    pooled_imp: list[float] = []
    pooled_gen: list[float] = []
    for i in range(len(descs)):
        for j in range(i + 1, len(descs)):
            a, b = descs[i], descs[j]
            s = 0.0 if a is None or b is None else match_descriptors(a, b)
            same_set = labels[i][0] == labels[j][0]
            if labels[i] == labels[j]:
                per_set[labels[i][0]][0].append(s)
                pooled_gen.append(s)
            else:
                pooled_imp.append(s)
                if same_set:
                    per_set[labels[i][0]][1].append(s)
    arrays = {k: (np.asarray(g), np.asarray(m)) for k, (g, m) in per_set.items()}
    pg, pi = np.asarray(pooled_gen), np.asarray(pooled_imp)
    points: dict[str, Any] = {}
    for target in TARGET_FMRS:
        per = {k: threshold_at_fmr(m, target) for k, (_, m) in arrays.items()}
        pooled = threshold_at_fmr(pi, target)
        t = max([*per.values(), pooled])
        points[f"fmr_{target:g}"] = {
            "threshold": round(t, 6),
            "per_set_threshold": {k: round(v, 6) for k, v in per.items()},
            "pooled_threshold": round(pooled, 6),
            "dev_rates_at_threshold": {**{k: _rates(g, m, t) for k, (g, m) in arrays.items()},
                                       "pooled": _rates(pg, pi, t)},
            "resolvable": bool(pi.size * target >= 1.0),
        }
    return {
        "algorithm_version": ALGORITHM_VERSION,
        "score": "idverify.biometrics.fingerprint.match similarity in [0, 1]; accept when score >= threshold",
        "default_target_fmr": 1e-3,
        "operating_points": points,
        "evidence": {
            "datasets": [ds.name for ds in datasets],
            "protocol": "every same-finger pair genuine; every cross-finger pair impostor (per set and pooled)",
            "failures_to_extract": int(sum(d is None for d in descs)),
            "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m idverify.bench.calibrate_fingerprint FVC_DIR [FVC_DIR ...] [--out FILE]")
        return 2
    out = Path(__file__).resolve().parents[3] / "models" / THRESHOLDS_FILE
    if "--out" in argv:
        k = argv.index("--out")
        out = Path(argv[k + 1])
        argv = argv[:k] + argv[k + 2 :]
    dirs = [Path(a) for a in argv]
    doc = calibrate(dirs)
    write_thresholds(out, doc, source=SOURCE)
    print(json.dumps(doc["operating_points"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
