"""1:N face search over an in-memory gallery (duplicate-enrolment checks, identification).

Owns: the gallery matrix, its updates on enrol/delete, top-k search and the synthetic search benchmark.
Must not touch: the database (the workflow loads templates into a gallery at start and calls add/remove as it
commits enrolments and deletions), images, decisions.

Design: templates are unit vectors, so cosine similarity against every enrolled template is one matrix–vector
product. Small galleries (< :data:`COARSE_MIN_ROWS`) use BLAS GEMV over the contiguous ``float32`` matrix directly.
Large ones are memory-bound (1,000,000 × 128 × 4 B = 512 MB read per query), so they keep a second, ``int8`` copy
(fixed scale: components of a unit 128-d vector are far below 0.5, 127/0.5 per unit; a quarter of the bytes) that
a parallel numba kernel scans to pick :data:`RERANK` candidates (``argpartition``, no full sort); the candidates are
then re-ranked exactly in float64 from the float32 rows. Quantisation moves a cosine by about 0.002, far less than
the gap between a genuine and the best impostor, and the exact re-rank restores the true order among candidates.
Rows are kept dense: removing a template moves the last row into the hole, so a search never touches deleted
slots. All operations hold one re-entrant lock, so a search never sees a half-applied update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.face.template import DIM, FaceTemplate
from idverify.errors import ValidationFailed

#: Galleries at least this large use the int8 coarse scan (numba) before the exact re-rank.
COARSE_MIN_ROWS = 50_000
#: Candidates re-ranked exactly after the coarse scan (at least 8 × k).
RERANK = 64
INT8_SCALE = 254.0  # 127 / 0.5
_kernel_lock = threading.Lock()  # numba's default threading layer must not be entered by two threads at once
_kernels: dict[str, Any] = {}


def _quantise(vectors: NDArray[np.float32]) -> NDArray[np.int8]:
    return np.asarray(np.clip(np.rint(vectors * INT8_SCALE), -127, 127), dtype=np.int8)


def _int8_kernel() -> Any:
    """The compiled coarse-scan kernel (numba is imported and the kernel compiled on first large search)."""
    if "scan" not in _kernels:
        from numba import njit, prange

        @njit(parallel=True, fastmath=True, cache=True)
        def scan(mat: Any, q: Any, out: Any) -> None:  # pragma: no cover - compiled
            n, d = mat.shape
            for i in prange(n):
                acc = np.int32(0)
                for j in range(d):
                    acc += np.int32(mat[i, j]) * np.int32(q[j])
                out[i] = acc

        _kernels["scan"] = scan
    return _kernels["scan"]


@dataclass(frozen=True)
class SearchHit:
    template_id: str
    score: float  # cosine similarity, higher = more similar


class FaceGallery:
    """Enrolled face templates of one clinic, searchable 1:N."""

    def __init__(self, dim: int = DIM, capacity: int = 1024) -> None:
        self.dim = dim
        self._matrix = np.zeros((max(1, capacity), dim), dtype=np.float32)
        self._coarse: NDArray[np.int8] | None = None  # int8 copy, built lazily for large galleries
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._rows

    def _as_vector(self, item: FaceTemplate | NDArray[np.floating]) -> NDArray[np.float32]:
        vec = item.vector if isinstance(item, FaceTemplate) else np.asarray(item, dtype=np.float32).ravel()
        if vec.size != self.dim or not np.all(np.isfinite(vec)):
            raise ValidationFailed(f"face template must be {self.dim} finite numbers")
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            raise ValidationFailed("face template is all zeros")
        return (vec / norm).astype(np.float32)

    def add(self, template_id: str, template: FaceTemplate | NDArray[np.floating]) -> None:
        """Insert or replace one template."""
        vec = self._as_vector(template)
        with self._lock:
            row = self._rows.get(template_id)
            if row is None:
                row = len(self._ids)
                if row == self._matrix.shape[0]:
                    grown = np.zeros((self._matrix.shape[0] * 2, self.dim), dtype=np.float32)
                    grown[:row] = self._matrix[:row]
                    self._matrix = grown
                    self._coarse = None  # rebuilt on the next large search
                self._ids.append(template_id)
                self._rows[template_id] = row
            self._matrix[row] = vec
            if self._coarse is not None:
                self._coarse[row] = _quantise(vec)

    def add_many(self, items: Iterable[tuple[str, FaceTemplate | NDArray[np.floating]]]) -> None:
        with self._lock:
            for template_id, template in items:
                self.add(template_id, template)

    def remove(self, template_id: str) -> bool:
        """Delete one template; returns False when it was not in the gallery."""
        with self._lock:
            row = self._rows.pop(template_id, None)
            if row is None:
                return False
            last = len(self._ids) - 1
            if row != last:
                moved = self._ids[last]
                self._matrix[row] = self._matrix[last]
                if self._coarse is not None:
                    self._coarse[row] = self._coarse[last]
                self._ids[row] = moved
                self._rows[moved] = row
            self._ids.pop()
            self._matrix[last] = 0.0
            return True

    def search(self, query: FaceTemplate | NDArray[np.floating], k: int = 5,
               min_score: float | None = None) -> list[SearchHit]:
        """The ``k`` most similar templates, best first (optionally only those scoring ``>= min_score``)."""
        if k < 1:
            raise ValidationFailed("k must be at least 1")
        q = self._as_vector(query)
        with self._lock:
            n = len(self._ids)
            if n == 0:
                return []
            matrix = self._matrix[:n]
            kk = min(k, n)
            if n >= COARSE_MIN_ROWS:
                top = self._coarse_candidates(q, n, max(RERANK, 8 * kk))
            else:
                scores = matrix @ q
                top = np.argpartition(scores, n - kk)[n - kk:] if kk < n else np.arange(n)
            # exact re-rank of the few candidates in float64
            exact = matrix[top].astype(np.float64) @ q.astype(np.float64)
            order = np.argsort(-exact, kind="stable")[:kk]
            hits = [SearchHit(self._ids[int(top[i])], float(exact[i])) for i in order]
        if min_score is not None:
            hits = [h for h in hits if h.score >= min_score]
        return hits


    def _coarse_candidates(self, q: NDArray[np.float32], n: int, count: int) -> NDArray[np.int64]:
        if self._coarse is None or self._coarse.shape[0] != self._matrix.shape[0]:
            self._coarse = _quantise(self._matrix)
        scores = np.empty(n, dtype=np.int32)
        kernel = _int8_kernel()
        with _kernel_lock:
            kernel(self._coarse[:n], _quantise(q), scores)
        count = min(count, n)
        return np.argpartition(scores, n - count)[n - count:].astype(np.int64)


_galleries: dict[str, FaceGallery] = {}
_galleries_lock = threading.Lock()


def clinic_gallery(clinic_id: str) -> FaceGallery:
    """The process-wide gallery of one clinic (created empty on first use; the workflow fills it)."""
    with _galleries_lock:
        if clinic_id not in _galleries:
            _galleries[clinic_id] = FaceGallery()
        return _galleries[clinic_id]


def synthetic_templates(n: int, seed: int = 0, dim: int = DIM) -> NDArray[np.float32]:
    """``n`` random unit vectors (benchmarks only; real templates are not isotropic, search cost is the same)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    block = 100_000
    for start in range(0, n, block):
        part = rng.standard_normal((min(block, n - start), dim), dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        out[start:start + part.shape[0]] = part
    return out


def run_search_bench(gallery: int, queries: int, seed: int = 0, k: int = 5) -> dict[str, Any]:
    """Time ``queries`` top-``k`` searches over ``gallery`` synthetic templates.

    Each query is a gallery template plus noise (cosine ≈ 0.95 to its source, like a new capture of an enrolled
    person); ``top1_correct`` checks the search finds the source. Returns ``{"median_ms", "p95_ms", "queries",
    "gallery", "top1_correct"}``.
    """
    if gallery < 1 or queries < 1:
        raise ValidationFailed("gallery and queries must be positive")
    g = FaceGallery(capacity=gallery)
    data = synthetic_templates(gallery, seed)
    with g._lock:  # bulk load without per-row overhead
        g._matrix[:gallery] = data
        g._ids = [f"t{i}" for i in range(gallery)]
        g._rows = {tid: i for i, tid in enumerate(g._ids)}
    g.search(data[0], k=k)  # warm-up: builds the int8 copy and compiles the kernel outside the timing
    rng = np.random.default_rng(seed + 1)
    sources = rng.integers(0, gallery, size=queries)
    noise = rng.standard_normal((queries, DIM)).astype(np.float32) * 0.025
    times: list[float] = []
    correct = 0
    for src, nz in zip(sources, noise, strict=True):
        q = data[src] + nz
        start = time.perf_counter()
        hits = g.search(q, k=k)
        times.append((time.perf_counter() - start) * 1000.0)
        correct += int(hits[0].template_id == f"t{int(src)}")
    return {
        "gallery": gallery,
        "queries": queries,
        "median_ms": round(float(np.median(times)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "top1_correct": correct / queries,
    }
