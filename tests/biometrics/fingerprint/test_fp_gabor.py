"""The per-pixel Gabor enhancement equals the plain definition: every kernel over the whole image, each pixel
keeping the response of its own (period bin, orientation bin) kernel."""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np
import pytest
from hardware_fixtures import fingerprint_synth
from numpy.typing import NDArray

from idverify.biometrics.fingerprint.extract import (
    _ORIENT_BINS,
    SHIPPED,
    Analysis,
    ExtractorConfig,
    _gabor_bank,
    analyse,
    local_period_map,
)

from .test_fp_config import _chirp


def _reference(a: Analysis, config: ExtractorConfig) -> NDArray[np.float32]:
    """Full-image ``cv2.filter2D`` with every kernel of the bank, the pixel's own response kept."""
    if config.local_period:
        local = local_period_map(a.period_field, a.period, a.image.shape, config.period_clamp, config.period_smooth)
        pbin = np.rint(local / config.period_bin).astype(np.int64)
    else:
        pbin = np.full(a.image.shape, -1, np.int64)
    obin = np.rint(np.mod(a.orientation + np.pi / 2, np.pi) / (np.pi / _ORIENT_BINS)).astype(np.int64) % _ORIENT_BINS
    fg = a.mask > 0
    out = np.zeros_like(a.image)
    for k in np.unique(pbin[fg]):
        period = float(k) * config.period_bin if config.local_period else a.period
        bank = _gabor_bank(period, config.gabor_across, config.gabor_along, config.gabor_extent)
        for b, kern in enumerate(bank):
            sel = fg & (pbin == k) & (obin == b)
            if sel.any():
                resp = cv2.filter2D(a.image, cv2.CV_32F, kern, borderType=cv2.BORDER_REFLECT)
                out[sel] = resp[sel]
    return out


@pytest.mark.parametrize("config", [SHIPPED, ExtractorConfig()], ids=["fp/1.5", "fp/1.2"])
@pytest.mark.parametrize("image", ["synthetic finger", "period chirp"])
def test_enhancement_matches_the_whole_image_filter_bank(config: ExtractorConfig, image: str) -> None:
    img = fingerprint_synth.impression(3, 1) if image == "synthetic finger" else _chirp(7.0, 11.0)
    a = analyse(img, config=config)
    ref = _reference(a, config)
    fg = a.mask > 0
    assert fg.sum() > 10_000
    assert np.abs(a.enhanced - ref).max() <= 1e-4 * np.abs(ref).max()  # float32 rounding, summation order
    # what the template depends on: the ridge/valley sign (a response within rounding of 0 may go either way)
    decided = np.abs(ref) > 1e-4 * np.abs(ref).max()
    assert np.array_equal(a.enhanced[fg & decided] < 0, ref[fg & decided] < 0)
    assert not a.enhanced[~fg].any()


def test_the_local_period_uses_several_kernel_sizes() -> None:
    """The chirp spans several period bins, so the test above covers kernels of different widths in one call."""
    a = analyse(_chirp(7.0, 11.0), config=dataclasses.replace(SHIPPED, period_smooth=0.0))
    local = local_period_map(a.period_field, a.period, a.image.shape, SHIPPED.period_clamp, 0.0)
    bins = np.unique(np.rint(local[a.mask > 0] / SHIPPED.period_bin))
    sizes = {_gabor_bank(float(k) * SHIPPED.period_bin)[0].shape[0] for k in bins}
    assert len(sizes) >= 3


def test_kernel_compiles_once_and_without_a_writable_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    from idverify.biometrics.fingerprint import _filter

    _filter.warm()
    assert _filter.kernel() is _filter.kernel()  # built once per process
    real = numba.njit

    def no_cache_location(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache_location)
    monkeypatch.setattr(_filter, "_compiled", {})
    fn = _filter.kernel()  # numba refuses to cache: compiled for this process instead of failing
    out = fn(np.ones((3, 3), np.float32), 1, np.zeros((1, 1), np.int64), np.ones(9, np.float32),
             np.zeros(1, np.int64), np.ones(1, np.int64))
    assert out.shape == (1, 1) and float(out[0, 0]) == pytest.approx(9.0)


@pytest.mark.parametrize("with_local", [True, False])
def test_bin_labels_are_the_numpy_bins(with_local: bool) -> None:
    """The compiled labels equal numpy's float32 definition, bin edges included (``_gabor`` used it before)."""
    from idverify.biometrics.fingerprint import _filter

    rng = np.random.default_rng(5)
    edges = np.mod(np.arange(_ORIENT_BINS + 1) * np.float32(np.pi / _ORIENT_BINS) - np.float32(np.pi / 2), np.pi)
    orient = rng.uniform(0, np.pi, (60, 70)).astype(np.float32)
    orient[0, : edges.size] = edges.astype(np.float32)
    local = rng.uniform(5.0, 14.0, orient.shape).astype(np.float32)
    local[1, :20] = np.arange(10, 30, dtype=np.float32) * 0.5 + 0.25  # halfway between two period bins
    mask = (rng.random(orient.shape) < 0.7).astype(np.uint8)
    label, kinds = _filter.bin_labels(mask, orient, local if with_local else None, 0.5, _ORIENT_BINS)
    ys, xs = np.nonzero(mask)
    obin = np.rint(np.mod(orient[ys, xs] + np.pi / 2, np.pi) / (np.pi / _ORIENT_BINS)).astype(np.int64) % _ORIENT_BINS
    pbin = np.rint(local[ys, xs] / 0.5).astype(np.int64) if with_local else np.zeros(ys.size, np.int64)
    used, group = np.unique(pbin, return_inverse=True)
    want = np.full(mask.shape, -1, np.int64)
    want[ys, xs] = group * _ORIENT_BINS + obin
    assert np.array_equal(label, want)
    if with_local:
        assert np.array_equal(kinds, used)

