"""1:1 fingerprint comparison: Minutia Cylinder-Code local descriptors with LSS-R global consolidation.

Owns the score. ``match(a, b)`` returns a similarity in [0, 1]: the mean relaxed local similarity of the
most consistent minutia pairs. Different fingers score about 0.01–0.04 on the dev sets, the same finger
typically 0.05–0.6, and a template against itself about 1. It is nearly symmetric and invariant to
translation and to rotation by construction, within ±90° of relative rotation: minutiae whose directions
differ by more are never paired (MCC's δθ), because no placement on a sensor turns a finger that far and
allowing it only adds false matches. Operating thresholds are calibrated on public data and kept in
``models/thresholds_fingerprint.json``; never hard-code a threshold elsewhere.

Descriptors (cylinders) are derived from the minutiae and cached on the template object on first use, so
gallery templates pay for them once. ``match_many`` scores one probe against many templates packed into a few
flat arrays (``Packed``) in one compiled call, with exactly the scores of ``match_descriptors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import _mcc
from idverify.biometrics.fingerprint.template import FingerprintTemplate


@dataclass(frozen=True)
class Descriptors:
    """Valid cylinders of one template, full-mask cylinders first (the kernel relies on it), and their geometry."""

    words: NDArray[np.uint64]  # one _mcc.ROW per valid cylinder (bits, mask, popcounts)
    ang: NDArray[np.float64]  # n × 3: direction θ (counter-clockwise, y up), cos θ, sin θ
    geo: NDArray[np.float64]  # n × n × 3: distances, relative directions, link angles (see _mcc.geometry)
    n_minutiae: int

    @property
    def size(self) -> int:
        return int(self.ang.shape[0])


def descriptors(template: FingerprintTemplate) -> Descriptors:
    cached = template._descriptor_cache
    if isinstance(cached, Descriptors):
        return cached
    x = template.xy[:, 0].astype(np.float64)
    y = -template.xy[:, 1].astype(np.float64)
    th = template.angle.astype(np.float64)
    hull_n, hull_c = _hull(x, y)
    if hull_c.size == 0:
        d = Descriptors(np.zeros((0, _mcc.ROW), np.uint64), np.zeros((0, 3)), np.zeros((0, 0, 3)), len(template))
    else:
        words, valid = _mcc.cylinders(x, y, th, hull_n, hull_c)
        keep = np.nonzero(valid)[0]
        full = words[keep, _mcc.ROW - 1] == _mcc.K0 * _mcc.ND
        keep = keep[np.argsort(~full, kind="stable")]  # full-mask cylinders first
        vt = th[keep]
        geo = _mcc.geometry(np.ascontiguousarray(x[keep]), np.ascontiguousarray(y[keep]), np.ascontiguousarray(vt))
        ang = np.ascontiguousarray(np.stack([vt, np.cos(vt), np.sin(vt)], axis=1))
        d = Descriptors(np.ascontiguousarray(words[keep]), ang, geo, len(template))
    template._descriptor_cache = d
    return d


def match(a: FingerprintTemplate, b: FingerprintTemplate) -> float:
    """Similarity of two templates in [0, 1]; higher = more likely the same finger (see module docstring)."""
    return match_descriptors(descriptors(a), descriptors(b))


def match_descriptors(da: Descriptors, db: Descriptors) -> float:
    if da.size < 2 or db.size < 2:
        return 0.0
    return float(_mcc.score(da.words, da.ang, da.geo, da.n_minutiae, db.words, db.ang, db.geo, db.n_minutiae))


class Packed:
    """Descriptors of many templates in a few flat arrays, for ``match_many`` (one compiled call per probe)."""

    def __init__(self, members: Sequence[Descriptors]) -> None:
        n = np.array([d.size for d in members], dtype=np.int64)
        self.rows = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
        self.geo_off = np.concatenate([[0], np.cumsum(3 * n * n)]).astype(np.int64)
        self.n_minutiae = np.array([d.n_minutiae for d in members], dtype=np.int64)
        self.words = np.ascontiguousarray(np.concatenate([np.zeros((0, _mcc.ROW), np.uint64),
                                                          *(d.words for d in members)]))
        self.ang = np.ascontiguousarray(np.concatenate([np.zeros((0, 3)), *(d.ang for d in members)]))
        self.geo = np.ascontiguousarray(np.concatenate([np.zeros(0), *(d.geo.ravel() for d in members)]))

    def __len__(self) -> int:
        return int(self.n_minutiae.size)


def match_many(probe: Descriptors, gallery: Packed, which: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
    """``match_descriptors(probe, member)`` for gallery members ``which`` (default all), bit for bit."""
    idx = np.arange(len(gallery), dtype=np.int64) if which is None else np.ascontiguousarray(which, dtype=np.int64)
    if probe.size < 2:
        return np.zeros(idx.size)
    out: NDArray[np.float64] = _mcc.score_many(probe.words, probe.ang, probe.geo, probe.n_minutiae, gallery.words,
                                               gallery.ang, gallery.geo, gallery.rows, gallery.geo_off,
                                               gallery.n_minutiae, idx)
    return out


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
