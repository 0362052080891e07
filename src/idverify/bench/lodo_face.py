"""Leave-one-dataset-out choice of the face alignment method (run by hand).

Why: face/2's alignment (landmarks averaged over three boxes, replicated border) was chosen on asian_dev's figures
alone, so asian_dev's EER under face/2 is a *seen* figure. Here every configuration of a named grid
(:data:`GRID`, :class:`~idverify.biometrics.face.engine.FaceConfig` values: the options step 4 of the engine's
docstring tried that a configuration can express) is scored on every face set, and for each held-out set the
configuration is chosen on the other sets only (:mod:`idverify.bench.lodo`'s rule). The held-out figure is the
*method-unseen* one. Two limits, said with the figures: the options themselves were thought of while looking at
asian_dev's failing pairs (only the choice among them is blind to the held-out set), and the thresholds are a
separate question (:mod:`idverify.bench.face_cohort`'s transfer column).

Scoring of one configuration on one set: as ``idverify bench face`` — every image (largest face, quality not
enforced), every genuine pair and every cross-identity pair, cosine scores, a failed image scores -1.

``python -m idverify.bench.lodo_face DIR DIR [DIR ...] [--grid NAME,NAME ...] [--json]``; progress on stderr.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from idverify.bench.lodo import choose, grid_names, grid_parser, leave_one_out, pooled_rates, print_report
from idverify.biometrics.face.engine import SHIPPED, FaceConfig

if TYPE_CHECKING:
    from idverify.biometrics.face.engine import FaceEngine

_FLIP_NAMES = {"face/1": "face1-flip", SHIPPED.name: "face2-flip"}
#: The first entry is the baseline (face/1: one landmark box, aligned on the photo itself); ties go to it.
GRID: dict[str, FaceConfig] = {c.name: c for c in (
    FaceConfig("face/1"),
    SHIPPED,
    FaceConfig("replicate-only", region_margin=1.0),
    FaceConfig("boxes-only", landmark_box_scales=(0.9, 1.0, 1.1)),
    FaceConfig("box-0.9", landmark_box_scales=(0.9,), region_margin=1.0),
    FaceConfig("boxes-0.85-0.95", landmark_box_scales=(0.85, 0.9, 0.95), region_margin=1.0),
    dataclasses.replace(SHIPPED, name="pad-0.2", chip_padding=0.2),
    dataclasses.replace(SHIPPED, name="pad-0.3", chip_padding=0.3),
)}
#: Horizontal-flip test-time augmentation (``FaceConfig.flip``): every alignment above with the chip's mirror
#: image encoded too and the two descriptors averaged, and face/2 with the unit-length mean as well. Appended after
#: the alignments so that ``--grid`` with the first eight names is the grid chosen without flipping.
GRID.update({c.name: c for c in (
    *(dataclasses.replace(c, name=_FLIP_NAMES.get(n, f"{n}-flip"), flip="mean") for n, c in list(GRID.items())),
    dataclasses.replace(SHIPPED, name="face2-flip-unit", flip="unit-mean"),
)})


@dataclass(frozen=True)
class FaceRun:
    """One configuration on one set: its own pairs' scores and failures to encode."""

    genuine: tuple[float, ...]
    impostor: tuple[float, ...]
    fta: int


def engine_for(config: FaceConfig) -> FaceEngine:
    """The process's shipped engine for :data:`SHIPPED`, else a new one (models load in about a second)."""
    from idverify.biometrics.face.engine import FaceEngine, get_face_engine

    return get_face_engine() if config == SHIPPED else FaceEngine(config)


def evaluate(config: FaceConfig, dataset: Path, engine: FaceEngine | None = None) -> FaceRun:
    """``config`` on ``dataset``'s own pairs, scored as ``idverify bench face`` scores them (``engine``: one built
    for ``config``, when the caller has it)."""
    from idverify.bench.face import extract_ours, list_dataset, make_pairs, score_pairs

    images = list_dataset(dataset)
    genuine, impostor, _ = make_pairs([i.identity for i in images])
    ext = extract_ours(images, engine=engine or engine_for(config))
    return FaceRun(tuple(round(float(x), 7) for x in score_pairs(ext, genuine, peer=False)),
                   tuple(round(float(x), 7) for x in score_pairs(ext, impostor, peer=False)), ext.fta)


def run_grid(configs: Sequence[FaceConfig], datasets: Sequence[Path]) -> dict[str, dict[str, FaceRun]]:
    """``table[config name][set name]``."""
    from rich.console import Console
    from rich.progress import Progress

    table: dict[str, dict[str, FaceRun]] = {}
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"LODO face: {len(configs)} configurations × {len(datasets)} sets",
                            total=len(configs) * len(datasets))
        for c in configs:
            engine = engine_for(c)  # one per configuration, not per set
            table[c.name] = {}
            for d in datasets:
                table[c.name][d.name] = evaluate(c, d, engine)
                bar.advance(task)
    return table


def report(table: Mapping[str, Mapping[str, FaceRun]], sets: Sequence[str], baseline: str) -> dict[str, Any]:
    """Per configuration × set figures, the LODO rows against ``baseline``, and the choice made on all sets."""
    from idverify.biometrics.metrics import error_rates

    per: dict[str, Any] = {}
    for cfg, runs in table.items():
        per[cfg] = {}
        for s in sets:
            r = runs[s]
            e = error_rates(np.asarray(r.genuine), np.asarray(r.impostor))
            per[cfg][s] = {"eer": round(float(e.eer), 6), "fnmr_at_fmr100": round(float(e.fmr100), 6),
                           "fnmr_at_fmr1000": round(float(e.fmr1000), 6), "fta": r.fta,
                           "genuine": len(r.genuine), "impostor": len(r.impostor)}
        eer, fnmr = pooled_rates([runs[s] for s in sets])
        per[cfg]["pooled"] = {"eer": round(eer, 6), "fnmr_at_fmr1000": round(fnmr, 6)}
    rows = []
    for held in leave_one_out(table, sets, baseline):
        row = dataclasses.asdict(held)
        row["fnmr_at_fmr100"] = per[held.chosen][held.dataset]["fnmr_at_fmr100"]
        rows.append(row)
    choice, eer = choose(table, sets)
    shipped = next((n for n in table if dataclasses.replace(GRID[n], name=SHIPPED.name) == SHIPPED), None)
    return {"configurations": per, "leave_one_out": rows,
            "chosen_on_all_sets": {"configuration": choice, "pooled_eer": round(eer, 6),
                                   "note": "chosen on every set: its figures on them are seen, not unseen"},
            "baseline": baseline, "shipped": shipped}


def main(argv: Sequence[str] | None = None) -> int:
    from idverify.logging import configure_logging

    configure_logging("WARNING")  # log lines go to stderr, never into the JSON on stdout
    p = grid_parser("python -m idverify.bench.lodo_face", __doc__.split("\n")[0], GRID,
                    "face folders, one sub-folder per identity (two or more)")
    args = p.parse_args(argv)
    names = grid_names(p, args.grid, GRID, len(args.datasets))
    table = run_grid([GRID[n] for n in names], args.datasets)
    doc = report(table, [d.name for d in args.datasets], names[0])
    if args.json:
        print(json.dumps(doc))
    else:
        print_report(doc, "engine.SHIPPED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
