"""Leave-one-dataset-out selection of the fingerprint extractor's configuration (run by hand).

Why: a configuration tuned on a set says nothing about that set. So every configuration of a small named grid
(:data:`GRID`, frozen :class:`~idverify.biometrics.fingerprint.extract.ExtractorConfig` values) is evaluated on
every set, and for each held-out set the configuration is *chosen on the other sets only* (lowest pooled EER of
their own pairs; ties: lower pooled FNMR at FMR 0.1 %, then grid order). That configuration's EER and FNMR at
FMR 0.1 % on the held-out set is the figure the README may call "unseen"; beside it, the baseline (the grid's first
entry, fp/1.2) on the same set. The shipped configuration is the one chosen on all sets (it saw every set; the output
says so, and which grid entry ``extract.SHIPPED`` is).

Owns: the grid, the per-(configuration, set) evaluation, its cache and the report; the selection rule is
:mod:`idverify.bench.lodo`'s (shared with the face method's :mod:`idverify.bench.lodo_face`). Must not touch:
thresholds (:mod:`idverify.bench.calibrate_fingerprint`), the shipped default (``extract.SHIPPED``).

Evaluation of one configuration on one set: the ``full`` protocol of ``idverify bench fingerprint`` (own pairs,
no peer, no timing passes): every image extracted without quality gates, a failure scores 0; the scores, EER,
FNMR at FMR 0.1 %, the median extraction CPU ms and, where the set has ``iso/``, the minutiae recall / precision
against the ISO records. Results are cached per (configuration, set, code) in a JSON file: the key holds the
configuration's fields and a hash of the extractor and matcher sources, so a code change re-evaluates.

``python -m idverify.bench.lodo_fingerprint DIR [DIR ...] [--grid NAME,NAME ...] [--cache FILE] [--jobs N]
[--json]``; progress on stderr. Run heavy grids under ``nice -n 19``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from idverify.bench.lodo import choose, grid_names, grid_parser, leave_one_out, pooled_rates, print_report
from idverify.biometrics.fingerprint.extract import SHIPPED, ExtractorConfig

if TYPE_CHECKING:
    from idverify.bench.fingerprint import FingerImage
    from idverify.biometrics.fingerprint.template import FingerprintTemplate

_BASE = ExtractorConfig(name="fp/1.2")
#: fp/1.3 (the grid's ``local-smooth0``): the base of the entries added after it shipped. Spelt out, not taken
#: from ``extract.SHIPPED``, so that shipping another entry does not change what the grid's names mean.
_FP13 = dataclasses.replace(_BASE, name="local-smooth0", local_period=True, period_smooth=0.0)
#: The named grid: every option tried (also those that lost: a pre-screened grid would leak the held-out sets
#: into the choice). The first entry is the fp/1.2 baseline (it wins ties and is the comparison column).
GRID: dict[str, ExtractorConfig] = {c.name: c for c in (
    _BASE,
    dataclasses.replace(_BASE, name="local-period", local_period=True),
    _FP13,
    dataclasses.replace(_BASE, name="local-extent2", local_period=True, gabor_extent=2.0),
    dataclasses.replace(_BASE, name="local-period-wide", local_period=True, period_clamp=(0.6, 1.6)),
    dataclasses.replace(_BASE, name="local-bin1", local_period=True, period_bin=1.0),
    dataclasses.replace(_BASE, name="local+adaptive", local_period=True, adaptive_orient=0.5),
    dataclasses.replace(_BASE, name="local-smooth2", local_period=True, period_smooth=2.0),
    dataclasses.replace(_BASE, name="adaptive-orient", adaptive_orient=0.5),
    dataclasses.replace(_BASE, name="tensor-8", tensor_sigma=8.0),
    dataclasses.replace(_BASE, name="max-100", max_minutiae=100),
    dataclasses.replace(_BASE, name="seg-loose", seg_std_frac=0.2, seg_coherence=0.1),
    dataclasses.replace(_BASE, name="seg-strict", seg_std_frac=0.4, seg_coherence=0.25),
    dataclasses.replace(_BASE, name="strict-minutiae", spur_len=1.2, short_ridge=2.0, broken_gap=1.6, cluster=0.8),
    dataclasses.replace(_BASE, name="binary-5", binary_median=5),
    dataclasses.replace(_BASE, name="gabor-long", gabor_along=0.9),
    dataclasses.replace(_BASE, name="gabor-narrow", gabor_across=0.4),
    dataclasses.replace(_FP13, name="local-tensor8", tensor_sigma=8.0),
    dataclasses.replace(_FP13, name="local-max100", max_minutiae=100),
    dataclasses.replace(_FP13, name="local-block48", period_block=48),
    dataclasses.replace(_FP13, name="local-block64", period_block=64),
    dataclasses.replace(_FP13, name="local-block64-max100", period_block=64, max_minutiae=100),
    dataclasses.replace(_FP13, name="local-hull41", seg_hull=41),
    dataclasses.replace(_FP13, name="local-block64-hull41", period_block=64, seg_hull=41),
    dataclasses.replace(_FP13, name="local-seg-keep0.6", seg_contrast_keep=0.6),
)}
#: fp/1.4 (the grid's ``local-block64-hull41``), the base of the ``dry-`` entries: the orientation field measured
#: on the normalised image blurred with σ ``orient_presmooth`` × the ridge period (dry prints' dotted ridges),
#: alone or with ``adaptive_orient``'s wider smoothing where the field stays incoherent.
_FP14 = GRID["local-block64-hull41"]
GRID.update({c.name: c for c in (
    dataclasses.replace(_FP14, name="dry-presmooth0.1", orient_presmooth=0.1),
    dataclasses.replace(_FP14, name="dry-presmooth0.13", orient_presmooth=0.13),
    dataclasses.replace(_FP14, name="dry-presmooth0.16", orient_presmooth=0.16),
    dataclasses.replace(_FP14, name="dry-presmooth0.1-adaptive0.5", orient_presmooth=0.1, adaptive_orient=0.5),
    dataclasses.replace(_FP14, name="dry-presmooth0.13-adaptive0.5", orient_presmooth=0.13, adaptive_orient=0.5),
    dataclasses.replace(_FP14, name="dry-presmooth0.16-adaptive0.5", orient_presmooth=0.16, adaptive_orient=0.5),
    dataclasses.replace(_FP14, name="dry-presmooth0.13-adaptive0.3", orient_presmooth=0.13, adaptive_orient=0.3),
)})

#: Every released extractor configuration by version name, the last one ``extract.SHIPPED`` (a test holds them
#: equal): what a clinic's stored templates may have been extracted with (:mod:`idverify.bench.fingerprint_versions`).
RELEASES: dict[str, ExtractorConfig] = {
    "fp/1.2": _BASE,
    "fp/1.3": dataclasses.replace(_FP13, name="fp/1.3"),
    "fp/1.4": dataclasses.replace(GRID["local-block64-hull41"], name="fp/1.4"),
    "fp/1.5": dataclasses.replace(GRID["dry-presmooth0.1-adaptive0.5"], name="fp/1.5"),
}

_DEFAULT_CACHE = Path(".cache") / "lodo_fingerprint.json"


@dataclass(frozen=True)
class SetRun:
    """One configuration on one set: its own pairs' scores and the side figures."""

    genuine: tuple[float, ...]
    impostor: tuple[float, ...]
    extract_ms_median: float
    fta: int
    iso_recall: float | None
    iso_precision: float | None


