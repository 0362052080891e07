"""Verification over several probe frames, measured (run by hand, not at run time).

Why: a check films ``MAX_FACE_FRAMES`` camera frames (all of them go to liveness) but matches only the first
(:func:`idverify.biometrics.face.factor.face_factor_and_sample`). Scoring several frames could lower the FNMR;
whether it keeps the false-match rate the shipped thresholds were calibrated for (single-image pairs) may not be
assumed: a mean of encodings drifts towards the average face (:mod:`idverify.bench.face_templates` measured it on
the enrolment side), and the best of k frames gives an impostor k chances.

Method, per face set (one sub-folder per identity), for k = 1 … ``max k``: the reference is every ``enrol``-image
subset of an identity's images (compared as the daemon compares a template: the best of its encodings); the
probe is every k-subset of that identity's *other* images (genuine) and every k-subset of each other identity's
images (impostor). Only identities with at least ``enrol`` + ``max k`` images serve, the same ones for every k,
so that the rows differ only by k. Rules to score k probe encodings against the reference: ``mean`` (the
re-normalised mean probe encoding), ``max`` (best-of-k: the best of the k scores) and ``mean-score`` (the mean of
the k scores). Per row: EER, FNMR at FMR 1 % and 0.1 % of the set's own trials, FMR / FNMR at the shipped face
thresholds (``models/thresholds_face.json``: FMR 0.1 % and the face-alone 0.01 % point); a ``pooled`` row per
(k, rule) concatenates the sets' trials.

Limit, to be said with every figure: the "frames" here are *distinct photos* of a person (other days, lighting,
expression). Real frames of one check are 5 consecutive camera frames within about 0.3 s, nearly the same image,
so the gain a genuine user gets from them is at most this one (an upper bound); an impostor's frames are just as
alike, so the number of independent chances best-of-k gives an impostor is also bounded by this one.

Measured (2026-12-04, asian_dev / deepface_unit / face_recognition_examples, face/2, one-image reference): at the
shipped FMR 0.1 % threshold the mean of the frames' encodings let **2.08 %** of asian_dev's impostor trials pass
with two frames (21 of 1,008) and **4.76 %** with three (32 of 672), against 0.00 % with one (672; a two-image
reference and two frames: 3.84 %, 58 of 1,512) — the drift the enrolment side showed, so the check keeps matching
one frame. Best-of-k and the mean of the scores passed no impostor trial at either shipped threshold (FMR ≤ k ×
the single-frame FMR bounds them) and lowered asian_dev's FNMR at the FMR 0.1 % threshold from 9.52 % (one frame)
to 1.19 % / 3.57 % (two), 0.00 % / 0.00 % (three); distinct photos, so an upper bound (above).

The other end, ``--near-duplicates K``: each photo becomes K "frames", the photo itself and K − 1 copies with
small camera-like changes (:func:`camera_jitter`: shift ±2 px, scale ±1 %, gain ±4 %, sensor noise σ 2, JPEG
q 85); every photo's frame 0 is the reference of every other photo's first k frames (genuine when the identities
match). Real consecutive frames differ by more than that (motion, blinks, expression) and by less than distinct
photos; neither end is the clinic camera, which only recorded bursts could measure. Measured (same day,
``--near-duplicates 3``): on asian_dev the FNMR at the FMR 0.1 % threshold did not fall (9.52 % one frame; mean of
2 or 3: 10.71 %, best of 2 or 3: 9.52 %) while 1 of 672 impostor trials passed it with two frames under every
rule and 1–2 with three (0 with one frame): asian_dev's highest impostor score sits at that threshold, and more
looks give it more chances. deepface_unit: no false match, FNMR 6.08 → 5.74–6.42 %; face_recognition_examples:
no false match, FNMR 14.86 → 8.11–12.16 %.

``python -m idverify.bench.face_probes DIR [DIR ...] [--max-k 2] [--enrol 1] [--near-duplicates K]``; prints one
JSON object.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.bench.face_cohort import FaceSet
from idverify.biometrics.metrics import error_rates

RULES = ("mean", "max", "mean-score")


def score(reference: NDArray[np.float64], probes: NDArray[np.float64], rule: str) -> float:
    """One trial: ``probes`` (k × d unit rows) against ``reference`` (m × d unit rows, best row as the daemon's
    template comparison) under ``rule``."""
    if rule == "mean":
        p = probes.mean(axis=0)
        return float((reference @ (p / np.linalg.norm(p))).max())
    per_frame = (probes @ reference.T).max(axis=1)  # each frame against the template, as a check compares it
    if rule == "max":
        return float(per_frame.max())
    if rule == "mean-score":
        return float(per_frame.mean())
    raise ValueError(f"unknown rule {rule!r}")


def trials(s: FaceSet, k: int, rule: str, identities: Sequence[str], enrol: int = 1
           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(genuine, impostor) scores of every reference of ``enrol`` images of ``identities`` probed by k-subsets of
    images (module docstring)."""
    enc = np.asarray(s.encodings, np.float64)
    own_of = {ident: np.flatnonzero(s.labels == ident).tolist() for ident in identities}
    subsets = {ident: [enc[list(c)] for c in itertools.combinations(own_of[ident], k)] for ident in identities}
    genuine: list[float] = []
    impostor: list[float] = []
    for ident in identities:
        for ref_idx in itertools.combinations(own_of[ident], enrol):
            reference = enc[list(ref_idx)]
            rest = [i for i in own_of[ident] if i not in ref_idx]
            genuine.extend(score(reference, enc[list(c)], rule) for c in itertools.combinations(rest, k))
            for other in identities:
                if other != ident:
                    impostor.extend(score(reference, probes, rule) for probes in subsets[other])
    return np.asarray(genuine), np.asarray(impostor)


