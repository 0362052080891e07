"""Compiled (numba) per-pixel filtering with a kernel chosen per pixel: the Gabor enhancement's inner loop.

Owns only the arithmetic; which kernel a pixel takes (period and orientation bins) is ``extract``'s job.
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


def correlate_by_label(src: NDArray[np.float32], pad: int, label: NDArray[np.int64],
                       kernels: NDArray[np.float32], offset: NDArray[np.int64],
                       half: NDArray[np.int64]) -> NDArray[np.float32]:
    """Each pixel's correlation with the kernel its ``label`` names (:func:`_correlate_by_label`, compiled)."""
    out: NDArray[np.float32] = kernel()(src, pad, label, kernels, offset, half)
    return out


def kernel() -> Callable[..., Any]:
    """The compiled kernel (numba imported and the kernel compiled, or loaded from the cache, on first call)."""
    with _lock:
        fn = _compiled.get("correlate")
        if fn is None:
            from numba import njit

            try:
                fn = njit(cache=True, fastmath=True)(_correlate_by_label)
            except RuntimeError:  # no writable cache location: compile for this process only
                fn = njit(fastmath=True)(_correlate_by_label)
            _compiled["correlate"] = fn
        return fn


def warm() -> None:
    """Compile (or load) the kernel now, with the argument types ``extract`` passes, on a one-pixel image."""
    correlate_by_label(np.zeros((3, 3), np.float32), 1, np.zeros((1, 1), np.int64), np.ones(9, np.float32),
                       np.zeros(1, np.int64), np.ones(1, np.int64))


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
