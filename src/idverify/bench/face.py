"""``idverify bench face``: face accuracy and speed on a face folder, next to plain face_recognition.

Owns: reading a face dataset (one sub-folder per identity; ``_``/``.`` folders skipped), extracting every image
with our engine and with the peer, forming the pairs, timing, and the ``--json`` result. Must not touch: thresholds
(calibration lives in :mod:`idverify.bench.calibrate_face`), the database.

Protocol: genuine = every same-identity pair; impostor = every cross-identity pair, or a seeded random sample
of at most ``max_impostors`` (reported in ``notes``). An image in which a system finds no face is a failure to
acquire for that system (``fta``); following the FVC rule its pairs stay in the set and score as non-matches (the
lowest possible score), so both systems are measured on exactly the same pairs. Our engine runs without the quality
gates (a benchmark measures matching; gate refusals are reported as ``quality_refusals``) and uses the largest face
when an image holds several; the peer is plain ``face_recognition`` as its README shows it:
``load_image_file`` → ``face_encodings`` (HOG detector, first face) → Euclidean ``face_distance`` (score =
−distance).

Timings: ``extract_ms_median`` is wall time per dataset image, file decoding included, on images of whatever size
the set holds. The live-capture cost is measured separately on camera-sized frames: every image is decoded and
letterboxed to 640×480 as the camera delivers it (outside the timing), then each system runs on the frame —
ours ``analyse`` (detection, quality measures, alignment, encoding), the peer ``face_encodings`` — and
``frame_ms_median`` is the median CPU time of this process per frame (``time.process_time``: every thread
counted, and other load on the machine inflates it less than wall time, ``frame_wall_ms_median``).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # numpy loads inside the commands so that `idverify --help` stays instant
    import numpy as np
    from numpy.typing import NDArray

    from idverify.biometrics.face.engine import FaceEngine

from idverify.console import emit_json, fail
from idverify.errors import IdverifyError, ValidationFailed

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2"}
OURS_FAIL_SCORE = -1.0  # cosine minimum
PEER_FAIL_SCORE = -10.0  # below any Euclidean distance between dlib encodings


@dataclass(frozen=True)
class FaceImage:
    identity: str
    path: Path


def list_dataset(dataset: Path) -> list[FaceImage]:
    """Every image of a face folder (one sub-folder per identity), in a stable order."""
    if not dataset.is_dir():
        raise ValidationFailed(f"dataset folder not found: {dataset}")
    images: list[FaceImage] = []
    for folder in sorted(p for p in dataset.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        images.extend(FaceImage(folder.name, f) for f in sorted(folder.iterdir())
                      if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if len({i.identity for i in images}) < 2:
        raise ValidationFailed(f"{dataset}: need at least two identity folders with images")
    return images


def make_pairs(labels: Sequence[str], *, max_impostors: int = 100_000,
               seed: int = 0) -> tuple[NDArray[np.int64], NDArray[np.int64], bool]:
    """(genuine pairs, impostor pairs, sampled?) as index arrays of shape (n, 2)."""
    import numpy as np

    lab = np.asarray(labels)
    genuine: list[tuple[int, int]] = []
    impostor: list[tuple[int, int]] = []
    for a, b in itertools.combinations(range(len(lab)), 2):
        (genuine if lab[a] == lab[b] else impostor).append((a, b))
    imp = np.asarray(impostor, dtype=np.int64).reshape(-1, 2)
    sampled = len(imp) > max_impostors
    if sampled:
        rng = np.random.default_rng(seed)
        imp = imp[np.sort(rng.choice(len(imp), size=max_impostors, replace=False))]
    return np.asarray(genuine, dtype=np.int64).reshape(-1, 2), imp, sampled


@dataclass
class Extraction:
    encodings: list[NDArray[np.float64] | None]
    extract_ms: list[float]
    quality_refusals: int = 0
    #: per image, the face quality measures (``idverify.biometrics.face.quality.measure``); None without a face
    measures: list[dict[str, float | None] | None] = field(default_factory=list)

    @property
    def fta(self) -> int:
        return sum(e is None for e in self.encodings)


def extract_ours(images: Sequence[FaceImage], tick: Callable[[], None] = lambda: None,
                 engine: FaceEngine | None = None) -> Extraction:
    """Our encoding of every image (largest face, quality measured but not enforced) with ``engine`` (default:
    the process's shipped one); a failure is None and scores as a non-match."""
    import numpy as np

    from idverify.biometrics.face.engine import get_face_engine
    from idverify.errors import BiometricError

    engine = engine or get_face_engine()
    out = Extraction([], [])
    for img in images:
        start = time.perf_counter()
        try:
            sample = engine.analyse(img.path, largest_only=True, enforce_quality=False)
            out.encodings.append(sample.encoding.astype(np.float64))
            out.measures.append(sample.quality.measures)
            out.quality_refusals += int(not sample.quality.ok)
        except BiometricError:
            out.encodings.append(None)
            out.measures.append(None)
        out.extract_ms.append((time.perf_counter() - start) * 1000.0)
        tick()
    return out


FRAME_SIZE = (640, 480)


@dataclass
class FrameTimes:
    cpu_ms: list[float]
    wall_ms: list[float]

    def summary(self) -> dict[str, Any]:
        import numpy as np

        return {"frame_size": f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]}", "frames": len(self.cpu_ms),
                "frame_ms_median": round(float(np.median(self.cpu_ms)), 3) if self.cpu_ms else None,
                "frame_wall_ms_median": round(float(np.median(self.wall_ms)), 3) if self.wall_ms else None}


