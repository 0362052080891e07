"""Compiled (numba) Minutia Cylinder-Code: bit-cylinder construction and LSS-R global consolidation.

Own implementation after Cappelli, Ferrara & Maltoni, "Minutia Cylinder-Code: a new representation and matching
technique for fingerprint recognition", IEEE TPAMI 32(12), 2010 (parameters from the paper). Each minutia gets
a cylinder: NS×NS spatial cells of its neighbourhood (radius R, rotated into the minutia's own frame, hence
rotation and translation invariant) × ND direction sectors; a cell's bit says whether neighbouring minutiae
with that relative direction lie near it. Cells outside the template's (enlarged) convex hull are masked, so
partial overlap only compares cells both prints can see. Local similarity is a popcount distance; the global
score relaxes the best local pairs by their geometric compatibility (LSS-R) and averages the most efficient.

Owns only these numeric kernels; knows nothing of images or storage.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import NDArray

R = 70.0
NS = 16
ND = 6
SIGMA_S = 28.0 / 3.0
SIGMA_D = 2.0 * math.pi / 9.0
MU_PSI = 0.01
OMEGA = 50.0
MIN_VC = 0.75
MIN_M = 2
MIN_ME = 0.60
DELTA_THETA = math.pi / 2.0
WORDS = (NS * NS * ND + 63) // 64

W_R = 0.5
N_REL = 5
MU1, TAU1 = 5.0, -8.0 / 5.0
MU2, TAU2 = math.pi / 12.0, -30.0
MU3, TAU3 = math.pi / 12.0, -30.0
MIN_NP, MAX_NP = 4, 12
MU_P, TAU_P = 20.0, 2.0 / 5.0
MAX_NR = 1000  # cap on pairs relaxed; the paper relaxes min(nA, nB) (a cap of 24 measured worse)

_TWO_PI = 2.0 * math.pi


@intrinsic
def _popcount(typingctx, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compile-time hook
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return sig, codegen


@njit(cache=True, inline="always")
def _dphi(a: float, b: float) -> float:  # pragma: no cover - compiled
    d = a - b
    return d - _TWO_PI * math.floor((d + math.pi) / _TWO_PI)


@njit(cache=True)
def cell_count_in_disk() -> int:  # pragma: no cover - compiled
    ds = 2.0 * R / NS
    c = 0
    for i in range(NS):
        for j in range(NS):
            di = (i - (NS - 1) / 2.0) * ds
            dj = (j - (NS - 1) / 2.0) * ds
            if di * di + dj * dj <= R * R:
                c += 1
    return c


@njit(cache=True)
def cylinders(  # noqa: PLR0915 - one compiled loop nest
        x: NDArray[np.float64], y: NDArray[np.float64], th: NDArray[np.float64],
              hull_n: NDArray[np.float64], hull_c: NDArray[np.float64]) -> tuple[
        NDArray[np.uint64], NDArray[np.uint64], NDArray[np.bool_]]:  # pragma: no cover - compiled
    """Bit cylinders, cell-validity masks and cylinder validity for minutiae (x, y up, th counter-clockwise)."""
    n = x.size
    bits = np.zeros((n, WORDS), dtype=np.uint64)
    mask = np.zeros((n, WORDS), dtype=np.uint64)
    valid = np.zeros(n, dtype=np.bool_)
    ds = 2.0 * R / NS
    dd = _TWO_PI / ND
    k0 = cell_count_in_disk()
    nb_r = R + 3.0 * SIGMA_S
    gs_norm = 1.0 / (SIGMA_S * math.sqrt(_TWO_PI))
    inv_sd = 1.0 / (SIGMA_D * math.sqrt(2.0))
    nbr = np.empty(n, dtype=np.int64)
    gd = np.empty((n, ND), dtype=np.float64)
    contrib = np.empty(ND, dtype=np.float64)
    for m in range(n):
        cnt = 0
        for t in range(n):
            if t == m:
                continue
            ddx = x[t] - x[m]
            ddy = y[t] - y[m]
            if ddx * ddx + ddy * ddy <= nb_r * nb_r:
                nbr[cnt] = t
                dth = _dphi(th[m], th[t])
                for k in range(ND):
                    alpha = -math.pi + (k + 0.5) * dd
                    diff = _dphi(alpha, dth)
                    gd[cnt, k] = 0.5 * (math.erf((diff + dd / 2) * inv_sd) - math.erf((diff - dd / 2) * inv_sd))
                cnt += 1
        if cnt < MIN_M:
            continue
        c = math.cos(th[m])
        s = math.sin(th[m])
        nvalid = 0
        for i in range(NS):
            di = (i - (NS - 1) / 2.0) * ds
            for j in range(NS):
                dj = (j - (NS - 1) / 2.0) * ds
                if di * di + dj * dj > R * R:
                    continue
                px = x[m] + c * di - s * dj
                py = y[m] + s * di + c * dj
                inside = True
                for e in range(hull_c.size):
                    if hull_n[e, 0] * px + hull_n[e, 1] * py - hull_c[e] > OMEGA:
                        inside = False
                        break
                if not inside:
                    continue
                nvalid += 1
                for k in range(ND):
                    contrib[k] = 0.0
                for q in range(cnt):
                    t = nbr[q]
                    ex = x[t] - px
                    ey = y[t] - py
                    d2 = ex * ex + ey * ey
                    if d2 > 9.0 * SIGMA_S * SIGMA_S:
                        continue
                    g = gs_norm * math.exp(-d2 / (2.0 * SIGMA_S * SIGMA_S))
                    for k in range(ND):
                        contrib[k] += g * gd[q, k]
                base = (i * NS + j) * ND
                for k in range(ND):
                    b = base + k
                    w = b >> 6
                    bit = np.uint64(1) << np.uint64(b & 63)
                    mask[m, w] |= bit
                    if contrib[k] >= MU_PSI:
                        bits[m, w] |= bit
        if nvalid >= MIN_VC * k0:
            valid[m] = True
    return bits, mask, valid


@njit(cache=True, inline="always")
def _z(v: float, mu: float, tau: float) -> float:  # pragma: no cover - compiled
    return 1.0 / (1.0 + math.exp(-tau * (v - mu)))


@njit(cache=True)
def local_similarities(ab: NDArray[np.uint64], am: NDArray[np.uint64], ath: NDArray[np.float64],
                       bb: NDArray[np.uint64], bm: NDArray[np.uint64], bth: NDArray[np.float64],
                       min_cells: int) -> NDArray[np.float64]:  # pragma: no cover - compiled
    na = ath.size
    nb = bth.size
    out = np.zeros((na, nb), dtype=np.float64)
    for i in range(na):
        for j in range(nb):
            if abs(_dphi(ath[i], bth[j])) > DELTA_THETA:
                continue
            common = 0
            pa = 0
            pb = 0
            px = 0
            for w in range(WORDS):
                m = am[i, w] & bm[j, w]
                common += _popcount(m)  # type: ignore[call-arg]
                ca = ab[i, w] & m
                cb = bb[j, w] & m
                pa += _popcount(ca)
                pb += _popcount(cb)
                px += _popcount(ca ^ cb)
            if common < min_cells or pa + pb == 0:
                continue
            out[i, j] = 1.0 - math.sqrt(px) / (math.sqrt(pa) + math.sqrt(pb))
    return out


@njit(cache=True)
def geometry(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[
        NDArray[np.float64], NDArray[np.float64]]:  # pragma: no cover - compiled
    """Pairwise distances and link directions (from i to j) of one template, precomputed once per template."""
    n = x.size
    dist = np.zeros((n, n), dtype=np.float64)
    link = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(n):
            if i != j:
                dx = x[j] - x[i]
                dy = y[j] - y[i]
                dist[i, j] = math.sqrt(dx * dx + dy * dy)
                link[i, j] = math.atan2(dy, dx)
    return dist, link


@njit(cache=True)
def score(  # noqa: PLR0915 - one compiled loop nest
        ab: NDArray[np.uint64], am: NDArray[np.uint64], ath: NDArray[np.float64], adist: NDArray[np.float64],
        alink: NDArray[np.float64], bb: NDArray[np.uint64], bm: NDArray[np.uint64], bth: NDArray[np.float64],
        bdist: NDArray[np.float64], blink: NDArray[np.float64], n_a: int, n_b: int,
        min_cells: int) -> float:  # pragma: no cover - compiled
    """Local similarities, then LSS-R: a global score in [0, 1].

    ``n_a``/``n_b`` are the full minutia counts (they set how many pairs count). The initial pairs are taken
    greedily by local similarity, each minutia at most once.
    """
    na = ath.size
    nb = bth.size
    if na < 2 or nb < 2:
        return 0.0
    sim = local_similarities(ab, am, ath, bb, bm, bth, min_cells)
    flat = sim.ravel()
    n_r = min(na, nb, MAX_NR)
    nz = np.nonzero(flat > 0.0)[0]
    vals = flat[nz]
    keep = 10 * n_r
    if vals.size > keep:  # only the best few can be chosen: avoid sorting all of them
        cut = -np.partition(-vals, keep - 1)[keep - 1]
        sel = vals >= cut
        nz = nz[sel]
        vals = vals[sel]
    order = nz[np.argsort(-vals)]
    pi = np.empty(n_r, dtype=np.int64)
    pj = np.empty(n_r, dtype=np.int64)
    lam0 = np.empty(n_r, dtype=np.float64)
    used_a = np.zeros(na, dtype=np.bool_)
    used_b = np.zeros(nb, dtype=np.bool_)
    k = 0
    for o in order:
        if k >= n_r:
            break
        i = o // nb
        j = o % nb
        if used_a[i] or used_b[j]:
            continue
        used_a[i] = True
        used_b[j] = True
        pi[k] = i
        pj[k] = j
        lam0[k] = flat[o]
        k += 1
    n_r = k
    if n_r < 2:
        return 0.0
    rho = np.zeros((n_r, n_r), dtype=np.float64)
    for p in range(n_r):
        a1, b1 = pi[p], pj[p]
        for q in range(p + 1, n_r):
            a2, b2 = pi[q], pj[q]
            r = _z(abs(adist[a1, a2] - bdist[b1, b2]), MU1, TAU1)
            if r < 1e-4:
                continue
            r *= _z(abs(_dphi(_dphi(ath[a1], ath[a2]), _dphi(bth[b1], bth[b2]))), MU2, TAU2)
            if r < 1e-4:
                continue
            r *= _z(abs(_dphi(_dphi(ath[a1], alink[a1, a2]), _dphi(bth[b1], blink[b1, b2]))), MU3, TAU3)
            rho[p, q] = r
            rho[q, p] = r
    lam = lam0[:n_r].copy()
    nxt = np.empty(n_r, dtype=np.float64)
    for _ in range(N_REL):
        for p in range(n_r):
            acc = 0.0
            for q in range(n_r):
                acc += rho[p, q] * lam[q]
            nxt[p] = W_R * lam[p] + (1.0 - W_R) * acc / (n_r - 1)
        lam[:] = nxt
    eff = lam / lam0[:n_r]
    n_p = MIN_NP + int(_z(min(n_a, n_b), MU_P, TAU_P) * (MAX_NP - MIN_NP) + 0.5)
    n_p = min(n_p, n_r)
    best = np.argsort(-eff)[:n_p]
    total = 0.0
    for p in best:
        total += lam[p]
    return total / n_p
