"""Leave-one-dataset-out selection, shared by the fingerprint and face method benches.

Why: a method tuned on a set says nothing about that set. Every configuration of a named grid is scored on every
set; for each held-out set the configuration is *chosen on the other sets only* (lowest pooled EER of their own
pairs; ties: lower pooled FNMR at FMR 0.1 %, then grid order), and that configuration's figures on the held-out set
are the ones a README may call unseen. Owns the selection rule only; what a configuration is and how a set is
scored belong to :mod:`idverify.bench.lodo_fingerprint` and :mod:`idverify.bench.lodo_face`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from idverify.bench.cli_args import folder


class Scored(Protocol):
    """One configuration's scores on one set's own pairs (higher = more alike)."""

    @property
    def genuine(self) -> Sequence[float]: ...

    @property
    def impostor(self) -> Sequence[float]: ...


@dataclass(frozen=True)
class HeldOut:
    """The LODO row of one held-out set."""

    dataset: str
    chosen: str  # the configuration chosen on the other sets
    train_eer: float  # its pooled EER on the other sets
    eer: float  # on the held-out set: the "unseen" figure
    fnmr_at_fmr1000: float
    baseline_eer: float  # the baseline configuration on the held-out set, for comparison
    baseline_fnmr_at_fmr1000: float


def pooled_rates(runs: Sequence[Scored]) -> tuple[float, float]:
    """(EER, FNMR at FMR 0.1 %) of the sets' own pairs pooled (no cross-set impostors)."""
    from idverify.biometrics.metrics import error_rates

    rates = error_rates(np.concatenate([np.asarray(r.genuine, np.float64) for r in runs]),
                        np.concatenate([np.asarray(r.impostor, np.float64) for r in runs]))
    return float(rates.eer), float(rates.fmr1000)


def choose(table: Mapping[str, Mapping[str, Scored]], sets: Sequence[str]) -> tuple[str, float]:
    """The configuration with the lowest pooled EER over ``sets`` (ties: lower pooled FNMR at FMR 0.1 %, then the
    table's order), and that EER. ``table[config][set]``."""
    best: tuple[float, float, int] | None = None
    name = ""
    for order, (cfg, runs) in enumerate(table.items()):
        eer, fnmr = pooled_rates([runs[s] for s in sets])
        key = (round(eer, 9), round(fnmr, 9), order)
        if best is None or key < best:
            best, name = key, cfg
    assert best is not None, "empty table"
    return name, best[0]


def leave_one_out(table: Mapping[str, Mapping[str, Scored]], sets: Sequence[str], baseline: str) -> list[HeldOut]:
    """One row per set: the configuration chosen on the others and its figures on the held-out set."""
    from idverify.biometrics.metrics import error_rates

    rows = []
    for held in sets:
        chosen, train = choose(table, [s for s in sets if s != held])
        run, base = table[chosen][held], table[baseline][held]
        r = error_rates(np.asarray(run.genuine, np.float64), np.asarray(run.impostor, np.float64))
        b = error_rates(np.asarray(base.genuine, np.float64), np.asarray(base.impostor, np.float64))
        rows.append(HeldOut(held, chosen, train, float(r.eer), float(r.fmr1000), float(b.eer), float(b.fmr1000)))
    return rows


def grid_parser(prog: str, description: str, grid: Mapping[str, Any], datasets_help: str) -> argparse.ArgumentParser:
    """The arguments every LODO tool takes: the sets, ``--grid`` (first name: the baseline) and ``--json``."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("datasets", nargs="+", type=folder, help=datasets_help)
    p.add_argument("--grid", default=",".join(grid), help="comma-separated configuration names (first: the baseline)")
    p.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    return p


def grid_names(parser: argparse.ArgumentParser, spec: str, grid: Mapping[str, Any], n_sets: int) -> list[str]:
    """The ``--grid`` names, in order (the first is the baseline); a parser error for an unknown name or fewer
    than two sets."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in grid]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; known: {', '.join(grid)}")
    if n_sets < 2:
        parser.error("need two sets")
    return names


def print_report(doc: Mapping[str, Any], shipped_label: str) -> None:
    """The LODO rows, the all-set choice and the configuration × set EERs as a table (FNMR at FMR 1 % too when
    the rows carry it)."""
    rows = doc["leave_one_out"]
    with_1 = bool(rows) and "fnmr_at_fmr100" in rows[0]
    print(f"{'held-out set':<26} {'chosen on the others':<22} train EER  held-out EER"
          + ("  FNMR@1%" if with_1 else "") + "  FNMR@0.1%  baseline EER  FNMR@0.1%")
    for r in rows:
        print(f"{r['dataset']:<26} {r['chosen']:<22} {100 * r['train_eer']:8.2f} % {100 * r['eer']:10.2f} %"
              + (f" {100 * r['fnmr_at_fmr100']:7.2f} %" if with_1 else "")
              + f" {100 * r['fnmr_at_fmr1000']:8.2f} % {100 * r['baseline_eer']:10.2f} %"
              f" {100 * r['baseline_fnmr_at_fmr1000']:8.2f} %")
    c = doc["chosen_on_all_sets"]
    print(f"chosen on all sets (seen): {c['configuration']} (pooled EER {100 * c['pooled_eer']:.2f} %); "
          f"baseline: {doc['baseline']}; shipped ({shipped_label}): {doc['shipped']}")
    print("\nconfiguration × set EER % (pooled last):")
    for cfg, per in doc["configurations"].items():
        print(f"{cfg:<22}" + " ".join(f"{100 * v['eer']:6.2f}" for v in per.values()))
