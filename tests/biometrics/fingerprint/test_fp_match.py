"""The matcher: invariance to rotation and translation, genuine above impostor on real prints, score range."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import FingerprintTemplate, _mcc, extract, match
from idverify.biometrics.fingerprint.match import Descriptors, Packed, descriptors, match_descriptors, match_many

Loader = Callable[[str], NDArray[np.uint8]]


def _moved(t: FingerprintTemplate, degrees: float, shift: tuple[float, float]) -> FingerprintTemplate:
    """The same minutiae, rotated counter-clockwise (as seen on screen) about the centre and shifted."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    centre = np.array([t.width / 2, t.height / 2])
    p = t.xy.astype(np.float64) - centre
    # y points down in pixel coordinates, so a counter-clockwise turn on screen is this matrix
    q = np.stack([c * p[:, 0] + s * p[:, 1], -s * p[:, 0] + c * p[:, 1]], axis=1) + centre + np.array(shift)
    return FingerprintTemplate(q, t.angle + a, t.kind, t.minutia_quality, width=t.width, height=t.height,
                               quality=t.quality)


def _impostor_scores(templates: dict[str, FingerprintTemplate]) -> list[float]:
    names = sorted(templates)
    return [match(templates[a], templates[b]) for i, a in enumerate(names) for b in names[i + 1 :]
            if a.split("_")[0] != b.split("_")[0]]


def test_score_range_and_self_match(db1_templates: dict[str, FingerprintTemplate]) -> None:
    t = db1_templates["101_1"]
    assert match(t, t) > 0.9
    for s in _impostor_scores(db1_templates):
        assert 0.0 <= s <= 1.0


@pytest.mark.parametrize(("degrees", "shift"), [(0, (35, -20)), (30, (0, 0)), (-45, (-25, 40)), (80, (10, 10)),
                                                (-85, (0, 0))])
def test_minutia_set_rotation_translation_invariance(db1_templates: dict[str, FingerprintTemplate],
                                                     degrees: float, shift: tuple[float, float]) -> None:
    t = db1_templates["102_1"]
    moved = _moved(t, degrees, shift)
    # cylinders are built in each minutia's own frame: a rigid motion changes nothing but rounding (pairs are
    # only considered up to ±90° of relative rotation, the MCC δθ, far beyond any placement on a sensor)
    assert match(t, moved) == pytest.approx(match(t, t), abs=0.02)
    assert match(t, moved) > 3 * max(_impostor_scores(db1_templates))


def test_rotated_and_shifted_image_still_matches(db1_image: Loader,
                                                  db1_templates: dict[str, FingerprintTemplate]) -> None:
    img = db1_image("103_1")
    h, w = img.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0)
    rot[:, 2] += (20, -15)
    turned = cv2.warpAffine(img, rot, (w, h), borderValue=255)
    score = match(db1_templates["103_1"], extract(turned))
    assert score > max(_impostor_scores(db1_templates))


def test_genuine_pairs_score_above_impostor_pairs(db1_templates: dict[str, FingerprintTemplate]) -> None:
    names = sorted(db1_templates)
    genuine = [match(db1_templates[a], db1_templates[b]) for i, a in enumerate(names) for b in names[i + 1 :]
               if a.split("_")[0] == b.split("_")[0]]
    impostor = _impostor_scores(db1_templates)
    assert len(genuine) == 18 and len(impostor) == 135
    assert np.median(genuine) > 5 * np.median(impostor)
    # the easy prints of this subset separate completely
    assert min(genuine) > max(impostor)


def test_match_is_symmetric_enough(db1_templates: dict[str, FingerprintTemplate]) -> None:
    a, b = db1_templates["104_1"], db1_templates["104_2"]
    assert match(a, b) == pytest.approx(match(b, a), abs=0.05)


def test_templates_with_too_few_minutiae_score_zero(db1_templates: dict[str, FingerprintTemplate]) -> None:
    t = db1_templates["105_1"]
    tiny = FingerprintTemplate(t.xy[:1], t.angle[:1], t.kind[:1], t.minutia_quality[:1], width=t.width,
                               height=t.height, quality=t.quality)
    assert match(t, tiny) == 0.0


