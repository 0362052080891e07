"""Error rates of the stage decision itself: the fused FMR/FNMR with every factor, and with one missing.

Owns: ``idverify bench check --fusion`` — scoring every public set's own pairs with our face and fingerprint
engines, and turning the per-factor score distributions into the decision's error rates through
:func:`idverify.biometrics.fusion.decide` under the default stage policy at the shipped thresholds. Must not touch:
thresholds (``models/``), the decision rules (it calls them), the database.

How: face and fingerprint come from different people (no public set holds both of one person), so a trial is
*chimeric* — a face pair and a finger pair taken independently — and the rates are exact under that
independence: each factor's score falls in a zone (below its threshold; for the face also between the threshold
beside a fingerprint and the stricter face-alone one; above), :func:`decide` is asked for the outcome of every
combination of zones, and the outcome's probability is the product of the zones' shares among the genuine (or
impostor) pairs. An impostor is assumed to carry the patient's own card (the worst case: the document rule
passes); the passive PAD is not part of it. Scenarios: every factor; fingerprint missing (refused, not captured
or not enrolled: the face decides alone); face missing (refused: the fingerprint decides alone).
Leave-one-dataset-out: the shipped thresholds were calibrated on the sets their files name
(``evidence.datasets``); the fingerprint sets are split into those and the unseen ones. Every face set served for
calibration, so the face side is seen in every row (said so in the result).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.fusion import FactorPolicy, FactorResult, StagePolicy, decide, factor_policy

FACE_SETS = ("asian_dev", "deepface_unit", "face_recognition_examples")  # the identity sets of ``face/``


@dataclass(frozen=True)
class Scores:
    """One factor's genuine and impostor scores (each set's own pairs, joined) and the sets they came from."""

    genuine: NDArray[np.float64]
    impostor: NDArray[np.float64]
    sets: list[str]


def _zones(policy: FactorPolicy) -> list[float]:
    """Cut points of a factor's score scale: its threshold, and for the face also its face-alone threshold."""
    cuts = {policy.threshold}
    if policy.alone_threshold is not None:
        cuts.add(max(policy.threshold, policy.alone_threshold))
    return sorted(cuts)


def _shares(scores: NDArray[np.float64], cuts: list[float]) -> list[float]:
    edges = [-np.inf, *cuts, np.inf]
    return [float(np.mean((scores >= lo) & (scores < hi))) if scores.size else 0.0
            for lo, hi in itertools.pairwise(edges)]


def _representative(cuts: list[float]) -> list[float]:
    """A score inside each zone: just below the first cut, then each cut itself (accept is ``>=``)."""
    return [cuts[0] - 1e-6, *cuts]


def decision_rates(policy: StagePolicy, scores: dict[str, Scores]) -> dict[str, float]:
    """FMR and FNMR of ``decide(policy, …)`` when the policy's factors score like ``scores`` (independently)."""
    names = [n for n in policy.factors if n in scores]
    cuts = {n: _zones(policy.factors[n]) for n in names}
    rates: dict[str, float] = {}
    for kind in ("genuine", "impostor"):
        shares = {n: _shares(getattr(scores[n], kind), cuts[n]) for n in names}
        accept = 0.0
        for zone in itertools.product(*(range(len(cuts[n]) + 1) for n in names)):
            p = float(np.prod([shares[n][z] for n, z in zip(names, zone, strict=True)]))
            if p == 0.0:
                continue
            results = [FactorResult(n, "ok", _representative(cuts[n])[z]) for n, z in zip(names, zone, strict=True)]
            if decide(policy, results).outcome == "accept":
                accept += p
        rates["fmr" if kind == "impostor" else "fnmr"] = accept if kind == "impostor" else 1.0 - accept
    return {k: round(v, 8) for k, v in rates.items()}


def scenarios(face: FactorPolicy, finger: FactorPolicy, scores: dict[str, Scores]) -> dict[str, Any]:
    """The three scenarios of the module docstring under one pair of factor policies."""
    every = StagePolicy("bench", {"face": face, "fingerprint": finger})
    no_finger = StagePolicy("bench", {"face": face})
    no_face = StagePolicy("bench", {"fingerprint": finger})
    return {"every_factor": decision_rates(every, scores),
            "fingerprint_missing": decision_rates(no_finger, scores),
            "face_missing": decision_rates(no_face, scores)}