def _row(name: str, k: int, rule: str, identities: int, g: NDArray[np.float64], i: NDArray[np.float64],
         thresholds: Mapping[str, float]) -> dict[str, Any]:
    e = error_rates(g, i)
    row: dict[str, Any] = {"set": name, "k": k, "rule": rule, "identities": identities, "genuine": len(g),
                           "impostor": len(i), "eer": round(float(e.eer), 6),
                           "fnmr_at_fmr100": round(float(e.fmr100), 6), "fnmr_at_fmr1000": round(float(e.fmr1000), 6)}
    for tname, thr in thresholds.items():
        row[f"fmr_at_{tname}"] = round(float(np.mean(i >= thr)), 6)
        row[f"false_matches_at_{tname}"] = int(np.sum(i >= thr))
        row[f"fnmr_at_{tname}"] = round(float(np.mean(g < thr)), 6)
    return row


def evaluate(sets: Sequence[FaceSet], thresholds: Mapping[str, float], max_k: int = 2,
             enrol: int = 1) -> list[dict[str, Any]]:
    """One row per (set, k, rule) and a ``pooled`` row per (k, rule) over the sets that serve; ``thresholds`` maps
    a name to an accept-at-or-above threshold."""
    rows: list[dict[str, Any]] = []
    pooled: dict[tuple[int, str], tuple[list[NDArray[np.float64]], list[NDArray[np.float64]], int]] = {}
    for s in sets:
        names, counts = np.unique(s.labels, return_counts=True)
        served = [str(n) for n, c in zip(names, counts, strict=True) if c >= enrol + max_k]
        if len(served) < 2:
            continue
        for k in range(1, max_k + 1):
            for rule in RULES if k > 1 else ("mean",):  # one frame: every rule is the plain comparison
                g, i = trials(s, k, rule, served, enrol)
                rows.append(_row(s.name, k, rule, len(served), g, i, thresholds))
                gs, imps, n = pooled.setdefault((k, rule), ([], [], 0))
                gs.append(g)
                imps.append(i)
                pooled[(k, rule)] = (gs, imps, n + len(served))
    for (k, rule), (gs, imps, n) in pooled.items():
        rows.append(_row("pooled", k, rule, n, np.concatenate(gs), np.concatenate(imps), thresholds))
    return rows


