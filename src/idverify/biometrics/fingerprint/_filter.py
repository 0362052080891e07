"""Compiled (numba) per-pixel filtering with a kernel chosen per pixel: the Gabor enhancement's inner loop.

Owns only the arithmetic: the bins a pixel falls in (by the widths ``extract`` passes) and the correlation; which
kernels those bins stand for is ``extract``'s job.
Filtering the whole print with every kernel of the bank and keeping each pixel's own response costs one
full-image correlation per kernel, most of it thrown away; correlating each foreground pixel with its own kernel
does only the work that is kept (about 3× less CPU time than the per-patch ``cv2.filter2D`` it replaced, on one
core).

Compiled on first use, not at import (``idverify --help`` and the daemon's start do not pay numba's import), and
cached on disk so the compile (about 6 s on this machine) is paid once per machine; later processes load it in
well under a second. Where no cache location is writable (numba refuses to cache then), it compiles uncached
instead of failing. The biometric workers compile it when they start (:mod:`idverify.biometrics.workers`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_compiled: dict[str, Callable[..., Any]] = {}
_lock = threading.Lock()


def bin_labels(mask: NDArray[np.uint8], orient: NDArray[np.float32], local: NDArray[np.float32] | None,
               period_bin: float, orient_bins: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each foreground pixel's kernel label, ``group * orient_bins + orientation bin``, -1 elsewhere; and the
    period bins in use, ascending (group ``g`` is the ``g``-th of them; one group of the median period when
    ``local`` is None). :func:`_bin_labels`, compiled."""
    none = np.zeros((0, 0), np.float32)
    label, kinds = kernel("labels")(mask, orient, none if local is None else local, np.float32(period_bin),
                                    orient_bins)
    return label, kinds


def correlate_by_label(src: NDArray[np.float32], pad: int, label: NDArray[np.int64],
                       kernels: NDArray[np.float32], offset: NDArray[np.int64],
                       half: NDArray[np.int64]) -> NDArray[np.float32]:
    """Each pixel's correlation with the kernel its ``label`` names (:func:`_correlate_by_label`, compiled)."""
    out: NDArray[np.float32] = kernel()(src, pad, label, kernels, offset, half)
    return out


def kernel(name: str = "correlate") -> Callable[..., Any]:
    """A compiled kernel (numba imported and the kernel compiled, or loaded from the cache, on first call)."""
    with _lock:
        fn = _compiled.get(name)
        if fn is None:
            from numba import njit

            py, fastmath = (_correlate_by_label, True) if name == "correlate" else (_bin_labels, False)
            try:
                fn = njit(cache=True, fastmath=fastmath)(py)
            except RuntimeError:  # no writable cache location: compile for this process only
                fn = njit(fastmath=fastmath)(py)
            _compiled[name] = fn
        return fn


def warm() -> None:
    """Compile (or load) the kernels now, with the argument types ``extract`` passes, on a one-pixel image."""
    correlate_by_label(np.zeros((3, 3), np.float32), 1, np.zeros((1, 1), np.int64), np.ones(9, np.float32),
                       np.zeros(1, np.int64), np.ones(1, np.int64))
    one = np.ones((1, 1), np.float32)
    bin_labels(np.ones((1, 1), np.uint8), one, one, 0.5, 16)
    bin_labels(np.ones((1, 1), np.uint8), one, None, 0.5, 16)


def _bin_labels(mask: NDArray[np.uint8], orient: NDArray[np.float32], local: NDArray[np.float32],
                period_bin: np.float32, orient_bins: int) -> tuple[
        NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover - compiled
    """:func:`bin_labels` in one pass over the image (``local`` empty: no period field), in float32 as numpy did it
    before (orientation bin ``rint(((θ + π/2) mod π) / (π / orient_bins)) mod orient_bins``, period bin
    ``rint(local / period_bin)``; no fastmath: the bins must not move), instead of numpy's gathers and scatters of
    every foreground pixel (several ms per print)."""
    h, w = mask.shape
    label = np.full((h, w), -1, dtype=np.int64)
    pbin = np.zeros((h, w), dtype=np.int64)
    has_local = local.shape[0] > 0
    quarter = np.float32(np.pi / 2)
    half_turn = np.float32(np.pi)
    width = np.float32(np.pi / orient_bins)
    top = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] == 0:
                continue
            g = np.float32(np.fmod(orient[y, x] + quarter, half_turn))
            label[y, x] = int(np.rint(np.float32(g / width))) % orient_bins
            if has_local:
                b = int(np.rint(np.float32(local[y, x] / period_bin)))
                pbin[y, x] = b
                top = max(top, b)
    count = np.zeros(top + 1, dtype=np.int64)
    for y in range(h):
        for x in range(w):
            if label[y, x] >= 0:
                count[pbin[y, x]] += 1
    group = np.cumsum(count > 0) - 1
    for y in range(h):
        for x in range(w):
            if label[y, x] >= 0:
                label[y, x] += group[pbin[y, x]] * orient_bins
    return label, np.flatnonzero(count)


def _correlate_by_label(src: NDArray[np.float32], pad: int, label: NDArray[np.int64],
                       kernels: NDArray[np.float32], offset: NDArray[np.int64],
                       half: NDArray[np.int64]) -> NDArray[np.float32]:  # pragma: no cover - compiled
    """Each pixel's correlation with the kernel its ``label`` names; 0 where the label is negative.

    ``src`` is the image padded by ``pad`` px on every side (so every kernel fits; the caller chooses the border
    rule), ``label`` has the unpadded shape. Kernel ``k`` is square, ``2 * half[k] + 1`` wide, stored row-major
    in ``kernels`` from ``offset[k]``. Same values as ``cv2.filter2D`` of the padded image with that kernel, up
    to float32 rounding (the summation order differs). Four neighbours in a row with the same kernel are summed
    together (each coefficient loaded once for four pixels); unsigned flat indices let LLVM vectorise the loops.
    """
    h, w = label.shape
    sw = src.shape[1]
    flat = src.ravel()
    out = np.zeros((h, w), dtype=np.float32)
    one, two, three = np.uint64(1), np.uint64(2), np.uint64(3)
    for y in range(h):
        x = 0
        while x < w:
            k = label[y, x]
            if k < 0:
                x += 1
                continue
            n = 2 * half[k] + 1
            base = np.uint64(offset[k])
            s0 = np.uint64((y + pad - half[k]) * sw + x + pad - half[k])
            step = 4 if x + 4 <= w and label[y, x + 1] == k and label[y, x + 2] == k and label[y, x + 3] == k else 1
            a0 = a1 = a2 = a3 = np.float32(0.0)
            for i in range(n):
                kb = base + np.uint64(i * n)
                sb = s0 + np.uint64(i * sw)
                if step == 4:
                    for j in range(n):
                        c = kernels[kb + np.uint64(j)]
                        q = sb + np.uint64(j)
                        a0 += c * flat[q]
                        a1 += c * flat[q + one]
                        a2 += c * flat[q + two]
                        a3 += c * flat[q + three]
                else:
                    for j in range(n):
                        a0 += kernels[kb + np.uint64(j)] * flat[sb + np.uint64(j)]
            out[y, x] = a0
            if step == 4:
                out[y, x + 1] = a1
                out[y, x + 2] = a2
                out[y, x + 3] = a3
            x += step
    return out
