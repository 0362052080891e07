"""The extractor's configuration: the default is the shipped pipeline; the local ridge-period field is right."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hardware_fixtures import fingerprint_synth
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import extract
from idverify.biometrics.fingerprint.extract import SHIPPED, ExtractorConfig, analyse, local_period_map


def _chirp(left: float, right: float, h: int = 320, w: int = 360) -> NDArray[np.uint8]:
    """Vertical sinusoidal ridges whose period runs linearly from ``left`` to ``right`` px across the image,
    inside an elliptical contact area on a light background."""
    x = np.arange(w, dtype=np.float64)
    period = left + (right - left) * x / (w - 1)
    phase = 2 * np.pi * np.cumsum(1.0 / period)
    ridges = np.cos(phase)[None, :].repeat(h, axis=0)
    yy, xx = np.mgrid[0:h, 0:w]
    inside = ((xx - w / 2) / (0.47 * w)) ** 2 + ((yy - h / 2) / (0.47 * h)) ** 2 < 1
    img = np.where(inside, 128 + 90 * ridges, 230.0)
    noise = np.random.default_rng(3).normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_field_defaults_are_the_baseline_and_shipped_uses_the_local_period() -> None:
    assert not ExtractorConfig().local_period  # fp/1.2, the baseline
    assert SHIPPED.local_period
    assert SHIPPED.name == "fp/1.3"


def test_local_period_follows_a_known_chirp() -> None:
    img = _chirp(7.0, 11.0)
    a = analyse(img, config=dataclasses.replace(SHIPPED, local_period=True))
    local = local_period_map(a.period_field, a.period, a.image.shape, SHIPPED.period_clamp)
    assert local.shape == a.image.shape
    w = img.shape[1]
    rows = slice(120, 200)
    for x, expected in ((90, 7.0 + 4.0 * 90 / (w - 1)), (180, 7.0 + 4.0 * 180 / (w - 1)),
                        (270, 7.0 + 4.0 * 270 / (w - 1))):
        assert float(np.median(local[rows, x])) == pytest.approx(expected, abs=0.6)
    # the global median period sits in the middle: one filter bank would be ~1.5 px off at either side
    assert 8.0 <= a.period <= 10.0


def test_local_period_is_clamped_and_fills_the_background() -> None:
    field = np.full((10, 12), np.nan, np.float32)
    field[3:7, 3:9] = 9.0
    field[4, 4] = 30.0  # one wrong spectral peak
    local = local_period_map(field, 9.0, (192, 224), (0.75, 1.35))
    assert np.isfinite(local).all()
    assert float(local.min()) >= 0.75 * 9.0 - 1e-4
    assert float(local.max()) <= 1.35 * 9.0 + 1e-4
    assert float(np.median(local)) == pytest.approx(9.0, abs=1e-3)


@pytest.mark.parametrize("config", [dataclasses.replace(SHIPPED, local_period=True),
                                    dataclasses.replace(SHIPPED, adaptive_orient=0.5)])
def test_variants_extract_a_synthetic_finger(config: ExtractorConfig) -> None:
    img = fingerprint_synth.impression(3, 1)
    a = analyse(img, config=config)
    local = local_period_map(a.period_field, a.period, a.image.shape, config.period_clamp)
    fg = a.mask > 0
    assert 7.5 <= float(np.median(local[fg])) <= 10.5  # the generator's period is 9 px ± 10 %
    assert len(extract(img, config=config)) >= 8