def test_batched_scores_equal_per_call_scores(db1_templates: dict[str, FingerprintTemplate]) -> None:
    names = sorted(db1_templates)
    descs = [descriptors(db1_templates[n]) for n in names]
    gallery = Packed(descs)
    for probe in (descs[0], descs[7]):
        expected = np.array([match_descriptors(probe, d) for d in descs])
        assert np.array_equal(match_many(probe, gallery), expected)  # bit for bit, not approximately
        some = np.array([5, 2, 2, 17], dtype=np.int64)
        assert np.array_equal(match_many(probe, gallery, some), expected[some])
    assert expected.max() > 0.9  # the probe itself is in the gallery


def test_packed_cylinders_layout(db1_templates: dict[str, FingerprintTemplate]) -> None:
    d = descriptors(db1_templates["101_1"])
    pop = np.vectorize(lambda v: bin(int(v)).count("1"))
    bits = np.unpackbits(d.words[:, : _mcc.WORDS].view(np.uint8), axis=1, bitorder="little")[:, : _mcc.K0 * _mcc.ND]
    per_cell = bits.reshape(len(bits), _mcc.K0, _mcc.ND)
    cells = np.unpackbits(d.words[:, _mcc.CMASK : _mcc.CMASK + _mcc.CW].view(np.uint8), axis=1,
                          bitorder="little")[:, : _mcc.K0].astype(bool)
    assert not per_cell[~cells].any()  # bits only in valid cells: the kernel's shortcuts rely on it
    planes = [np.unpackbits(d.words[:, _mcc.PLANES + k * _mcc.CW : _mcc.PLANES + (k + 1) * _mcc.CW].view(np.uint8),
                            axis=1, bitorder="little")[:, : _mcc.K0].astype(np.int64) for k in range(3)]
    assert np.array_equal(planes[0] + 2 * planes[1] + 4 * planes[2], per_cell.sum(axis=2))  # per-cell counts
    assert np.array_equal(pop(d.words[:, : _mcc.WORDS]).sum(axis=1), d.words[:, -2].astype(np.int64))
    assert np.array_equal(cells.sum(axis=1) * _mcc.ND, d.words[:, -1].astype(np.int64))
    full = d.words[:, -1] == _mcc.K0 * _mcc.ND
    assert full.any() and not full[np.argmin(full):].any()  # full-mask cylinders come first
    assert _mcc.K0 == 208 and _mcc.WORDS == 20 and _mcc.CW == 4


def test_local_similarity_matches_the_mcc_definition(db1_templates: dict[str, FingerprintTemplate]) -> None:
    """The kernel's shortcuts (bit-planes, |(a ⊕ b) ∧ m| = pa + pb − 2|a ∧ b|) give MCC's formula exactly."""
    a, b = descriptors(db1_templates["103_1"]), descriptors(db1_templates["103_3"])
    fast = _mcc.local_similarities(a.words, a.ang, b.words, b.ang)

    def unpack(d: Descriptors) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        bits = np.unpackbits(d.words[:, : _mcc.WORDS].view(np.uint8), axis=1,
                             bitorder="little")[:, : _mcc.K0 * _mcc.ND].astype(bool)
        cells = np.unpackbits(d.words[:, _mcc.CMASK : _mcc.CMASK + _mcc.CW].view(np.uint8), axis=1,
                              bitorder="little")[:, : _mcc.K0].astype(bool)
        return bits, np.repeat(cells, _mcc.ND, axis=1)

    (ba, ma), (bb, mb) = unpack(a), unpack(b)
    checked = 0
    for i in range(a.size):
        for j in range(b.size):
            if a.ang[i, 1] * b.ang[j, 1] + a.ang[i, 2] * b.ang[j, 2] < 0:
                assert fast[i, j] == 0.0
                continue
            m = ma[i] & mb[j]
            va, vb = ba[i] & m, bb[j] & m
            na_, nb_ = np.sqrt(va.sum()), np.sqrt(vb.sum())
            if m.sum() < _mcc.MIN_CELLS or na_ + nb_ == 0:
                expected = 0.0
            else:
                expected = 1.0 - np.sqrt((va ^ vb).sum()) / (na_ + nb_)
            assert fast[i, j] == pytest.approx(expected, abs=1e-12)
            checked += 1
    assert checked > 100


def test_local_similarities_are_symmetric(db1_templates: dict[str, FingerprintTemplate]) -> None:
    a, b = descriptors(db1_templates["102_1"]), descriptors(db1_templates["102_2"])
    ab = _mcc.local_similarities(a.words, a.ang, b.words, b.ang)
    ba = _mcc.local_similarities(b.words, b.ang, a.words, a.ang)
    assert np.array_equal(ab, ba.T)
    assert ab.shape == (a.size, b.size) and ab.min() >= 0.0 and ab.max() <= 1.0
    # directions more than 90° apart are never compared
    cos = a.ang[:, 1:2] @ b.ang[:, 1:2].T + a.ang[:, 2:3] @ b.ang[:, 2:3].T
    assert np.all(ab[cos < 0] == 0.0)