def time_frames(images: Sequence[FaceImage], *, peer: bool,
                tick: Callable[[], None] = lambda: None) -> FrameTimes:
    """Per-frame cost of detection + quality + encoding on 640×480 camera-sized frames (see module docstring)."""
    from idverify.biometrics.face.image import letterbox, load_image
    from idverify.errors import BiometricError

    if peer:
        import face_recognition

        def run(frame: Any) -> None:
            face_recognition.face_encodings(frame)
    else:
        from idverify.biometrics.face.engine import get_face_engine

        engine = get_face_engine()

        def run(frame: Any) -> None:
            with contextlib.suppress(BiometricError):  # no face found: the detector's work still counts
                engine.analyse(frame, largest_only=True, enforce_quality=False)

    out = FrameTimes([], [])
    for img in images:
        try:
            frame = letterbox(load_image(img.path), *FRAME_SIZE)
        except BiometricError:
            tick()
            continue
        cpu, wall = time.process_time(), time.perf_counter()
        run(frame)
        out.cpu_ms.append((time.process_time() - cpu) * 1000.0)
        out.wall_ms.append((time.perf_counter() - wall) * 1000.0)
        tick()
    return out


def extract_peer(images: Sequence[FaceImage], tick: Callable[[], None] = lambda: None) -> Extraction:

    import face_recognition
    import numpy as np

    out = Extraction([], [])
    for img in images:
        start = time.perf_counter()
        encs = face_recognition.face_encodings(face_recognition.load_image_file(str(img.path)))
        out.encodings.append(np.asarray(encs[0], dtype=np.float64) if encs else None)
        out.extract_ms.append((time.perf_counter() - start) * 1000.0)
        tick()
    return out


def score_pairs(ext: Extraction, pairs: NDArray[np.int64], *, peer: bool) -> NDArray[np.float64]:
    """Similarity of every pair (ours: cosine; peer: −Euclidean distance); FTA pairs get the failure score."""
    import numpy as np

    fail = PEER_FAIL_SCORE if peer else OURS_FAIL_SCORE
    dim = next((e.size for e in ext.encodings if e is not None), 128)
    ok = np.array([e is not None for e in ext.encodings])
    mat = np.stack([e if e is not None else np.zeros(dim) for e in ext.encodings])
    a, b = mat[pairs[:, 0]], mat[pairs[:, 1]]
    scores = -np.linalg.norm(a - b, axis=1) if peer else np.einsum("ij,ij->i", a, b)
    both = ok[pairs[:, 0]] & ok[pairs[:, 1]]
    return np.where(both, scores, fail).astype(np.float64)


