"""Face templates of several images, measured (run by hand, not at run time).

Why: enrolment keeps the mean of several captures (:func:`idverify.biometrics.face.template.combine`), and the
face thresholds were calibrated on pairs of single images. Two questions follow, and neither may be assumed:
does a template of k images verify better than one, and does the shipped threshold still hold its false-match
rate when one side is a k-image template (a mean pulls every encoding towards the average face, impostors too)?

Method, per face set (one sub-folder per identity), for k = 1, 2, 3: every k-subset of an identity's images is a
template, probed by each of that identity's other images (genuine) and by every image of the other identities
(impostor); only identities with at least k + 1 images serve, the same identities for every k (those with at least
``max k`` + 1 images) so that the rows differ only by k. Two ways to score a template: ``mean`` (the re-normalised
mean encoding, what the daemon stores) and ``max`` (the best cosine over the k encodings, a template of several
embeddings). Per row: EER, FNMR at FMR 1 % and 0.1 % of the set's own trials, and FMR / FNMR at the shipped face
thresholds (``models/thresholds_face.json``, FMR 0.1 % and the face-alone 0.01 % point).

``python -m idverify.bench.face_templates DIR [DIR ...] [--max-k 3]``; prints one JSON object.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.bench.face_cohort import FaceSet
from idverify.biometrics.metrics import error_rates

RULES = ("mean", "max")


def trials(s: FaceSet, k: int, rule: str, identities: Sequence[str]) -> tuple[NDArray[np.float64],
                                                                                NDArray[np.float64]]:
    """(genuine, impostor) scores of every k-image template of ``identities`` in ``s`` (module docstring)."""
    enc = np.asarray(s.encodings, np.float64)
    genuine: list[float] = []
    impostor: list[NDArray[np.float64]] = []
    for ident in identities:
        own = np.flatnonzero(s.labels == ident)
        others = enc[s.labels != ident]
        for subset in itertools.combinations(own.tolist(), k):
            members = enc[list(subset)]
            probes_g = enc[[i for i in own.tolist() if i not in subset]]
            if rule == "mean":
                t = members.mean(axis=0)
                t /= np.linalg.norm(t)
                genuine.extend((probes_g @ t).tolist())
                impostor.append(others @ t)
            else:
                genuine.extend((probes_g @ members.T).max(axis=1).tolist())
                impostor.append((others @ members.T).max(axis=1))
    return np.asarray(genuine), np.concatenate(impostor) if impostor else np.zeros(0)


def evaluate(s: FaceSet, thresholds: dict[str, float], max_k: int = 3) -> list[dict[str, Any]]:
    """One row per (k, rule) on ``s``; ``thresholds`` maps a name to an accept-at-or-above threshold."""
    names, counts = np.unique(s.labels, return_counts=True)
    served = [str(n) for n, c in zip(names, counts, strict=True) if c >= max_k + 1]
    rows: list[dict[str, Any]] = []
    if len(served) < 2:
        return rows
    for k in range(1, max_k + 1):
        for rule in RULES if k > 1 else ("mean",):  # one image: both rules are the plain cosine
            g, i = trials(s, k, rule, served)
            e = error_rates(g, i)
            row: dict[str, Any] = {"set": s.name, "k": k, "rule": rule, "identities": len(served),
                                   "genuine": len(g), "impostor": len(i), "eer": round(float(e.eer), 6),
                                   "fnmr_at_fmr100": round(float(e.fmr100), 6),
                                   "fnmr_at_fmr1000": round(float(e.fmr1000), 6)}
            for name, thr in thresholds.items():
                row[f"fmr_at_{name}"] = round(float(np.mean(i >= thr)), 6)
                row[f"fnmr_at_{name}"] = round(float(np.mean(g < thr)), 6)
            rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from idverify.bench.face_cohort import load_set, several_image_parser, shipped_face_thresholds

    p = several_image_parser("idverify.bench.face_templates", __doc__.split("\n")[0])
    p.add_argument("--max-k", type=int, default=3, help="largest number of images in a template")
    args = p.parse_args(argv)
    if args.max_k < 1:
        p.error("--max-k must be at least 1")
    thresholds = shipped_face_thresholds()
    rows = [r for d in args.datasets for r in evaluate(load_set(d), thresholds, args.max_k)]
    print(json.dumps({"thresholds": thresholds, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
