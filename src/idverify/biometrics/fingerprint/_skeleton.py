"""Compiled (numba) loops over binary ridge images: thinning, crossing numbers and ridge tracing.

Owns only pixel-level skeleton work for the extractor; no thresholds about what a "good" minutia is (that is
``extract``'s job). Everything is ``cache=True`` so the compile cost is paid once per machine, not per process.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

# 8-neighbourhood in circular order, starting north, clockwise (row, column offsets)
_DY = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
_DX = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)

REASON_LENGTH = 0  # walked the full length
REASON_END = 1  # reached a ridge end
REASON_JUNCTION = 2  # reached a ridge junction
REASON_BORDER = 3  # left the image


def _zhang_suen_table() -> NDArray[np.bool_]:
    """Zhang–Suen's deletion test for both sub-iterations and all 256 neighbourhoods (bit k = neighbour k): the
    test reads nothing but the 8 neighbours, so the compiled loop looks the answer up instead of counting."""
    table = np.zeros((2, 256), dtype=np.bool_)
    for code in range(256):
        p = [(code >> k) & 1 for k in range(8)]
        a = sum(p[k] == 0 and p[(k + 1) % 8] == 1 for k in range(8))
        if not 2 <= sum(p) <= 6 or a != 1:
            continue
        table[0, code] = p[0] * p[2] * p[4] == 0 and p[2] * p[4] * p[6] == 0
        table[1, code] = p[0] * p[2] * p[6] == 0 and p[0] * p[4] * p[6] == 0
    return table


_DELETE = _zhang_suen_table()


@njit(cache=True)
def thin(img: NDArray[np.uint8]) -> NDArray[np.uint8]:  # pragma: no cover - compiled
    """Zhang–Suen thinning of a 0/1 image (border pixels are cleared first).

    A pixel's test in a sub-iteration reads only its 8 neighbours, so a pixel is tested again in a sub-iteration
    only when a neighbour was removed since it last took that sub-iteration's test: each sub-iteration has a work
    list, filled with the neighbours of the pixels removed. Same removals in the same sub-iterations as testing
    every pixel every time (the tests of one sub-iteration all read the image as it was before it, so their order
    is free), for about a tenth of the tests: after the first passes only the receding ridge borders change.
    """
    sk = img.copy()
    h, w = sk.shape
    sk[0, :] = 0
    sk[h - 1, :] = 0
    sk[:, 0] = 0
    sk[:, w - 1] = 0
    flat = sk.ravel()
    pos = np.flatnonzero(flat)
    n = pos.size
    off = _DY * w + _DX
    index = np.full(h * w, -1, dtype=np.int32)
    work = np.empty((2, n), dtype=np.int32)
    for i in range(n):
        index[pos[i]] = i
        work[0, i] = i
        work[1, i] = i
    count = np.full(2, n, dtype=np.int64)
    queued = np.ones((2, n), dtype=np.bool_)
    alive = np.ones(n, dtype=np.bool_)
    removed = np.empty(n, dtype=np.int32)
    changed = True
    while changed:
        changed = False
        for step in range(2):
            m = 0
            for t in range(count[step]):
                i = work[step, t]
                queued[step, i] = False
                if not alive[i]:
                    continue
                q = pos[i]
                code = 0
                for k in range(8):
                    code |= (flat[q + off[k]] != 0) << k
                if _DELETE[step, code]:
                    removed[m] = i
                    m += 1
            count[step] = 0
            for t in range(m):
                i = removed[t]
                q = pos[i]
                flat[q] = 0
                alive[i] = False
                changed = True
                for k in range(8):
                    j = index[q + off[k]]
                    if j < 0 or not alive[j]:
                        continue
                    for s in range(2):
                        if not queued[s, j]:
                            queued[s, j] = True
                            work[s, count[s]] = j
                            count[s] += 1
    return sk


@njit(cache=True)
def crossing_number(sk: NDArray[np.uint8], y: int, x: int) -> int:  # pragma: no cover - compiled
    c = 0
    for k in range(8):
        if sk[y + _DY[k], x + _DX[k]] == 0 and sk[y + _DY[(k + 1) % 8], x + _DX[(k + 1) % 8]] != 0:
            c += 1
    return c


@njit(cache=True)
def trace(sk: NDArray[np.uint8], y0: int, x0: int, y1: int, x1: int, max_len: int,
          skip_junctions: int) -> tuple[int, int, int, int]:  # pragma: no cover - compiled
    """Walk the skeleton from (y0, x0) through its neighbour (y1, x1) for at most ``max_len`` steps.

    Returns (y, x, steps, reason). Junctions met within the first ``skip_junctions`` steps are walked through
    (the pixels right next to a bifurcation often have crossing number 3 themselves).
    """
    h, w = sk.shape
    hy = np.empty(4, dtype=np.int64)
    hx = np.empty(4, dtype=np.int64)
    hy[:] = y0
    hx[:] = x0
    cy, cx = y1, x1
    steps = 1
    while True:
        if cy < 2 or cx < 2 or cy >= h - 2 or cx >= w - 2:
            return cy, cx, steps, REASON_BORDER
        cn = crossing_number(sk, cy, cx)
        if cn == 1:
            return cy, cx, steps, REASON_END
        if cn >= 3 and steps > skip_junctions:
            return cy, cx, steps, REASON_JUNCTION
        if steps >= max_len:
            return cy, cx, steps, REASON_LENGTH
        best = -1
        best_d = -1
        py, px = hy[0], hx[0]
        for k in range(8):
            ny = cy + _DY[k]
            nx = cx + _DX[k]
            if sk[ny, nx] == 0:
                continue
            seen = False
            for t in range(4):
                if hy[t] == ny and hx[t] == nx:
                    seen = True
            if seen:
                continue
            d = (ny - py) * (ny - py) + (nx - px) * (nx - px)
            if d > best_d:
                best_d = d
                best = k
        if best < 0:
            return cy, cx, steps, REASON_END
        for t in range(3, 0, -1):
            hy[t] = hy[t - 1]
            hx[t] = hx[t - 1]
        hy[0] = cy
        hx[0] = cx
        cy = cy + _DY[best]
        cx = cx + _DX[best]
        steps += 1


@njit(cache=True)
def find_candidates(sk: NDArray[np.uint8], inner: NDArray[np.uint8], max_len: int) -> tuple[
        NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover
    """Ridge endings (kind 1) and bifurcations (kind 2) inside ``inner``, each with up to three branch traces.

    Returns (pos[n, 2] as (y, x), kind[n], branches[n, 3, 2] end points (y, x), info[n, 3, 2] (steps, reason));
    unused branch slots have steps 0.
    """
    h, w = sk.shape
    cap = 4096
    pos = np.zeros((cap, 2), dtype=np.int64)
    kind = np.zeros(cap, dtype=np.int64)
    br = np.zeros((cap, 3, 2), dtype=np.int64)
    info = np.zeros((cap, 3, 2), dtype=np.int64)
    n = 0
    for y in range(2, h - 2):
        for x in range(2, w - 2):
            if sk[y, x] == 0 or inner[y, x] == 0:
                continue
            cn = crossing_number(sk, y, x)
            if cn not in {1, 3}:
                continue
            if n >= cap:
                break
            pos[n, 0] = y
            pos[n, 1] = x
            kind[n] = 1 if cn == 1 else 2
            b = 0
            for k in range(8):
                # the first skeleton pixel of every run of neighbours starts a branch
                if sk[y + _DY[k], x + _DX[k]] != 0 and sk[y + _DY[(k + 7) % 8], x + _DX[(k + 7) % 8]] == 0:
                    if b < 3:
                        ey, ex, st, rs = trace(sk, y, x, y + _DY[k], x + _DX[k], max_len, 0 if cn == 1 else 2)
                        br[n, b, 0] = ey
                        br[n, b, 1] = ex
                        info[n, b, 0] = st
                        info[n, b, 1] = rs
                    b += 1
            n += 1
    return pos[:n].copy(), kind[:n].copy(), br[:n].copy(), info[:n].copy()
