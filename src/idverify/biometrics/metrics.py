"""Verification error rates from genuine and impostor score sets (ISO/IEC 19795-1 terms).

Scores are similarities: higher means "more likely the same person". A comparison is accepted when
``score >= threshold``. FMR(t) is the share of impostor scores at or above t, FNMR(t) the share of genuine scores
below t. Failures to acquire or extract are *not* folded in here; benchmarks report them separately (``fta``),
as the FVC rules ask.

The exact operating points are computed over every distinct score (no binning), so known-answer tests can pin
them down, and FNMR at a target FMR uses the smallest threshold whose FMR does not exceed the target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class ErrorRates:
    eer: float
    eer_threshold: float
    fmr100: float  # FNMR at FMR <= 1 %
    fmr1000: float  # FNMR at FMR <= 0.1 %
    zero_fmr: float  # FNMR at FMR = 0
    genuine: int
    impostor: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class DetCurve:
    thresholds: NDArray[np.float64]
    fmr: NDArray[np.float64]
    fnmr: NDArray[np.float64]


def _as_scores(values: ArrayLike, what: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"no {what} scores")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} scores contain NaN or infinity")
    return arr


def det_curve(genuine: ArrayLike, impostor: ArrayLike) -> DetCurve:
    """FMR and FNMR at every distinct score used as a threshold, plus one threshold above all scores."""
    gen = np.sort(_as_scores(genuine, "genuine"))
    imp = np.sort(_as_scores(impostor, "impostor"))
    thresholds = np.unique(np.concatenate([gen, imp]))
    thresholds = np.append(thresholds, np.nextafter(thresholds[-1], np.inf))
    # accepted when score >= t: count of scores >= t = n - (index of first score >= t)
    fmr = (imp.size - np.searchsorted(imp, thresholds, side="left")) / imp.size
    fnmr = np.searchsorted(gen, thresholds, side="left") / gen.size
    return DetCurve(thresholds=thresholds, fmr=fmr.astype(np.float64), fnmr=fnmr.astype(np.float64))


def fnmr_at_fmr(curve: DetCurve, target_fmr: float) -> tuple[float, float]:
    """(FNMR, threshold) at the lowest threshold whose FMR <= ``target_fmr``."""
    ok = np.nonzero(curve.fmr <= target_fmr + 1e-12)[0]
    i = int(ok[0])  # always exists: the last threshold accepts nothing
    return float(curve.fnmr[i]), float(curve.thresholds[i])


def threshold_at_fmr(impostor: ArrayLike, target: float) -> float:
    """Lowest threshold t with FMR(t) = share(impostor >= t) <= ``target``: a value just above a score.

    ``floor(target × n)`` impostor scores may lie at or above t, so t is the next float above the score that
    would be one too many; when the target allows every score, t is the lowest score. Calibration sets the
    shipped operating points with it (``idverify.bench.calibrate_face`` / ``calibrate_fingerprint``).
    """
    imp = np.sort(np.asarray(impostor, dtype=np.float64).ravel())
    allowed = int(np.floor(target * imp.size + 1e-9))  # impostor scores that may lie at or above t
    if allowed >= imp.size:
        return float(imp[0])
    return float(np.nextafter(imp[imp.size - allowed - 1], np.inf))


def equal_error_rate(curve: DetCurve) -> tuple[float, float]:
    """EER and its threshold: where FMR and FNMR cross, interpolating between the two bracketing points."""
    diff = curve.fmr - curve.fnmr  # decreasing from >=0 to <=0 as the threshold rises
    idx = int(np.argmax(diff <= 0))
    if idx == 0:
        return float((curve.fmr[0] + curve.fnmr[0]) / 2), float(curve.thresholds[0])
    d0, d1 = diff[idx - 1], diff[idx]
    w = d0 / (d0 - d1) if d0 != d1 else 0.5
    fmr = curve.fmr[idx - 1] + w * (curve.fmr[idx] - curve.fmr[idx - 1])
    fnmr = curve.fnmr[idx - 1] + w * (curve.fnmr[idx] - curve.fnmr[idx - 1])
    thr = curve.thresholds[idx - 1] + w * (curve.thresholds[idx] - curve.thresholds[idx - 1])
    return float((fmr + fnmr) / 2), float(thr)


def error_rates(genuine: ArrayLike, impostor: ArrayLike) -> ErrorRates:
    curve = det_curve(genuine, impostor)
    eer, eer_thr = equal_error_rate(curve)
    return ErrorRates(
        eer=eer,
        eer_threshold=eer_thr,
        fmr100=fnmr_at_fmr(curve, 0.01)[0],
        fmr1000=fnmr_at_fmr(curve, 0.001)[0],
        zero_fmr=fnmr_at_fmr(curve, 0.0)[0],
        genuine=int(np.size(genuine)),
        impostor=int(np.size(impostor)),
    )


def plot_det(curves: dict[str, DetCurve], path: Path, title: str) -> None:
    """Write a DET plot (FNMR against FMR, log axes) with one line per system, e.g. ours and the peer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    floor = 1e-5
    for label, curve in curves.items():
        ax.plot(np.maximum(curve.fmr, floor), np.maximum(curve.fnmr, floor), label=label, linewidth=1.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, 1)
    ax.set_ylim(floor, 1)
    ax.plot([floor, 1], [floor, 1], linestyle=":", color="grey", linewidth=0.8, label="EER line")
    ax.set_xlabel("False match rate (FMR)")
    ax.set_ylabel("False non-match rate (FNMR)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