def match_rate(ext: Extraction, *, peer: bool, n: int = 20_000) -> float:
    """1:1 comparisons per second through each system's public comparison call (one pair per call)."""
    import numpy as np

    encs = [e for e in ext.encodings if e is not None]
    if len(encs) < 2:
        return 0.0
    m = len(encs)
    if peer:
        import face_recognition

        start = time.perf_counter()
        for i in range(n):
            face_recognition.face_distance([encs[i % m]], encs[(i * 7 + 1) % m])
        return n / (time.perf_counter() - start)
    from idverify.biometrics.face.engine import compare

    vecs = [e.astype(np.float32) for e in encs]
    start = time.perf_counter()
    for i in range(n):
        compare(vecs[i % m], vecs[(i * 7 + 1) % m])
    return n / (time.perf_counter() - start)


def run_face_bench(dataset: Path, *, max_impostors: int = 100_000, seed: int = 0, with_peer: bool = True,
                   progress: bool = True) -> Any:
    """Run ours and the peer on ``dataset``; returns a :class:`idverify.bench.report.BenchResult`."""
    from rich.progress import Progress

    from idverify.bench.report import BenchResult, SystemRun
    from idverify.biometrics.face.engine import ALGORITHM_VERSION

    images = list_dataset(dataset)
    labels = [i.identity for i in images]
    genuine, impostor, sampled = make_pairs(labels, max_impostors=max_impostors, seed=seed)
    if len(genuine) == 0:
        raise ValidationFailed(f"{dataset}: no identity has two images, so there are no genuine pairs")
    systems = [("idverify", False)] + ([("face_recognition (peer)", True)] if with_peer else [])
    runs: dict[str, Any] = {}
    with Progress(disable=not progress, transient=True) as bar:
        for name, is_peer in systems:
            task = bar.add_task(f"{name}: extracting, then timing 640×480 frames", total=2 * len(images))

            def tick(task_id: Any = task) -> None:
                bar.advance(task_id)

            ext = (extract_peer if is_peer else extract_ours)(images, tick)
            frames = time_frames(images, peer=is_peer, tick=tick)
            extra: dict[str, Any] = {"images": len(images), "identities": len(set(labels)), **frames.summary()}
            if not is_peer:
                extra.update(quality_refusals=ext.quality_refusals, algorithm_version=ALGORITHM_VERSION)
            runs[name] = SystemRun(
                name=name,
                genuine=score_pairs(ext, genuine, peer=is_peer),
                impostor=score_pairs(ext, impostor, peer=is_peer),
                fta=ext.fta,
                extract_ms=ext.extract_ms,
                match_per_s=match_rate(ext, peer=is_peer),
                extra=extra,
            )
    notes = ["FTA images stay in the pairs and score as non-matches (FVC rule); both systems see the same pairs",
             "scores: idverify = cosine similarity, peer = minus Euclidean distance (thresholds differ)"]
    if sampled:
        notes.append(f"impostor pairs: seeded random sample (seed {seed}) of {max_impostors} cross-identity pairs")
    return BenchResult(modality="face", dataset=str(dataset), ours=runs["idverify"],
                       peer=runs.get("face_recognition (peer)"), notes=notes)


