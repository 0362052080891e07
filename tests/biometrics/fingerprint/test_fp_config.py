"""The extractor's configuration: the default is the shipped pipeline; the local ridge-period field is right."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hardware_fixtures import fingerprint_synth
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import extract
from idverify.biometrics.fingerprint.extract import (
    _BLOCK,
    _STEP,
    SHIPPED,
    ExtractorConfig,
    _block_frequency,
    _block_spectra,
    _frequency,
    _normalise,
    _segment,
    analyse,
    local_period_map,
)


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


#: fp/1.3 (fp/1.5 without the options fp/1.4 and fp/1.5 added), the base each fp/1.4 option is judged on below.
_FP13 = dataclasses.replace(SHIPPED, name="fp/1.3", period_block=_BLOCK, seg_hull=0, adaptive_orient=0.0,
                            orient_presmooth=0.0)
#: fp/1.4: fp/1.5 without its orientation options, the base the orientation options are judged on below.
_FP14 = dataclasses.replace(SHIPPED, name="fp/1.4", adaptive_orient=0.0, orient_presmooth=0.0)


def test_field_defaults_are_the_baseline_and_shipped_is_fp15() -> None:
    assert not ExtractorConfig().local_period  # fp/1.2, the baseline
    assert SHIPPED.name == "fp/1.5"
    # fp/1.4 (fp/1.3's unsmoothed per-pixel period, measured in 64 px windows, and the 41 px convex-hull mask)
    # with the orientation measured on a pre-blurred image and bridged where incoherent
    assert dataclasses.replace(ExtractorConfig(), name="fp/1.5", local_period=True, period_smooth=0.0,
                               period_block=64, seg_hull=41, adaptive_orient=0.5, orient_presmooth=0.1) == SHIPPED


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


@pytest.mark.parametrize("config", [_FP13, _FP14, SHIPPED], ids=["fp/1.3", "fp/1.4", "fp/1.5"])
def test_variants_extract_a_synthetic_finger(config: ExtractorConfig) -> None:
    img = fingerprint_synth.impression(3, 1)
    a = analyse(img, config=config)
    local = local_period_map(a.period_field, a.period, a.image.shape, config.period_clamp)
    fg = a.mask > 0
    assert 7.5 <= float(np.median(local[fg])) <= 10.5  # the generator's period is 9 px ± 10 %
    assert len(extract(img, config=config)) >= 8


def _ridges(period: float, h: int = 320, w: int = 360, bay: bool = False) -> NDArray[np.uint8]:
    """Slanted sinusoidal ridges of one ``period`` in an elliptical contact area on a light background; with
    ``bay``, a wedge from the centre to the right edge of the contact area holds isotropic speckle (pores, dust:
    contrasted but without orientation) instead of ridges."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ridges = np.cos(2 * np.pi * (xx * np.cos(0.5) + yy * np.sin(0.5)) / period)
    inside = ((xx - w / 2) / (0.47 * w)) ** 2 + ((yy - h / 2) / (0.47 * h)) ** 2 < 1
    rng = np.random.default_rng(5)
    if bay:
        wedge = (xx > w / 2) & (np.abs(yy - h / 2) < 0.35 * (xx - w / 2) + 10)
        speckle = np.where(rng.random((h, w)) < 0.5, 1.0, -1.0)
        ridges = np.where(wedge, speckle, ridges)
    img = np.where(inside, 128 + 90 * ridges, 230.0) + rng.normal(0, 4, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def _wedge(h: int = 320, w: int = 360) -> NDArray[np.bool_]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    inside = ((xx - w / 2) / (0.47 * w)) ** 2 + ((yy - h / 2) / (0.47 * h)) ** 2 < 0.8
    wedge: NDArray[np.bool_] = inside & (xx > w / 2 + 20) & (np.abs(yy - h / 2) < 0.35 * (xx - w / 2) + 10)
    return wedge


def test_block_frequency_matches_the_fft_spectrum() -> None:
    src = np.random.default_rng(1).normal(0, 1, (200, 230)).astype(np.float32)
    src += np.cos(2 * np.pi * np.arange(230) / 7.3)[None, :].astype(np.float32)
    ny, nx = (200 - 64) // _STEP + 1, (230 - 64) // _STEP + 1
    inside = np.ones((ny, nx), bool)
    inside[0, :3] = False
    fast = _block_frequency(src, inside, 64)
    slow = _block_spectra(src, inside, 64)[0]
    assert fast.shape == (int(inside.sum()),)
    np.testing.assert_allclose(fast, slow, rtol=1e-5)
    assert float(np.median(1 / fast)) == pytest.approx(7.3, abs=0.2)


def test_period_block_default_is_the_32px_block_and_larger_blocks_steady_fine_periods() -> None:
    img = _ridges(6.3)
    f = img.astype(np.float32)
    norm = _normalise(f)
    mask, _ = _segment(f)
    p32, field32, clar32 = _frequency(norm, mask)
    same = _frequency(norm, mask, _BLOCK)
    assert p32 == same[0]
    np.testing.assert_array_equal(field32, same[1])
    p64, field64, clar64 = _frequency(norm, mask, 64)
    np.testing.assert_array_equal(clar64, clar32)  # the quality's clarity still comes from the 32 px blocks
    np.testing.assert_array_equal(np.isnan(field64), np.isnan(field32))
    inner = np.isfinite(field32)
    assert p64 == pytest.approx(6.3, abs=0.15)
    err32 = np.abs(field32[inner] - 6.3)
    err64 = np.abs(field64[inner] - 6.3)
    assert float(np.percentile(err64, 90)) < float(np.percentile(err32, 90))


def test_local_period_with_a_64px_window_follows_a_chirp() -> None:
    img = _chirp(7.0, 11.0)
    config = dataclasses.replace(SHIPPED, period_block=64)
    a = analyse(img, config=config)
    local = local_period_map(a.period_field, a.period, a.image.shape, config.period_clamp)
    w = img.shape[1]
    for x in (120, 180, 240):
        assert float(np.median(local[120:200, x])) == pytest.approx(7.0 + 4.0 * x / (w - 1), abs=0.6)


def test_hull_segmentation_brings_back_an_incoherent_bay() -> None:
    img = _ridges(9.0, bay=True)
    wedge = _wedge()
    plain = analyse(img, enhance=False, config=_FP13).mask > 0
    hull = analyse(img, enhance=False, config=dataclasses.replace(_FP13, seg_hull=41)).mask > 0
    assert plain[wedge].mean() < 0.5  # the speckled bay is lost by the coherence test
    assert hull[wedge].mean() > 0.95
    assert hull.sum() > plain.sum()
    assert (hull & ~plain).sum() <= wedge.sum() * 1.6  # the hull adds the bay, not the background
    assert not hull[:40, :40].any() and not hull[-40:, -40:].any()  # background corners stay out


def test_contrast_keep_segmentation_keeps_contrasted_incoherent_blocks() -> None:
    img = _ridges(9.0, bay=True)
    wedge = _wedge()
    kept = analyse(img, enhance=False, config=dataclasses.replace(_FP13, seg_contrast_keep=0.6)).mask > 0
    assert kept[wedge].mean() > 0.95
    assert not kept[:40, :40].any() and not kept[-40:, -40:].any()


@pytest.mark.parametrize("config", [dataclasses.replace(_FP13, period_block=64),
                                    dataclasses.replace(_FP13, seg_hull=41),
                                    dataclasses.replace(_FP13, seg_contrast_keep=0.6)])
def test_new_options_extract_a_synthetic_finger(config: ExtractorConfig) -> None:
    img = fingerprint_synth.impression(3, 1)
    a = analyse(img, config=config)
    assert 7.5 <= a.period <= 10.5
    assert len(extract(img, config=config)) >= 8


def _dotted_ridges(period: float, h: int = 320, w: int = 360) -> NDArray[np.uint8]:
    """Slanted sinusoidal ridges of one ``period`` drowned in strong 2 px speckle (a dry print's dots and pores:
    contrasted, but with gradients in every direction)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ridges = np.cos(2 * np.pi * (xx * np.cos(0.5) + yy * np.sin(0.5)) / period)
    speckle = np.where(np.random.default_rng(7).random((h // 2, w // 2)) < 0.5, 1.0, -1.0).repeat(2, 0).repeat(2, 1)
    inside = ((xx - w / 2) / (0.47 * w)) ** 2 + ((yy - h / 2) / (0.47 * h)) ** 2 < 1
    return np.clip(np.where(inside, 128 + 40 * ridges + 60 * speckle, 230.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("period", "plain_min", "smoothed_max"), [(10.0, 20.0, 12.0), (6.5, 13.0, 12.0)])
def test_orientation_presmoothing_recovers_dotted_ridges(period: float, plain_min: float,
                                                         smoothed_max: float) -> None:
    img = _dotted_ridges(period)
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    inner = ((xx - w / 2) / (0.35 * w)) ** 2 + ((yy - h / 2) / (0.35 * h)) ** 2 < 1
    truth = 0.5 + np.pi / 2  # along the ridges

    def p95_error_deg(config: ExtractorConfig) -> float:
        a = analyse(img, enhance=False, config=config)
        err = np.abs(np.angle(np.exp(2j * (a.orientation[inner] - truth)))) / 2
        return float(np.degrees(np.percentile(err, 95)))

    plain = p95_error_deg(_FP14)
    smoothed = p95_error_deg(dataclasses.replace(_FP14, orient_presmooth=0.13))
    assert plain > plain_min  # the speckle turns parts of the plain field
    assert smoothed < smoothed_max  # the blur scaled to the period (fine ridges too) brings them back
    assert smoothed < 0.7 * plain


def test_orientation_presmoothing_is_off_by_default_and_leaves_clean_prints_alone() -> None:
    assert ExtractorConfig().orient_presmooth == 0.0 and SHIPPED.orient_presmooth == 0.1  # fp/1.5 ships it
    img = fingerprint_synth.impression(3, 1)
    a = analyse(img, enhance=False, config=_FP14)
    b = analyse(img, enhance=False, config=dataclasses.replace(_FP14, orient_presmooth=0.13))
    fg = a.mask > 0
    diff = np.abs(np.angle(np.exp(2j * (a.orientation[fg] - b.orientation[fg])))) / 2
    assert float(np.degrees(np.median(diff))) < 3.0
    assert len(extract(img, config=dataclasses.replace(_FP14, orient_presmooth=0.13))) >= 8