def _reference_cylinder_bits(x: NDArray[np.float64], y: NDArray[np.float64], th: NDArray[np.float64],
                             hull_n: NDArray[np.float64], hull_c: NDArray[np.float64],
                             m: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Cylinder m straight from the MCC definition, every cell against every neighbour (numpy, slow):
    (cell-validity mask over the in-disk cells, sector bits K0 × ND)."""
    import math

    ds = 2.0 * _mcc.R / _mcc.NS
    dd = 2 * math.pi / _mcc.ND
    ii, jj = np.nonzero(_mcc.CELL_INDEX >= 0)  # row-major: the packed cell order
    di = (ii - (_mcc.NS - 1) / 2.0) * ds
    dj = (jj - (_mcc.NS - 1) / 2.0) * ds
    c, s = math.cos(th[m]), math.sin(th[m])
    px, py = x[m] + c * di - s * dj, y[m] + s * di + c * dj
    inside = ((hull_n[:, 0][None, :] * px[:, None] + hull_n[:, 1][None, :] * py[:, None] - hull_c[None, :])
              <= _mcc.OMEGA).all(axis=1)
    others = np.array([t for t in range(x.size)
                       if t != m and (x[t] - x[m]) ** 2 + (y[t] - y[m]) ** 2 <= (_mcc.R + 3 * _mcc.SIGMA_S) ** 2])
    if others.size < _mcc.MIN_M:  # too few neighbours: no cylinder at all
        return np.zeros(inside.size, dtype=bool), np.zeros((inside.size, _mcc.ND), dtype=bool)
    def wrap(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return a - 2 * math.pi * np.floor((a + math.pi) / (2 * math.pi))

    dth = wrap(th[m] - th[others])
    alpha = -math.pi + (np.arange(_mcc.ND) + 0.5) * dd
    diff = wrap(alpha[None, :] - dth[:, None])
    erf = np.vectorize(math.erf)
    k = 1.0 / (_mcc.SIGMA_D * math.sqrt(2.0))
    gd = 0.5 * (erf((diff + dd / 2) * k) - erf((diff - dd / 2) * k))  # neighbours × sectors
    d2 = (x[others][None, :] - px[:, None]) ** 2 + (y[others][None, :] - py[:, None]) ** 2  # cells × neighbours
    g = np.where(d2 <= 9 * _mcc.SIGMA_S ** 2,
                 np.exp(-d2 / (2 * _mcc.SIGMA_S ** 2)) / (_mcc.SIGMA_S * math.sqrt(2 * math.pi)), 0.0)
    bits = (g @ gd >= _mcc.MU_PSI) & inside[:, None]
    return inside, bits


def test_cylinders_match_the_mcc_definition(db1_templates: dict[str, FingerprintTemplate]) -> None:
    """The compiled cylinders (each neighbour visiting only the cells within 3σ of it) set exactly the bits of the
    definition: every cell against every neighbour."""
    from idverify.biometrics.fingerprint.match import _hull

    checked = 0
    for name in ("101_1", "103_2", "105_3"):
        t = db1_templates[name]
        x, y, th = t.xy[:, 0].astype(np.float64), -t.xy[:, 1].astype(np.float64), t.angle.astype(np.float64)
        hull_n, hull_c = _hull(x, y)
        words, valid = _mcc.cylinders(x, y, th, hull_n, hull_c)
        for m in range(x.size):
            inside, bits = _reference_cylinder_bits(x, y, th, hull_n, hull_c, m)
            got_bits = np.unpackbits(words[m, : _mcc.WORDS].view(np.uint8), bitorder="little")[: _mcc.K0 * _mcc.ND]
            got_cells = np.unpackbits(words[m, _mcc.CMASK: _mcc.CMASK + _mcc.CW].view(np.uint8),
                                      bitorder="little")[: _mcc.K0].astype(bool)
            assert np.array_equal(got_bits.reshape(_mcc.K0, _mcc.ND).astype(bool), bits), (name, m)
            assert np.array_equal(got_cells, inside), (name, m)
            assert valid[m] == (inside.sum() >= _mcc.MIN_VC * _mcc.K0)
            checked += int(valid[m])
    assert checked > 40
