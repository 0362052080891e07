"""The extractor: usable templates from real prints, refusal of unusable captures, quality ordering."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import MinutiaKind, extract, image_quality
from idverify.biometrics.fingerprint.extract import analyse
from idverify.errors import BiometricError

Loader = Callable[[str], NDArray[np.uint8]]


def test_real_print_gives_plausible_template(db1_image: Loader) -> None:
    img = db1_image("101_1")
    t = extract(img)
    assert 12 <= len(t) <= 80
    assert t.quality >= 50
    assert np.all((t.xy[:, 0] >= 0) & (t.xy[:, 0] < img.shape[1]) & (t.xy[:, 1] >= 0) & (t.xy[:, 1] < img.shape[0]))
    assert np.all((t.angle >= 0) & (t.angle < 2 * np.pi))
    assert {m.kind for m in t.minutiae} <= {MinutiaKind.ENDING, MinutiaKind.BIFURCATION}
    # minutiae lie on the finger, not on the background
    mask = analyse(img).mask
    assert all(mask[int(y), int(x)] for x, y in t.xy)


def test_ridge_period_is_physical(db1_image: Loader) -> None:
    a = analyse(db1_image("102_2"))
    assert 7.0 <= a.period <= 12.0  # ~0.5 mm ridge spacing at 500 dpi
    assert 0.2 < a.mask.mean() < 0.9


@pytest.mark.parametrize("name", ["101_1", "104_3"])
def test_blur_and_noise_lower_the_quality(db1_image: Loader, name: str) -> None:
    img = db1_image(name)
    clean = image_quality(img)
    blurred = image_quality(cv2.GaussianBlur(img, (0, 0), 3))
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 60, img.shape), 0, 255).astype(np.uint8)
    assert blurred < clean
    assert image_quality(noisy) < clean


def test_blank_and_noise_images_are_refused_with_an_actionable_message() -> None:
    with pytest.raises(BiometricError, match="place"):
        extract(np.full((288, 256), 230, np.uint8))
    noise = np.random.default_rng(1).integers(0, 256, (288, 256)).astype(np.uint8)
    with pytest.raises(BiometricError):
        extract(noise)


def test_sensor_size_image_and_other_resolution(db1_image: Loader) -> None:
    img = db1_image("105_2")
    h, w = img.shape
    crop = img[(h - 288) // 2 : (h - 288) // 2 + 288, (w - 256) // 2 : (w - 256) // 2 + 256]  # R30x frame size
    t = extract(crop)
    assert (t.width, t.height) == (256, 288)
    assert len(t) >= 8
    up = cv2.resize(img, None, fx=569 / 500, fy=569 / 500, interpolation=cv2.INTER_LINEAR)
    t569 = extract(up, dpi=569)  # coordinates come back in 500 dpi pixels
    assert abs(t569.width - w) <= 2 and abs(t569.height - h) <= 2


def test_wrong_shape_is_refused() -> None:
    with pytest.raises(BiometricError):
        extract(np.zeros((10, 10, 10, 2), np.uint8))
