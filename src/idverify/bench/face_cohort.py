"""Cohort score normalisation of face scores, measured leave-one-dataset-out (run by hand, not at run time).

Owns: the measurement that decides whether the daemon should normalise face scores against a cohort, and its
report. Must not touch: decisions or thresholds — the daemon does not normalise face scores (see the README's
benchmark notes for the figures that decided it); calibration (:mod:`idverify.bench.calibrate_face`).

Method, for each held-out face set S (one sub-folder per identity):

- **cohort** = every encoding of the other sets (other people by construction; at run time it would be the
  clinic's enrolled gallery of the same sex). A score s(a, b) becomes, with μ and σ of a side's scores against
  the cohort: **Z-norm** (s − μ_b)/σ_b (the reference's cohort statistics), **T-norm** (s − μ_a)/σ_a (the
  probe's), **S-norm** their mean (live-to-live pairs have no distinguished side);
- **threshold-free figures on S**: EER, FNMR at FMR 1 % and 0.1 % over S's own pairs (every same-identity pair
  genuine, every cross-identity pair impostor), raw and normalised;
- **transfer**: the threshold for FMR 1 % is set on the other sets' own pairs (each normalised against a cohort
  of the sets other than itself and S, so S is never seen) and applied to S: the FMR and FNMR a configuration
  tuned without S gets on S — the figure that says whether a method generalises;
- **same-population cohort** (``in_set``): the cohort of a pair is the other identities of its own set (what a
  clinic's gallery of its own patients would be), the two identities of the pair left out; the transfer
  threshold is set the same way on the other sets.

Run: ``python -m idverify.bench.face_cohort DIR DIR [DIR ...]`` (≥ 3 sets for the transfer figure; ~1 min per
100 images); prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.bench.cli_args import folder
from idverify.biometrics.metrics import error_rates, threshold_at_fmr

METHODS = ("raw", "znorm", "tnorm", "snorm")
TRANSFER_FMR = 0.01


@dataclass(frozen=True)
class FaceSet:
    """One set's encodings (unit vectors, images without a face left out) and identity labels."""

    name: str
    encodings: NDArray[np.float64]
    labels: NDArray[np.str_]
    #: per image, named quality measures (``inter_eye_px``, ``sharpness``…), for :mod:`.face_quality_threshold`
    measures: tuple[dict[str, float | None], ...] = ()

    def pairs(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        i, j = np.triu_indices(len(self.labels), k=1)
        same = self.labels[i] == self.labels[j]
        return np.stack([i[same], j[same]], 1), np.stack([i[~same], j[~same]], 1)


def normalised_scores(probe: NDArray[np.float64], reference: NDArray[np.float64], cohort: NDArray[np.float64],
                      method: str) -> NDArray[np.float64]:
    """Scores of row-aligned probe/reference encodings under ``method`` with the given cohort encodings."""
    raw: NDArray[np.float64] = np.einsum("ij,ij->i", probe, reference)
    if method == "raw":
        return raw
    if method not in METHODS:
        raise ValueError(f"unknown normalisation {method!r}")

    def stats(side: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        against = side @ cohort.T
        return against.mean(axis=1), np.maximum(against.std(axis=1), 1e-6)

    if method in ("znorm", "tnorm"):
        mu, sd = stats(reference if method == "znorm" else probe)
        return np.asarray((raw - mu) / sd, dtype=np.float64)
    mu_a, sd_a = stats(probe)
    mu_b, sd_b = stats(reference)
    return np.asarray(((raw - mu_a) / sd_a + (raw - mu_b) / sd_b) / 2, dtype=np.float64)


def _set_scores(s: FaceSet, cohort: NDArray[np.float64],
                method: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    genuine, impostor = s.pairs()
    enc = s.encodings
    return (normalised_scores(enc[genuine[:, 0]], enc[genuine[:, 1]], cohort, method),
            normalised_scores(enc[impostor[:, 0]], enc[impostor[:, 1]], cohort, method))


def _in_set_scores(s: FaceSet, method: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``method`` scores of the set's pairs, each against the set's other identities (both of its own left out)."""
    out: list[NDArray[np.float64]] = []
    for idx in s.pairs():
        scores = np.empty(len(idx))
        for k, (a, b) in enumerate(idx):
            cohort = s.encodings[(s.labels != s.labels[a]) & (s.labels != s.labels[b])]
            scores[k] = normalised_scores(s.encodings[[a]], s.encodings[[b]], cohort, method)[0]
        out.append(scores)
    return out[0], out[1]


def _cohort(sets: Sequence[FaceSet], leave_out: Sequence[str]) -> NDArray[np.float64]:
    return np.concatenate([s.encodings for s in sets if s.name not in leave_out])


def evaluate(sets: Sequence[FaceSet]) -> dict[str, Any]:
    """Per held-out set and method (``raw``, ``znorm``…, and ``znorm_in_set``… with the same-population cohort):
    threshold-free figures and the transfer figure (module docstring)."""
    out: dict[str, Any] = {}
    for held in sets:
        rows: dict[str, Any] = {}
        for method in METHODS:
            gen, imp = _set_scores(held, _cohort(sets, [held.name]), method)
            rates = error_rates(gen, imp)
            row: dict[str, Any] = {"eer": round(rates.eer, 4), "fmr100": round(rates.fmr100, 4),
                                   "fmr1000": round(rates.fmr1000, 4), "genuine": rates.genuine,
                                   "impostor": rates.impostor}
            others = [s for s in sets if s.name != held.name]
            if len(others) >= 2:
                tuned_imp = np.concatenate([_set_scores(o, _cohort(sets, [o.name, held.name]), method)[1]
                                            for o in others])
                thr = threshold_at_fmr(tuned_imp, TRANSFER_FMR)
                row["transfer_fmr1"] = {"fmr": round(float(np.mean(imp >= thr)), 4),
                                        "fnmr": round(float(np.mean(gen < thr)), 4),
                                        "tuned_on": [o.name for o in others]}
            rows[method] = row
            if method != "raw":
                rows[f"{method}_in_set"] = _in_set_row(sets, held, method)
        out[held.name] = rows
    return out


def _in_set_row(sets: Sequence[FaceSet], held: FaceSet, method: str) -> dict[str, Any]:
    gen, imp = _in_set_scores(held, method)
    rates = error_rates(gen, imp)
    row: dict[str, Any] = {"eer": round(rates.eer, 4), "fmr100": round(rates.fmr100, 4),
                           "fmr1000": round(rates.fmr1000, 4), "genuine": rates.genuine, "impostor": rates.impostor}
    others = [s for s in sets if s.name != held.name]
    if len(others) >= 2:
        thr = threshold_at_fmr(np.concatenate([_in_set_scores(o, method)[1] for o in others]), TRANSFER_FMR)
        row["transfer_fmr1"] = {"fmr": round(float(np.mean(imp >= thr)), 4),
                                "fnmr": round(float(np.mean(gen < thr)), 4), "tuned_on": [o.name for o in others]}
    return row


def load_set(dataset: Path) -> FaceSet:
    """Our encodings of a face folder (images without a face are left out: normalisation is what is measured)."""
    from idverify.bench.face import extract_ours, list_dataset

    images = list_dataset(dataset)
    ext = extract_ours(images)
    kept = [(img.identity, enc, m) for img, enc, m in zip(images, ext.encodings, ext.measures, strict=True)
            if enc is not None and m is not None]
    return FaceSet(dataset.name, np.stack([e for _, e, _ in kept]), np.asarray([lab for lab, _, _ in kept]),
                   tuple(m for _, _, m in kept))


def sets_from_argv(argv: Sequence[str] | None, prog: str, minimum: int, description: str) -> list[FaceSet]:
    """The face sets named on the command line of a ``python -m`` face tool (at least ``minimum``), loaded, with
    log lines sent to stderr so that they never mix into the JSON the tool prints."""
    parser = several_image_parser(prog, description)
    args = parser.parse_args(argv)
    if len(args.datasets) < minimum:
        parser.error(f"needs at least {minimum} face folders (each set is held out in turn)")
    return [load_set(d) for d in args.datasets]


def several_image_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The parser of a several-image face tool (``face_templates``, ``face_probes``): face folders as arguments;
    log lines go to stderr, never into the JSON on stdout."""
    from idverify.logging import configure_logging

    configure_logging("WARNING")
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("datasets", nargs="+", type=folder, help="face folders, one sub-folder per identity")
    return parser


def shipped_face_thresholds() -> dict[str, float]:
    """The shipped face thresholds the several-image tools report their error rates at."""
    from idverify.biometrics.operating_points import load_operating_points

    ops = load_operating_points()
    return {"threshold_fmr_0.001": ops.point("face", 0.001).threshold,
            "threshold_fmr_0.0001": ops.point("face", 0.0001).threshold}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m idverify.bench.face_cohort DIR DIR [DIR ...]`` — print the evaluation as JSON."""
    sets = sets_from_argv(argv, "idverify.bench.face_cohort", 2, __doc__.split("\n")[0])
    print(json.dumps({"cohort_normalisation": evaluate(sets)}))


if __name__ == "__main__":
    main()
