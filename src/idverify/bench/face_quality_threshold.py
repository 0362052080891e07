"""Quality-aware face thresholds, measured leave-one-dataset-out (run by hand, not at run time).

Owns: the measurement that decides whether the face threshold should depend on the capture's quality (issue 19.3),
and its report. Must not touch: decisions or thresholds — the daemon uses one threshold per operating point; this
module says whether that should change.

Why it could help: a small or blurred face gives a noisier embedding, so a threshold set on all pairs is too strict
for good pairs and too loose for poor ones. Whether it helps on faces the configuration never saw is what counts:

- a pair's quality is the lower of its two images' measure (``inter_eye_px``: face size; ``sharpness``: Laplacian
  variance on a fixed-width crop; both from :func:`idverify.biometrics.face.quality.measure`);
- for each held-out set S, on the other sets' own pairs only: the split point = the median quality of their
  impostor pairs, and one threshold per side of it (at or below it: the low bin) for FMR 1 % of that side's
  impostor pairs (a bin with fewer than ``MIN_BIN_IMPOSTORS`` pairs falls back to the single threshold); the
  same way, the single threshold;
- both are applied to S: FMR and FNMR at the transferred thresholds. A quality-aware rule is worth shipping only
  when it lowers FNMR on S without raising its FMR — on every held-out set.

Run: ``python -m idverify.bench.face_quality_threshold DIR DIR DIR [...]``; prints one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.bench.face_cohort import TRANSFER_FMR, FaceSet, sets_from_argv
from idverify.biometrics.metrics import threshold_at_fmr

MEASURES = ("inter_eye_px", "sharpness")
MIN_BIN_IMPOSTORS = 50


def pair_quality(s: FaceSet, pairs: NDArray[np.int64], measure: str) -> NDArray[np.float64]:
    """The lower of the two images' ``measure`` per pair (a missing measure counts as 0: the worst)."""
    q = np.asarray([float(m.get(measure) or 0.0) for m in s.measures])
    return np.asarray(np.minimum(q[pairs[:, 0]], q[pairs[:, 1]]), dtype=np.float64)


def _scores(s: FaceSet, pairs: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray(np.einsum("ij,ij->i", s.encodings[pairs[:, 0]], s.encodings[pairs[:, 1]]), dtype=np.float64)


def _rates(gen: NDArray[np.float64], gen_thr: NDArray[np.float64], imp: NDArray[np.float64],
           imp_thr: NDArray[np.float64]) -> dict[str, float]:
    return {"fmr": round(float(np.mean(imp >= imp_thr)), 4), "fnmr": round(float(np.mean(gen < gen_thr)), 4)}


def transfer(train: Sequence[FaceSet], held: FaceSet, measure: str) -> dict[str, Any]:
    """Single and per-quality-bin thresholds set on ``train`` (FMR 1 %), applied to ``held``."""
    imp_s, imp_q = [], []
    for s in train:
        _, impostor = s.pairs()
        imp_s.append(_scores(s, impostor))
        imp_q.append(pair_quality(s, impostor, measure))
    scores, quality = np.concatenate(imp_s), np.concatenate(imp_q)
    single = threshold_at_fmr(scores, TRANSFER_FMR)
    split = float(np.median(quality))
    low, high = scores[quality <= split], scores[quality > split]
    thr_low = threshold_at_fmr(low, TRANSFER_FMR) if len(low) >= MIN_BIN_IMPOSTORS else single
    thr_high = threshold_at_fmr(high, TRANSFER_FMR) if len(high) >= MIN_BIN_IMPOSTORS else single
    genuine, impostor = held.pairs()
    g, i = _scores(held, genuine), _scores(held, impostor)
    gq, iq = pair_quality(held, genuine, measure), pair_quality(held, impostor, measure)

    def binned(q: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(q <= split, thr_low, thr_high)

    return {"measure": measure, "split": round(split, 2), "tuned_on": [s.name for s in train],
            "thresholds": {"single": round(single, 4), "low": round(thr_low, 4), "high": round(thr_high, 4)},
            "held_low_quality_share": {"genuine": round(float(np.mean(gq <= split)), 3) if len(gq) else None,
                                       "impostor": round(float(np.mean(iq <= split)), 3) if len(iq) else None},
            "single": _rates(g, np.full_like(g, single), i, np.full_like(i, single)),
            "quality_aware": _rates(g, binned(gq), i, binned(iq))}


def evaluate(sets: Sequence[FaceSet]) -> dict[str, Any]:
    """Per held-out set and quality measure: the single and the quality-aware transfer (module docstring)."""
    if len(sets) < 3:
        raise ValueError("leave-one-dataset-out needs at least three sets (two to tune on)")
    return {held.name: {m: transfer([s for s in sets if s.name != held.name], held, m) for m in MEASURES}
            for held in sets}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m idverify.bench.face_quality_threshold DIR DIR DIR [...]`` — print the evaluation as JSON."""
    sets = sets_from_argv(argv, "idverify.bench.face_quality_threshold", 3, __doc__.split("\n")[0])
    print(json.dumps({"quality_aware_thresholds": evaluate(sets)}))


if __name__ == "__main__":
    main()
