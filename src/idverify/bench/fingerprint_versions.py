"""Templates enrolled by an earlier extractor against captures of the shipped one (run by hand).

Why: the template format has not changed since fp/1.2, so the patients a clinic enrolled before an upgrade keep
their stored templates and are compared, as they are, with captures of the new extractor; re-enrolment
is not forced. Whether that is safe is a measurement, not an assumption: for every set, the ``full`` protocol's
pairs scored three ways — both sides by the shipped extractor (``new-new``), enrolled by the earlier one and probed
by the shipped one (``old-new``; each pair both ways round, as either image may be the enrolled one), both sides by
the earlier one (``old-old``) — with the EER, FNMR at the set's own FMR 0.1 % point, and the FMR and FNMR at the
shipped FMR 0.1 % threshold (``models/thresholds_fingerprint.json``), which is what the daemon applies.

Owns: that comparison and its report. Must not touch: thresholds, the shipped configuration.

``python -m idverify.bench.fingerprint_versions DIR [DIR ...] [--enrolled VERSION] [--json]``: ``VERSION`` a
released version (``lodo_fingerprint.RELEASES``; default: the one before the shipped one) or a LODO grid entry;
progress on stderr.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from idverify.bench.cli_args import folder
from idverify.bench.lodo_fingerprint import GRID, RELEASES, pair_score, set_templates
from idverify.biometrics.fingerprint.extract import SHIPPED, ExtractorConfig

#: The release before the shipped one: the default stored side.
PREVIOUS = [name for name in RELEASES if name != SHIPPED.name][-1]


@dataclass(frozen=True)
class Rates:
    """One way of scoring one set's pairs."""

    genuine: int
    impostor: int
    eer: float
    fnmr_at_fmr1000: float  # at the set's own FMR 0.1 % point
    fmr_at_threshold: float  # at the shipped threshold
    fnmr_at_threshold: float


def rates(genuine: Sequence[float], impostor: Sequence[float], threshold: float) -> Rates:
    """Threshold-free and shipped-threshold figures of one score list (accept when score ≥ threshold)."""
    from idverify.biometrics.metrics import error_rates

    g, i = np.asarray(genuine, np.float64), np.asarray(impostor, np.float64)
    e = error_rates(g, i)
    return Rates(len(g), len(i), round(float(e.eer), 6), round(float(e.fmr1000), 6),
                 round(float((i >= threshold).mean()), 6), round(float((g < threshold).mean()), 6))


def cross_scores(enrolled: Sequence[Any], probes: Sequence[Any], pairs: Sequence[tuple[int, int]],
                 both_ways: bool) -> list[float]:
    """Scores of ``pairs`` (indexes into both lists), enrolled side first; ``both_ways`` adds each pair reversed."""
    out = [pair_score(enrolled[a], probes[b]) for a, b in pairs]
    if both_ways:
        out += [pair_score(enrolled[b], probes[a]) for a, b in pairs]
    return out


def configuration(name: str) -> ExtractorConfig:
    """A released version's configuration (``fp/1.3``), else the LODO grid entry of that name."""
    return RELEASES[name] if name in RELEASES else GRID[name]


def compare(dataset: Path, earlier: str, threshold: float) -> dict[str, Any]:
    """The three ways of scoring ``dataset`` (module docstring)."""
    from idverify.bench.fingerprint import make_pairs

    old = set_templates(configuration(earlier), dataset)
    new = set_templates(SHIPPED, dataset)
    genuine, impostor = make_pairs(new.images, "full")
    row: dict[str, Any] = {"dataset": dataset.name}
    for name, enrolled, probes, both in (("new-new", new, new, False), ("old-new", old, new, True),
                                         ("old-old", old, old, False)):
        g = cross_scores(enrolled.descriptors, probes.descriptors, genuine, both)
        i = cross_scores(enrolled.descriptors, probes.descriptors, impostor, both)
        row[name] = asdict(rates(g, i, threshold))
    return row


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from idverify.biometrics.operating_points import load_operating_points
    from idverify.logging import configure_logging

    configure_logging("WARNING")  # log lines go to stderr, never into the JSON on stdout

    p = argparse.ArgumentParser(prog="python -m idverify.bench.fingerprint_versions",
                                description=__doc__.split("\n")[0])
    p.add_argument("datasets", nargs="+", type=folder, help="FVC folders")
    p.add_argument("--enrolled", default=PREVIOUS, choices=list(dict.fromkeys([*RELEASES, *GRID])),
                   help="the earlier extractor version (or grid entry) the stored templates came from")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = p.parse_args(argv)
    threshold = load_operating_points().point("fingerprint", 0.001).threshold
    rows = []
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("extracting with both versions", total=len(args.datasets))
        for d in args.datasets:
            rows.append(compare(d, args.enrolled, threshold))
            bar.advance(task)
    doc = {"enrolled_with": args.enrolled, "probed_with": SHIPPED.name, "threshold_fmr_0.001": threshold,
           "sets": rows}
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"enrolled with {args.enrolled}, probed with {SHIPPED.name}; shipped FMR 0.1 % threshold {threshold}")
    print(f"{'set':<16} {'scoring':<8} {'EER %':>7} {'FNMR@0.1% %':>12} {'FMR@thr %':>10} {'FNMR@thr %':>11}")
    for r in rows:
        for name in ("new-new", "old-new", "old-old"):
            x = r[name]
            print(f"{r['dataset']:<16} {name:<8} {100 * x['eer']:7.2f} {100 * x['fnmr_at_fmr1000']:12.2f}"
                  f" {100 * x['fmr_at_threshold']:10.3f} {100 * x['fnmr_at_threshold']:11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