def hashed_sources() -> list[Path]:
    """Every module of the fingerprint package: a hand-kept list missed the compiled Gabor kernel (``_filter.py``),
    whose change would have left stale figures in the cache. Hashing a module that cannot change a score (search)
    only costs a re-evaluation."""
    return sorted((Path(__file__).resolve().parents[1] / "biometrics" / "fingerprint").glob("*.py"))


def code_hash() -> str:
    """Hash of the extractor and matcher sources (part of every cache key), without comment lines and the
    statement that says which configuration ships: neither changes what any configuration computes."""
    h = hashlib.sha256()
    for path in hashed_sources():
        h.update(path.name.encode("utf-8"))
        h.update(hashed_text(path.read_text(encoding="utf-8")).encode("utf-8"))
    return h.hexdigest()[:16]


def hashed_text(source: str) -> str:
    """``source`` without comment lines and without the ``SHIPPED = …`` statement, all its lines (fp/1.5's spans
    two: skipping only the first made every release look like a code change and emptied the cache)."""
    kept: list[str] = []
    depth = 0
    for ln in source.splitlines(keepends=True):
        if depth > 0 or ln.startswith("SHIPPED = "):
            depth += ln.count("(") - ln.count(")")
        elif not ln.lstrip().startswith("#"):
            kept.append(ln)
    return "".join(kept)


