"""1:1 fingerprint comparison: Minutia Cylinder-Code local descriptors with LSS-R global consolidation.

Owns the score. ``match(a, b)`` returns a similarity in [0, 1]: the mean relaxed local similarity of the
most consistent minutia pairs. Different fingers score about 0.01–0.04 on the dev sets, the same finger
typically 0.05–0.6, and a template against itself about 1. It is nearly symmetric and invariant to
translation and to rotation by construction, within ±90° of relative rotation: minutiae whose directions
differ by more are never paired (MCC's δθ), because no placement on a sensor turns a finger that far and
allowing it only adds false matches. Operating thresholds are calibrated on public data and kept in
``models/thresholds_fingerprint.json``; never hard-code a threshold elsewhere.

Descriptors (cylinders) are derived from the minutiae and cached on the template object on first use, so
gallery templates pay for them once.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import _mcc
from idverify.biometrics.fingerprint.template import FingerprintTemplate

_MIN_CELLS = int(_mcc.MIN_ME * _mcc.cell_count_in_disk() * _mcc.ND)


@dataclass(frozen=True)
class Descriptors:
    """Valid cylinders of one template and the positions they belong to (y up)."""

    bits: NDArray[np.uint64]
    mask: NDArray[np.uint64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    theta: NDArray[np.float64]
    dist: NDArray[np.float64]  # pairwise distances between the valid cylinders' minutiae
    link: NDArray[np.float64]  # direction of the segment from minutia i to j
    n_minutiae: int


def descriptors(template: FingerprintTemplate) -> Descriptors:
    cached = template._descriptor_cache
    if isinstance(cached, Descriptors):
        return cached
    x = template.xy[:, 0].astype(np.float64)
    y = -template.xy[:, 1].astype(np.float64)
    th = template.angle.astype(np.float64)
    hull_n, hull_c = _hull(x, y)
    if hull_c.size == 0:
        d = Descriptors(np.zeros((0, _mcc.WORDS), np.uint64), np.zeros((0, _mcc.WORDS), np.uint64),
                        np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0)), len(template))
    else:
        bits, mask, valid = _mcc.cylinders(x, y, th, hull_n, hull_c)
        vx, vy = np.ascontiguousarray(x[valid]), np.ascontiguousarray(y[valid])
        dist, link = _mcc.geometry(vx, vy)
        d = Descriptors(np.ascontiguousarray(bits[valid]), np.ascontiguousarray(mask[valid]), vx, vy,
                        np.ascontiguousarray(th[valid]), dist, link, len(template))
    template._descriptor_cache = d
    return d


def match(a: FingerprintTemplate, b: FingerprintTemplate) -> float:
    """Similarity of two templates in [0, 1]; higher = more likely the same finger (see module docstring)."""
    return match_descriptors(descriptors(a), descriptors(b))


def match_descriptors(da: Descriptors, db: Descriptors) -> float:
    if da.theta.size < 2 or db.theta.size < 2:
        return 0.0
    return float(_mcc.score(da.bits, da.mask, da.theta, da.dist, da.link, db.bits, db.mask, db.theta, db.dist,
                            db.link, da.n_minutiae, db.n_minutiae, _MIN_CELLS))


def _hull(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Outward unit normals and offsets of the minutiae's convex hull edges (n·p - c > 0 means outside)."""
    if x.size < 3:
        return np.zeros((0, 2)), np.zeros(0)
    pts = np.stack([x, y], axis=1).astype(np.float32)
    hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float64)
    if hull.shape[0] < 3:
        return np.zeros((0, 2)), np.zeros(0)
    centre = hull.mean(axis=0)
    nxt = np.roll(hull, -1, axis=0)
    edge = nxt - hull
    length = np.hypot(edge[:, 0], edge[:, 1])
    ok = length > 1e-6
    hull, edge, length = hull[ok], edge[ok], length[ok]
    normal = np.stack([edge[:, 1], -edge[:, 0]], axis=1) / length[:, None]
    flip = np.einsum("ij,ij->i", normal, centre[None, :] - hull) > 0
    normal[flip] *= -1
    offset = np.einsum("ij,ij->i", normal, hull)
    return np.ascontiguousarray(normal), np.ascontiguousarray(offset)