def bench_face(
    dataset: Annotated[list[Path], typer.Option(
        "--dataset", help="Folder with one sub-folder per identity (repeat for several sets).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary as the last line.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write DET curves (PNG; the pooled ones).")] = None,
    max_impostors: Annotated[int, typer.Option(help="Cap on impostor pairs per set (seeded sample).")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the impostor sample.")] = 0,
    no_peer: Annotated[bool, typer.Option("--no-peer", help="Skip the face_recognition peer.")] = False,
) -> None:
    """Face accuracy (EER, FNMR at FMR 1 % / 0.1 % / 0) and speed on each DATASET and pooled (several
    ``--dataset``: per-set rows, then the sets' own pairs joined), with the face_recognition peer.

    Speed is given per dataset image (decoding included) and per 640×480 camera-sized frame (frame_ms_median, CPU).
    """
    from idverify.bench.report import publish_many

    try:
        results = [run_face_bench(d, max_impostors=max_impostors, seed=seed, with_peer=not no_peer, progress=True)
                   for d in dataset]
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    publish_many(results, plot=plot, as_json=as_json)


def template_model(datasets: Sequence[Path]) -> Any:
    """A :class:`~idverify.biometrics.face.search.TemplateModel` fitted on our encodings of face folders."""
    from idverify.biometrics.face.search import TemplateModel

    encodings: list[Any] = []
    labels: list[str] = []
    for dataset in datasets:
        images = list_dataset(dataset)
        ext = extract_ours(images)
        for img, enc in zip(images, ext.encodings, strict=True):
            if enc is not None:
                encodings.append(enc)
                labels.append(f"{dataset.name}/{img.identity}")
    import numpy as np

    return TemplateModel.fit(np.stack(encodings), labels)


def bench_search(
    modality: Annotated[str, typer.Option(help="face or fingerprint.")] = "face",
    gallery: Annotated[int, typer.Option(help="Number of synthetic templates in the gallery.")] = 100_000,
    queries: Annotated[int, typer.Option(help="Number of timed queries.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic templates.")] = 0,
    dataset: Annotated[list[Path] | None, typer.Option(
        "--dataset", help="Face only, repeatable: face folder(s) whose encodings give the synthetic templates "
                          "their covariance (without it: isotropic random vectors, no structure).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary as the last line.")] = False,
) -> None:
    """1:N search speed over N synthetic templates (``idverify bench search``); each modality runs its own search."""
    import functools

    from rich.console import Console

    from idverify.biometrics.face import search as face_search

    runner: Callable[[int, int, int], dict[str, Any]]
    if modality == "face":
        runner = face_search.run_search_bench
    elif modality == "fingerprint":
        from idverify.biometrics.fingerprint import search as finger_search

        runner = finger_search.run_search_bench
    else:
        fail(ValidationFailed("--modality must be face or fingerprint"), as_json=as_json)
    if gallery < 1 or queries < 1:
        fail(ValidationFailed("--gallery and --queries must be positive"), as_json=as_json)
    if dataset and modality != "face":
        fail(ValidationFailed("--dataset applies to --modality face only"), as_json=as_json)
    try:
        with Console(stderr=True).status(f"building {gallery:,} synthetic {modality} templates and searching…"):
            if dataset:
                runner = functools.partial(face_search.run_search_bench, model=template_model(dataset))
            out = runner(gallery, queries, seed)
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    summary = {"modality": modality, **out, "gallery": gallery, "queries": queries}
    if as_json:
        emit_json(summary)
    else:
        console = Console()
        console.print(f"{modality} 1:N over {gallery:,} templates: median {summary['median_ms']} ms, "
                      f"p95 {summary['p95_ms']} ms ({queries} queries)")
        if "top1_agrees_brute_force" in summary:
            console.print(f"top-1 equals brute force: {summary['top1_agrees_brute_force']:.0%}, recall@k vs brute "
                          f"force: {summary['recall_at_k_vs_brute_force']:.0%}, own identity first: "
                          f"{summary['top1_correct']:.0%}; synthetic cosines genuine "
                          f"{summary['genuine_cosine_mean']} / impostor {summary['impostor_cosine_mean']}")
        for note in summary.get("notes", []):
            console.print(f"note: {note}")