def cache_key(config: ExtractorConfig, dataset: str, code: str) -> str:
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k != "name"}
    return json.dumps({"config": fields, "set": dataset, "code": code}, sort_keys=True)


@dataclass(frozen=True)
class SetTemplates:
    """One configuration's templates of one set, in ``list_dataset`` order (None: extraction failed)."""

    images: list[FingerImage]
    templates: list[FingerprintTemplate | None]
    descriptors: list[Any]  # the matcher's descriptors (None: failed or fewer than two minutiae)
    extract_ms: list[float]  # CPU ms per image


def set_templates(config: ExtractorConfig, dataset: Path) -> SetTemplates:
    """Every image of ``dataset`` extracted with ``config`` at the set's resolution, without the quality gates of
    ``extract`` (a failure is None and scores 0), as ``idverify bench fingerprint --no-peer`` does."""
    import cv2

    from idverify.bench.fingerprint import DEFAULT_DPI, dataset_dpi, list_dataset, load_grey
    from idverify.biometrics.fingerprint.extract import analyse, template_of
    from idverify.biometrics.fingerprint.match import descriptors
    from idverify.errors import BiometricError

    cv2.setNumThreads(1)
    dpi = dataset_dpi(dataset) or DEFAULT_DPI
    out = SetTemplates(list_dataset(dataset), [], [], [])
    for im in out.images:
        img = load_grey(im.path)
        t0 = time.process_time()
        try:
            tpl = template_of(analyse(img, dpi, config=config), config)
            out.templates.append(tpl)
            out.descriptors.append(descriptors(tpl) if len(tpl) >= 2 else None)
        except BiometricError:
            out.templates.append(None)
            out.descriptors.append(None)
        out.extract_ms.append((time.process_time() - t0) * 1000)
    return out


def pair_score(enrolled: Any, probe: Any) -> float:
    """The matcher's score of two descriptors; 0 when either capture failed."""
    from idverify.biometrics.fingerprint.match import match_descriptors

    return 0.0 if enrolled is None or probe is None else match_descriptors(enrolled, probe)


def evaluate(config: ExtractorConfig, dataset: Path) -> SetRun:
    """``config`` on ``dataset``'s own pairs (``full`` protocol), as ``idverify bench fingerprint --no-peer``."""
    from idverify.bench.fingerprint import make_pairs, minutiae_vs_iso

    st = set_templates(config, dataset)
    genuine, impostor = make_pairs(st.images, "full")
    d = st.descriptors
    iso = minutiae_vs_iso(dataset, st.images, st.templates) if (dataset / "iso").is_dir() else {}
    return SetRun(tuple(round(pair_score(d[i], d[j]), 7) for i, j in genuine),
                  tuple(round(pair_score(d[i], d[j]), 7) for i, j in impostor),
                  round(float(np.median(st.extract_ms)), 1), sum(x is None for x in d),
                  iso.get("recall"), iso.get("precision"))


