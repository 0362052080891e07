"""The matcher: invariance to rotation and translation, genuine above impostor on real prints, score range."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import FingerprintTemplate, extract, match

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