def camera_jitter(rgb: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """``rgb`` as a next camera frame might differ from it: shift ±2 px, scale ±1 %, gain ±4 %, Gaussian noise σ 2,
    JPEG quality 85."""
    import cv2

    h, w = rgb.shape[:2]
    s = 1.0 + rng.uniform(-0.01, 0.01)
    dx, dy = rng.uniform(-2.0, 2.0, 2)
    m = np.asarray([[s, 0, dx + (1 - s) * w / 2], [0, s, dy + (1 - s) * h / 2]], dtype=np.float32)
    moved = np.asarray(cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE), dtype=np.float32)
    out = np.clip(moved * rng.uniform(0.96, 1.04) + rng.normal(0.0, 2.0, moved.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise ValueError("JPEG round trip failed")
    return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)


@dataclass(frozen=True)
class FrameSet:
    """Per photo of one face set, the encodings of its K near-duplicate frames (row 0: the photo itself)."""

    name: str
    frames: tuple[NDArray[np.float64], ...]
    labels: NDArray[np.str_]


def load_frames(dataset: Path, k: int, seed: int = 20261204) -> FrameSet:
    """The shipped engine's encodings of every photo of ``dataset`` and of ``k`` − 1 jittered copies of it (a
    photo where any of them has no face is left out)."""
    from idverify.bench.face import list_dataset
    from idverify.biometrics.face.engine import get_face_engine
    from idverify.biometrics.face.image import as_rgb_array
    from idverify.errors import BiometricError

    engine, rng = get_face_engine(), np.random.default_rng(seed)
    frames: list[NDArray[np.float64]] = []
    labels: list[str] = []
    for image in list_dataset(dataset):
        rgb = as_rgb_array(image.path)
        try:
            rows = [engine.analyse(f, largest_only=True, enforce_quality=False).encoding
                    for f in [rgb, *(camera_jitter(rgb, rng) for _ in range(k - 1))]]
        except BiometricError:
            continue
        frames.append(np.asarray(rows, np.float64))
        labels.append(image.identity)
    return FrameSet(dataset.name, tuple(frames), np.asarray(labels))


def near_duplicate_rows(sets: Sequence[FrameSet], thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """Per set and pooled, one row per (k, rule): photo a's frame 0 against the first k frames of every other
    photo b (genuine when a and b show the same identity)."""
    rows: list[dict[str, Any]] = []
    pooled: dict[tuple[int, str], tuple[list[NDArray[np.float64]], list[NDArray[np.float64]], int]] = {}
    for fs in sets:
        n, depth = len(fs.labels), min((len(f) for f in fs.frames), default=0)
        for k in range(1, depth + 1):
            for rule in RULES if k > 1 else ("mean",):
                g: list[float] = []
                i: list[float] = []
                for a in range(n):
                    for b in range(n):
                        if a != b:
                            (g if fs.labels[a] == fs.labels[b] else i).append(
                                score(fs.frames[a][:1], fs.frames[b][:k], rule))
                ga, ia = np.asarray(g), np.asarray(i)
                identities = len(set(fs.labels.tolist()))
                rows.append(_row(fs.name, k, rule, identities, ga, ia, thresholds))
                gs, imps, m = pooled.setdefault((k, rule), ([], [], 0))
                gs.append(ga)
                imps.append(ia)
                pooled[(k, rule)] = (gs, imps, m + identities)
    for (k, rule), (gs, imps, m) in pooled.items():
        rows.append(_row("pooled", k, rule, m, np.concatenate(gs), np.concatenate(imps), thresholds))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from idverify.bench.face_cohort import load_set, several_image_parser, shipped_face_thresholds

    p = several_image_parser("idverify.bench.face_probes", __doc__.split("\n")[0])
    p.add_argument("--max-k", type=int, default=2, help="largest number of probe frames")
    p.add_argument("--enrol", type=int, default=1, help="images in the reference (the enrolled template)")
    p.add_argument("--near-duplicates", type=int, default=0, metavar="K",
                   help="instead: K jittered frames per photo, one photo's frame 0 as the reference")
    args = p.parse_args(argv)
    if args.max_k < 1 or args.enrol < 1 or args.near_duplicates < 0:
        p.error("--max-k and --enrol must be at least 1, --near-duplicates at least 0")
    thresholds = shipped_face_thresholds()
    if args.near_duplicates:
        frames = [load_frames(d, args.near_duplicates) for d in args.datasets]
        print(json.dumps({"thresholds": thresholds, "near_duplicates": args.near_duplicates,
                          "rows": near_duplicate_rows(frames, thresholds)}))
        return 0
    rows = evaluate([load_set(d) for d in args.datasets], thresholds, args.max_k, args.enrol)
    print(json.dumps({"thresholds": thresholds, "enrol": args.enrol, "max_k": args.max_k, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