def shipped_entry(names: Sequence[str]) -> str | None:
    """The grid entry among ``names`` whose fields are ``extract.SHIPPED``'s (names aside), if any."""
    for n in names:
        if dataclasses.replace(GRID[n], name=SHIPPED.name) == SHIPPED:
            return n
    return None


def _evaluate_task(args: tuple[ExtractorConfig, Path]) -> SetRun:
    return evaluate(*args)  # looked up at call time (tests replace it)


def run_grid(configs: Sequence[ExtractorConfig], datasets: Sequence[Path], cache: Path,
             jobs: int = 1) -> dict[str, dict[str, SetRun]]:
    """``table[config name][set name]``, evaluating only what the cache does not hold (saved after each)."""
    from rich.console import Console
    from rich.progress import Progress

    code = code_hash()
    stored: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    todo = [(c, d) for c in configs for d in datasets if cache_key(c, d.name, code) not in stored]
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"LODO: {len(todo)} configuration × set runs", total=len(todo))
        pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
        try:
            runs = pool.map(_evaluate_task, todo) if pool is not None else map(_evaluate_task, todo)
            for (c, d), run in zip(todo, runs, strict=True):
                stored[cache_key(c, d.name, code)] = dataclasses.asdict(run)
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps(stored), encoding="utf-8")
                bar.advance(task)
        finally:
            if pool is not None:
                pool.shutdown()
    table: dict[str, dict[str, SetRun]] = {}
    for c in configs:
        table[c.name] = {}
        for d in datasets:
            raw = stored[cache_key(c, d.name, code)]
            table[c.name][d.name] = SetRun(tuple(raw["genuine"]), tuple(raw["impostor"]), raw["extract_ms_median"],
                                           raw["fta"], raw["iso_recall"], raw["iso_precision"])
    return table


def report(table: Mapping[str, Mapping[str, SetRun]], sets: Sequence[str], baseline: str,
           shipped: str | None = None) -> dict[str, Any]:
    """Per configuration × set figures, the LODO rows (against ``baseline``), the configuration chosen on all sets,
    and ``shipped``: the grid entry the extractor ships (None when it is not in the table)."""
    from idverify.biometrics.metrics import error_rates

    per: dict[str, Any] = {}
    for cfg, runs in table.items():
        per[cfg] = {}
        for s in sets:
            r = runs[s]
            e = error_rates(np.asarray(r.genuine), np.asarray(r.impostor))
            per[cfg][s] = {"eer": round(float(e.eer), 6), "fnmr_at_fmr1000": round(float(e.fmr1000), 6),
                           "extract_ms_median": r.extract_ms_median, "fta": r.fta,
                           "iso_recall": r.iso_recall, "iso_precision": r.iso_precision}
        eer, fnmr = pooled_rates([runs[s] for s in sets])
        per[cfg]["pooled"] = {"eer": round(eer, 6), "fnmr_at_fmr1000": round(fnmr, 6)}
    all_choice, all_eer = choose(table, sets)
    return {
        "configurations": per,
        "leave_one_out": [dataclasses.asdict(r) for r in leave_one_out(table, sets, baseline)],
        "chosen_on_all_sets": {"configuration": all_choice, "pooled_eer": round(all_eer, 6),
                               "note": "chosen on every set: its figures on them are seen, not unseen"},
        "baseline": baseline,
        "shipped": shipped,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = grid_parser("python -m idverify.bench.lodo_fingerprint", __doc__.split("\n")[0], GRID,
                    "FVC folders (at least two)")
    p.add_argument("--cache", type=Path, default=_DEFAULT_CACHE, help="JSON cache of the evaluations")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    args = p.parse_args(argv)
    names = grid_names(p, args.grid, GRID, len(args.datasets))
    table = run_grid([GRID[n] for n in names], args.datasets, args.cache, args.jobs)
    doc = report(table, [d.name for d in args.datasets], names[0], shipped_entry(names))
    if args.json:
        print(json.dumps(doc))
    else:
        print_report(doc, "extract.SHIPPED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