def _finger_scores(datasets: Sequence[Path]) -> Scores:
    from idverify.bench.fingerprint import dataset_dpi, list_dataset, load_grey, make_pairs
    from idverify.biometrics.fingerprint.extract import extract
    from idverify.biometrics.fingerprint.match import match
    from idverify.errors import BiometricError

    gen: list[float] = []
    imp: list[float] = []
    for ds in datasets:
        images = list_dataset(ds)
        dpi = dataset_dpi(ds) or 500
        templates: list[Any] = []
        for im in images:
            try:
                templates.append(extract(load_grey(im.path), dpi))
            except BiometricError:
                templates.append(None)  # a failure to enrol scores as a non-match, as in the fingerprint bench
        genuine, impostor = make_pairs(images, "full")
        for pairs, out in ((genuine, gen), (impostor, imp)):
            out.extend(0.0 if templates[i] is None or templates[j] is None else match(templates[i], templates[j])
                       for i, j in pairs)
    return Scores(np.asarray(gen), np.asarray(imp), [d.name for d in datasets])


def _face_scores(datasets: Sequence[Path]) -> Scores:
    from idverify.bench.face import extract_ours, list_dataset, make_pairs, score_pairs

    gen: list[NDArray[np.float64]] = []
    imp: list[NDArray[np.float64]] = []
    for ds in datasets:
        images = list_dataset(ds)
        ext = extract_ours(images)
        genuine, impostor, _ = make_pairs([i.identity for i in images])
        gen.append(score_pairs(ext, genuine, peer=False))
        imp.append(score_pairs(ext, impostor, peer=False))
    return Scores(np.concatenate(gen), np.concatenate(imp), [d.name for d in datasets])


def run_fusion_rates(data: Path) -> dict[str, Any]:
    """Every face and fingerprint set under ``data`` (``face/``, ``fingerprint/``), scored once; the decision's
    rates under the default policy at the shipped thresholds, per fingerprint group (seen / unseen)."""
    import json

    from idverify.biometrics.models_path import model_file
    from idverify.biometrics.operating_points import FINGERPRINT_FILE, load_operating_points
    from idverify.workflow.policy import DEFAULT_FACTORS

    points = load_operating_points()
    face_conf, finger_conf = DEFAULT_FACTORS["face"], DEFAULT_FACTORS["fingerprint"]
    face = factor_policy("face", points=points, required=True, target_fmr=face_conf["target_fmr"],
                         alone_target_fmr=face_conf["alone_target_fmr"])
    finger = factor_policy("fingerprint", points=points, required=True, target_fmr=finger_conf["target_fmr"])
    seen = set(json.loads(model_file(FINGERPRINT_FILE).read_text(encoding="utf-8"))["evidence"]["datasets"])
    face_sets = [data / "face" / name for name in FACE_SETS if (data / "face" / name).is_dir()]
    finger_sets = sorted(p for p in (data / "fingerprint").iterdir() if p.is_dir())
    face_scores = _face_scores(face_sets)
    out: dict[str, Any] = {
        "policy": {"face_target_fmr": face.target_fmr, "face_threshold": face.threshold,
                   "face_alone_target_fmr": face.alone_target_fmr, "face_alone_threshold": face.alone_threshold,
                   "fingerprint_target_fmr": finger.target_fmr, "fingerprint_threshold": finger.threshold},
        "face_sets": face_scores.sets,
        "face_seen_by_thresholds": True,
        "assumptions": "chimeric trials (face and finger independent); impostor carries the patient's card; "
                       "no PAD",
    }
    for group, members in (("fingerprint_seen", [p for p in finger_sets if p.name in seen]),
                           ("fingerprint_unseen", [p for p in finger_sets if p.name not in seen])):
        if not members:
            continue
        finger_scores = _finger_scores(members)
        out[group] = {"sets": finger_scores.sets, "genuine_face": int(face_scores.genuine.size),
                      "impostor_face": int(face_scores.impostor.size),
                      "genuine_finger": int(finger_scores.genuine.size),
                      "impostor_finger": int(finger_scores.impostor.size),
                      **scenarios(face, finger, {"face": face_scores, "fingerprint": finger_scores})}
    return out
