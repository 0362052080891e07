"""Charts for the monthly report, as PNG bytes (matplotlib's object API on the Agg canvas).

Only the pictures a reader would rather look at than read: checks per stage split by decision, the most common
reject reasons, and acquisition failure rates per factor. No global pyplot state is touched, so rendering is
safe in worker threads. Figures get the report's numbers only — never identities. Titles, axes and category
names come in the report's language (:class:`Labels`), set in the report's embedded CJK font so Chinese renders.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from idverify.biometrics.reasons import render
from idverify.reports.monthly import DECISIONS, MonthlyReport


@dataclass(frozen=True)
class Labels:
    """The words of the charts: a translator (``t("chart.…")``) and the matplotlib font family to set them in."""

    t: Callable[..., str]
    family: str

    def word(self, prefix: str, key: str) -> str:
        text = self.t(f"{prefix}.{key}")
        return key.replace("_", " ") if text == f"{prefix}.{key}" else text


COLOURS = {"accept": "#2e7d32", "reject": "#c62828", "retry": "#f9a825"}
DPI = 150


def _png(fig: Figure, labels: Labels) -> bytes:
    """The figure as PNG, every text (title, axes, ticks, legend, annotations) set in the report's font."""
    for text in fig.findobj(Text):
        text.set_fontfamily(labels.family)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#555555")
    ax.set_axis_off()


def checks_by_stage_png(report: MonthlyReport, labels: Labels) -> bytes:
    """Stacked bars: accept / reject / retry per stage, the total written above each bar."""
    fig = Figure(figsize=(7.0, 3.2))
    ax = fig.add_subplot()
    stages = list(report.checks_by_stage)
    if not stages:
        _empty(ax, labels.t("chart.no_stage_checks"))
        return _png(fig, labels)
    names = [labels.word("stage", s) for s in stages]
    bottom = [0] * len(stages)
    for decision in DECISIONS:
        values = [report.checks_by_stage[s][decision] for s in stages]
        ax.bar(names, values, bottom=bottom, color=COLOURS[decision], label=labels.word("decision", decision))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        ax.text(x, total, str(total), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel(labels.t("chart.checks"))
    ax.set_title(labels.t("chart.stage_title"))
    ax.set_ylim(0, max(bottom) * 1.18 + 1)
    ax.legend(loc="upper right", frameon=False, ncols=3, prop={"family": labels.family, "size": 8})
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, labels)


def reject_reasons_png(report: MonthlyReport, labels: Labels, top: int = 8) -> bytes:
    """Horizontal bars of the most frequent reject reasons (long reasons wrapped)."""
    reasons = report.reject_reasons[:top]
    fig = Figure(figsize=(7.0, 0.45 * max(len(reasons), 2) + 0.9))
    ax = fig.add_subplot()
    if not reasons:
        _empty(ax, labels.t("chart.no_rejects"))
        return _png(fig, labels)
    names = ["\n".join(textwrap.wrap(render(labels.t, r, details=False), 48)) for r, _ in reversed(reasons)]
    counts = [n for _, n in reversed(reasons)]
    ax.barh(names, counts, color=COLOURS["reject"])
    for y, n in enumerate(counts):
        ax.text(n, y, f" {n}", va="center", fontsize=8)
    ax.set_xlabel(labels.t("chart.reject_axis"))
    ax.set_title(labels.t("chart.reject_title"))
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(0, max(counts) * 1.15 + 0.5)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, labels)


def acquisition_png(report: MonthlyReport, labels: Labels) -> bytes:
    """Failure-to-acquire rate per factor, with the attempts written on each bar."""
    fig = Figure(figsize=(7.0, 2.8))
    ax = fig.add_subplot()
    factors = [f for f, r in report.acquisition.items() if r.attempts]
    if not factors:
        _empty(ax, labels.t("chart.no_captures"))
        return _png(fig, labels)
    rates = [100.0 * report.acquisition[f].failures / report.acquisition[f].attempts for f in factors]
    ax.bar([labels.word("factor", f) for f in factors], rates, color="#1565c0")
    for x, f in enumerate(factors):
        r = report.acquisition[f]
        ax.text(x, rates[x], f"{r.failures}/{r.attempts}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(labels.t("chart.acquisition_axis"))
    ax.set_title(labels.t("chart.acquisition_title"))
    ax.set_ylim(0, max(max(rates) * 1.25, 5.0))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, labels)
