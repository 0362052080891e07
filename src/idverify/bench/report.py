"""The shared shape of a biometric benchmark result (the ``--json`` keys) and how it is shown.

A :class:`BenchResult` is built from raw score arrays so every benchmark computes its error rates the same way
(:mod:`idverify.biometrics.metrics`). ``as_spec()`` is the ``--json`` object (keys in the README, *Command line*);
``render()`` prints the human table comparing our system with the peer; ``plot()`` writes the DET curves of both.

Several sets (``--dataset A --dataset B …``): :func:`pooled` joins the sets' own pairs (each set's genuine and
impostor pairs, no cross-set pair: a cross-sensor or cross-population impostor is an easy one and would flatter the
figure) into one result, and :func:`publish_many` prints each set's table and the pooled one; with ``--json`` the
last line is ``{"sets": [<single-set object>, …], "pooled": {…}}``. One set stays the single-set object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from rich.console import Console
from rich.table import Table

from idverify.biometrics.metrics import DetCurve, det_curve, error_rates, plot_det
from idverify.console import emit_json


@dataclass
class SystemRun:
    """One system's scores and timings on the benchmark's pairs."""

    name: str
    genuine: ArrayLike
    impostor: ArrayLike
    fta: int  # failures to acquire/extract (images), reported, not folded into the rates
    extract_ms: list[float]
    match_per_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self, modality: str, dataset: str) -> dict[str, Any]:
        rates = error_rates(self.genuine, self.impostor)
        return {
            "modality": modality,
            "dataset": dataset,
            "system": self.name,
            "genuine": rates.genuine,
            "impostor": rates.impostor,
            "fta": self.fta,
            "eer": round(rates.eer, 6),
            "eer_threshold": rates.eer_threshold,
            "fmr100": round(rates.fmr100, 6),
            "fmr1000": round(rates.fmr1000, 6),
            "zero_fmr": round(rates.zero_fmr, 6),
            "extract_ms_median": round(float(np.median(self.extract_ms)), 3) if self.extract_ms else None,
            "match_per_s": round(self.match_per_s, 1),
            **self.extra,
        }

    def curve(self) -> DetCurve:
        return det_curve(self.genuine, self.impostor)


@dataclass
class BenchResult:
    modality: str
    dataset: str
    ours: SystemRun
    peer: SystemRun | None
    notes: list[str] = field(default_factory=list)

    def as_spec(self) -> dict[str, Any]:
        out = self.ours.summary(self.modality, self.dataset)
        out["peer"] = self.peer.summary(self.modality, self.dataset) if self.peer else None
        if self.notes:
            out["notes"] = self.notes
        return out

    def render(self, console: Console) -> None:
        spec = self.as_spec()
        rows = [spec] + ([spec["peer"]] if spec["peer"] else [])
        table = Table(title=f"{self.modality} benchmark — {self.dataset}")
        for col in _COLUMNS:
            table.add_column(col, justify="right" if col != "system" else "left")
        for row in rows:
            table.add_row(*[_fmt(row.get(c)) for c in _COLUMNS])
        console.print(table)
        for note in self.notes:
            console.print(f"[dim]note: {note}[/dim]")

    def publish(self, *, plot: Path | None, as_json: bool) -> None:
        """What every biometric bench command ends with: the table (on stderr when stdout carries JSON), the DET
        plot if asked, and the JSON object as the last line of stdout."""
        self.render(Console(stderr=as_json))
        if plot is not None:
            self.plot(plot)
        if as_json:
            emit_json(self.as_spec())

    def plot(self, path: Path) -> None:
        curves = {self.ours.name: self.ours.curve()}
        if self.peer is not None:
            curves[self.peer.name] = self.peer.curve()
        plot_det(curves, path, f"DET — {self.modality}, {self.dataset}")


_COLUMNS = ("system", "genuine", "impostor", "fta", "eer", "fmr100", "fmr1000", "zero_fmr",
            "extract_ms_median", "match_per_s")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value < 10 else f"{value:,.1f}"
    return "—" if value is None else str(value)


POOLED = "pooled"


def _pool_runs(runs: Sequence[SystemRun], names: Sequence[str]) -> SystemRun:
    """One system's runs over several sets as one run: pairs and timings joined, FTAs summed, the comparison
    rate the median of the sets' rates (each is already a best-of-passes figure)."""
    return SystemRun(
        name=runs[0].name,
        genuine=np.concatenate([np.asarray(r.genuine, dtype=np.float64) for r in runs]),
        impostor=np.concatenate([np.asarray(r.impostor, dtype=np.float64) for r in runs]),
        fta=sum(r.fta for r in runs),
        extract_ms=[t for r in runs for t in r.extract_ms],
        match_per_s=float(np.median([r.match_per_s for r in runs])),
        extra={"sets": list(names)},
    )


def pooled(results: Sequence[BenchResult]) -> BenchResult:
    """The pooled result of several sets' results (same modality): each set's own pairs, joined."""
    names = [r.dataset for r in results]
    peers = [r.peer for r in results]
    peer = _pool_runs([p for p in peers if p is not None], names) if all(p is not None for p in peers) else None
    notes = ["pooled: every set's own genuine and impostor pairs, no cross-set pairs"]
    if peer is None and any(p is not None for p in peers):
        notes.append("peer missing on some set: no pooled peer row")
    return BenchResult(results[0].modality, POOLED, _pool_runs([r.ours for r in results], names), peer, notes)


def publish_many(results: Sequence[BenchResult], *, plot: Path | None, as_json: bool) -> None:
    """:meth:`BenchResult.publish` for several sets: each set's table, then the pooled one (and its DET plot);
    the JSON object ``{"sets": [...], "pooled": {...}}``. A single set publishes exactly as before."""
    if len(results) == 1:
        results[0].publish(plot=plot, as_json=as_json)
        return
    both = pooled(results)
    console = Console(stderr=as_json)
    for result in (*results, both):
        result.render(console)
    if plot is not None:
        both.plot(plot)
    if as_json:
        emit_json({"sets": [r.as_spec() for r in results], "pooled": both.as_spec()})
