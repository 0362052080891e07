"""PAD error rates in ISO/IEC 30107-3 terms on a labelled folder of presentations.

Owns: reading a PAD sample folder (``labels.csv`` with ``image,pad_label[,species]``; ``pad_label`` is
``bona_fide`` or ``attack``) and computing APCER per attack species (and its maximum) and BPCER. Must not touch:
the decision threshold (it evaluates the shipped one), identity matching.

APCER(species) = share of that species' attack presentations classified bona fide; BPCER = share of bona fide
presentations classified as attacks. ACER/HTER averages are deliberately not reported (not ISO terms). With the
public data we hold (Silent-Face's 3 demo images) these figures are a smoke test, not an estimate: one image moves
a rate by 33–100 points. Presentations in which no single face is found are counted separately (``no_face``) and,
for attacks, not as bona fide.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from idverify.biometrics.pad.passive import LIVE_THRESHOLD, PadEngine, get_pad_engine
from idverify.errors import BiometricError, ValidationFailed


def evaluate_folder(folder: Path, engine: PadEngine | None = None) -> dict[str, Any]:
    labels_file = folder / "labels.csv"
    if not labels_file.is_file():
        raise ValidationFailed(f"{labels_file} not found (expected columns image,pad_label[,species])")
    engine = engine or get_pad_engine()
    attacks: dict[str, list[bool]] = {}
    bona_fide: list[bool] = []
    no_face = 0
    with labels_file.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = row["pad_label"].strip()
            try:
                live = engine.check(folder / row["image"]).live
            except BiometricError:
                no_face += 1
                live = False
            if label == "bona_fide":
                bona_fide.append(live)
            elif label == "attack":
                species = (row.get("species") or "").strip() or "unspecified"
                attacks.setdefault(species, []).append(live)
            else:
                raise ValidationFailed(f"unknown pad_label {label!r} in {labels_file}")
    apcer = {s: sum(v) / len(v) for s, v in sorted(attacks.items())}
    return {
        "attack_presentations": {s: len(v) for s, v in sorted(attacks.items())},
        "bona_fide_presentations": len(bona_fide),
        "apcer": apcer,
        "apcer_max": max(apcer.values()) if apcer else None,
        "bpcer": (sum(not x for x in bona_fide) / len(bona_fide)) if bona_fide else None,
        "no_face": no_face,
        "threshold": LIVE_THRESHOLD,
    }
