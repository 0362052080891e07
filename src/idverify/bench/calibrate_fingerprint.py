"""Fingerprint threshold calibration: ``models/thresholds_fingerprint.json`` from FVC folders (run by hand).

Owns: the calibration of the operating points of :func:`idverify.biometrics.fingerprint.match` (accept when
``score >= threshold``) and the evidence written with them. Must not touch: reading the thresholds at run time
(:mod:`idverify.biometrics.operating_points`), decisions, storage.

Rule: on each dev set (FVC folder, every cross-finger impostor pair) and on all sets pooled (which adds the
cross-set impostor pairs), take the lowest threshold whose FMR is at or below the target
(:func:`idverify.biometrics.metrics.threshold_at_fmr`); ship the largest of these (the hardest set decides). The
dev sets are small: FMR 1e-4 is resolved only by the pooled impostors, and with few impostors such a point is in
practice the zero-FMR point of the data — treat it as optimistic. Thresholds are stored rounded up
(:func:`idverify.bench.calibration.stored_threshold`). Beside the dev-set rates at the shipped threshold, each
point carries a leave-one-identity-out estimate: for every finger, the rule applied to the pairs without it, and
the errors counted on its own pairs — the rates of a finger the thresholds never saw.

Run after any change of the fingerprint ``ALGORITHM_VERSION`` (the daemon refuses a file written for another
version): ``python -m idverify.bench.calibrate_fingerprint FVC_DIR [FVC_DIR ...] [--out FILE]`` (default: the
repository's ``models/thresholds_fingerprint.json``; its checksum is recorded in the ``manifest.json`` beside it).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.bench import identity_holdout
from idverify.bench.calibration import stored_threshold, write_thresholds
from idverify.bench.cli_args import folder
from idverify.bench.fingerprint import list_dataset, load_grey
from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION
from idverify.biometrics.metrics import threshold_at_fmr

THRESHOLDS_FILE = "thresholds_fingerprint.json"
TARGET_FMRS = (1e-3, 1e-4)
SOURCE = "python -m idverify.bench.calibrate_fingerprint (data sets and protocol in the file's evidence)"


def _rates(genuine: NDArray[np.float64], impostor: NDArray[np.float64], t: float) -> dict[str, Any]:
    return {"fmr": float(np.mean(impostor >= t)), "fnmr": float(np.mean(genuine < t)),
            "genuine": int(genuine.size), "impostor": int(impostor.size)}


@dataclass(frozen=True)
class Pairs:
    """Every pair of the dev images, all sets together: its score, the identity (one finger of one set) and the
    set (index into the set names) of either image."""

    score: NDArray[np.float64]
    ident: tuple[NDArray[np.int64], NDArray[np.int64]]
    set_of: tuple[NDArray[np.int64], NDArray[np.int64]]

    def genuine(self, k: int | None = None) -> NDArray[np.bool_]:
        """Same-finger pairs (of set ``k`` only, if given)."""
        same: NDArray[np.bool_] = self.ident[0] == self.ident[1]
        return same if k is None else same & (self.set_of[0] == k)

    def impostor(self, k: int | None = None) -> NDArray[np.bool_]:
        """Cross-finger pairs: within set ``k`` if given, else all of them (cross-set pairs too: the pooled)."""
        other: NDArray[np.bool_] = self.ident[0] != self.ident[1]
        return other if k is None else other & (self.set_of[0] == k) & (self.set_of[1] == k)

    def thresholds(self, n_sets: int, target: float, keep: NDArray[np.bool_]) -> tuple[list[float], float]:
        """Stored thresholds at ``target`` from the impostor pairs in ``keep``: per set, and pooled."""
        per = [stored_threshold(threshold_at_fmr(self.score[keep & self.impostor(k)], target))
               for k in range(n_sets)]
        return per, stored_threshold(threshold_at_fmr(self.score[keep & self.impostor()], target))


def leave_one_identity_out(pairs: Pairs, n_sets: int, target: float) -> dict[str, Any]:
    """For each identity (one finger of one set): the threshold the rule sets without any pair of it, and the errors
    at it on that identity's own pairs (genuine, and impostor within its set); summed over identities."""

    def mine(ident: int) -> NDArray[np.bool_]:
        out: NDArray[np.bool_] = (pairs.ident[0] == ident) | (pairs.ident[1] == ident)
        return out

    def threshold_without(ident: int) -> float:
        per, pooled = pairs.thresholds(n_sets, target, ~mine(ident))
        return max([*per, pooled])

    def own_pairs(ident: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        k = int(pairs.set_of[0][np.argmax(pairs.ident[0] == ident)])
        m = mine(ident)
        return pairs.score[m & pairs.genuine()], pairs.score[m & pairs.impostor(k)]

    return identity_holdout.leave_one_identity_out([int(i) for i in np.unique(pairs.ident[0])], threshold_without,
                                                   own_pairs)


def operating_points(pairs: Pairs, sets: list[str]) -> dict[str, Any]:
    """The operating points of the thresholds document (the module docstring's rule) from the scored pairs."""
    everything = np.ones(pairs.score.size, bool)
    points: dict[str, Any] = {}
    for target in TARGET_FMRS:
        per, pooled = pairs.thresholds(len(sets), target, everything)
        t = max([*per, pooled])
        rates = {name: _rates(pairs.score[pairs.genuine(k)], pairs.score[pairs.impostor(k)], t)
                 for k, name in enumerate(sets)}
        rates["pooled"] = _rates(pairs.score[pairs.genuine()], pairs.score[pairs.impostor()], t)
        points[f"fmr_{target:g}"] = {
            "threshold": t,
            "per_set_threshold": dict(zip(sets, per, strict=True)),
            "pooled_threshold": pooled,
            "dev_rates_at_threshold": rates,
            "leave_one_identity_out": leave_one_identity_out(pairs, len(sets), target),
            "resolvable": bool(pairs.impostor().sum() * target >= 1.0),
        }
    return points


def calibrate(datasets: list[Path]) -> dict[str, Any]:
    """Extract every image of the FVC folders, score all pairs, and return the thresholds document."""
    from idverify.biometrics.fingerprint.extract import extract
    from idverify.biometrics.fingerprint.match import descriptors, match_descriptors
    from idverify.errors import BiometricError

    identities: dict[tuple[int, str], int] = {}
    ident: list[int] = []
    set_of: list[int] = []
    descs: list[Any] = []
    for k, ds in enumerate(datasets):
        for im in list_dataset(ds):
            try:
                d = descriptors(extract(load_grey(im.path)))
            except BiometricError:
                d = None
            ident.append(identities.setdefault((k, im.finger), len(identities)))
            set_of.append(k)
            descs.append(d)
    i, j = np.triu_indices(len(descs), k=1)
    scores = np.asarray([0.0 if descs[a] is None or descs[b] is None else match_descriptors(descs[a], descs[b])
                         for a, b in zip(i, j, strict=True)], np.float64)
    idents, sets = np.asarray(ident, np.int64), np.asarray(set_of, np.int64)
    pairs = Pairs(scores, (idents[i], idents[j]), (sets[i], sets[j]))
    return {
        "algorithm_version": ALGORITHM_VERSION,
        "score": "idverify.biometrics.fingerprint.match similarity in [0, 1]; accept when score >= threshold",
        "default_target_fmr": 1e-3,
        "operating_points": operating_points(pairs, [ds.name for ds in datasets]),
        "evidence": {
            "datasets": [ds.name for ds in datasets],
            "protocol": "every same-finger pair genuine; every cross-finger pair impostor (per set and pooled); "
                        "thresholds rounded up to 6 decimals; leave_one_identity_out: the rule applied without "
                        "each finger's pairs, errors counted on them",
            "failures_to_extract": int(sum(d is None for d in descs)),
            "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m idverify.bench.calibrate_fingerprint",
                                description="Calibrate the fingerprint operating points (FMR 0.1 % and 0.01 %) on "
                                            "FVC folders and write the thresholds file with its evidence.")
    p.add_argument("datasets", nargs="+", type=folder, metavar="FVC_DIR", help="FVC folders (<finger>_<n>.tif)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[3] / "models" / THRESHOLDS_FILE,
                   help="thresholds file to write (default: %(default)s; its checksum is recorded in the "
                        "manifest.json beside it)")
    args = p.parse_args(argv)
    doc = calibrate(args.datasets)
    write_thresholds(args.out, doc, source=SOURCE)
    print(json.dumps(doc["operating_points"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
