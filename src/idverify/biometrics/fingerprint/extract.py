"""Fingerprint image → minutiae template: segmentation, orientation and frequency fields, enhancement, minutiae.

Owns the image pipeline for 500 dpi greyscale prints (FVC images, the R30x sensor's 256×288 uploads once the
device layer has unpacked them to 8-bit). Knows nothing of devices, patients or storage. Steps:

1. resample to 500 dpi, local contrast normalisation;
2. orientation field from the smoothed gradient structure tensor (doubled angles), with its coherence;
3. foreground mask from gradient energy and coherence (largest blob, holes filled);
4. ridge frequency field from windowed block spectra (per-block periods, and their median; the per-block
   band energy feeds the quality score);
5. enhancement with a bank of oriented, zero-mean Gabor filters, chosen per pixel by the local orientation and
   (``ExtractorConfig.local_period``) the local ridge period, or else the print's median period;
6. binarisation, Zhang–Suen thinning, crossing numbers, ridge tracing for direction, and removal of the
   classic false minutiae (spurs, short ridges, bridges, broken ridges, clusters, border);
7. image quality 0..100 = foreground coherence × spectral clarity, damped for low ridge contrast (blur, light
   pressure) and small contact areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import structlog
from numpy.typing import NDArray

from idverify.biometrics.fingerprint import _filter
from idverify.biometrics.fingerprint import _skeleton as sk
from idverify.biometrics.fingerprint.template import TEMPLATE_DPI, FingerprintTemplate, MinutiaKind
from idverify.errors import BiometricError

log = structlog.get_logger(__name__)

#: Below this image quality, or with fewer minutiae than ``MIN_MINUTIAE``, ``extract`` refuses the capture.
MIN_QUALITY = 10
MIN_MINUTIAE = 8
MAX_MINUTIAE = 80
MIN_MINUTIA_QUALITY = 0  # a cut-off measured worse on the dev sets (true minutiae near the edge)
MIN_FOREGROUND_PX = 90 * 90

_ORIENT_BINS = 16
_BLOCK = 32
_STEP = 16


@dataclass(frozen=True)
class ExtractorConfig:
    """The extractor's tunables. The field defaults are the fp/1.2 pipeline (the baseline every option is judged
    against); :data:`SHIPPED` is the configuration ``extract`` and ``analyse`` use unless given another. Other
    values exist so that :mod:`idverify.bench.lodo_fingerprint` can judge method changes on sets they were not
    chosen on (a figure tuned on a set says nothing about that set). Nothing else should build one.

    Gabor kernels (σ ``gabor_across`` and ``gabor_along`` × the period, cut at ``gabor_extent`` σ) use the
    print's median ridge period (``local_period`` False) or, per pixel, the per-block period field smoothed over
    ``period_smooth`` blocks, clamped to ``period_clamp`` × the median and rounded to bins ``period_bin`` px wide;
    the per-block periods come from windows of ``period_block`` px around the block centres (larger: finer
    frequency bins for fine ridges, a coarser field).
    Orientation: gradient tensor averaged with σ ``tensor_sigma``, then the doubled-angle field smoothed with σ
    ``orient_sigma``; with ``adaptive_orient`` > 0, pixels whose coherence is below it take a blend towards a
    field smoothed with 2σ (noisy patches bridged, clean ones and singular points left sharp); with
    ``orient_presmooth`` > 0 the gradients are taken on the normalised image blurred with σ that × the print's
    median ridge period (dry prints break their ridges into dots and pores a few px across, whose gradients point
    every way and turned whole regions of the field; a blur scaled to the period keeps the same share of the
    ridges' own gradient at every ridge width, ~70 % at 0.13). Segmentation keeps
    blocks whose raw grey-level deviation is above ``seg_std_frac`` × its 95th percentile and whose coherence is
    above ``seg_coherence`` (or, with ``seg_contrast_keep`` > 0, whose deviation is above that × the percentile:
    pores and dust can make a clear print's gradient field incoherent); with ``seg_hull`` > 0 the mask becomes
    the convex hull of its part that survives an opening of ``seg_hull`` px, limited to the contrasted area
    (bays reaching the edge, which hole filling cannot close, come back). False-minutia rules scale with the
    ridge period: spurs and bridges shorter than ``spur_len``, isolated ridges shorter than ``short_ridge``,
    facing endings closer than ``broken_gap``, anything closer than ``cluster`` to another. The binary ridge image
    is median-filtered over ``binary_median`` px; at most ``max_minutiae`` (best quality) are kept.
    """

    name: str = "fp/1.2"
    local_period: bool = False
    period_clamp: tuple[float, float] = (0.75, 1.35)
    period_bin: float = 0.5
    period_smooth: float = 1.0
    period_block: int = _BLOCK
    tensor_sigma: float = 6.0
    orient_sigma: float = 7.0
    adaptive_orient: float = 0.0
    gabor_across: float = 0.5
    gabor_along: float = 0.7
    gabor_extent: float = 2.5
    seg_std_frac: float = 0.3
    seg_coherence: float = 0.15
    seg_contrast_keep: float = 0.0
    seg_hull: int = 0
    spur_len: float = 0.9
    short_ridge: float = 1.6
    broken_gap: float = 1.3
    cluster: float = 0.6
    binary_median: int = 3
    max_minutiae: int = MAX_MINUTIAE
    orient_presmooth: float = 0.0


#: The shipped configuration: the LODO grid's ``dry-presmooth0.1-adaptive0.5`` (fp/1.4 — per-pixel ridge period
#: measured in 64 px windows, convex-hull mask — with the orientation field taken on the normalised image blurred
#: with σ = 0.1 × the ridge period and, where the field stays incoherent, blended towards a twice wider smoothing),
#: chosen by ``python -m idverify.bench.lodo_fingerprint`` on all nine FVC sets (lowest pooled EER); figures on sets
#: it never saw come from the same tool's leave-one-dataset-out rows (README).
SHIPPED = ExtractorConfig(name="fp/1.5", local_period=True, period_smooth=0.0, period_block=64, seg_hull=41,
                          adaptive_orient=0.5, orient_presmooth=0.1)


@dataclass(frozen=True)
class Analysis:
    """Intermediate fields, exposed for tests and diagnostics (not part of the stored template)."""

    image: NDArray[np.float32]  # normalised, 500 dpi
    mask: NDArray[np.uint8]
    orientation: NDArray[np.float32]  # ridge orientation, radians in [0, π), image coordinates (y down)
    coherence: NDArray[np.float32]
    period: float  # median ridge period in pixels
    period_field: NDArray[np.float32]  # per block (NaN outside the foreground)
    enhanced: NDArray[np.float32]
    skeleton: NDArray[np.uint8]
    quality: int


def extract(image: NDArray[Any], dpi: int = TEMPLATE_DPI, config: ExtractorConfig = SHIPPED) -> FingerprintTemplate:
    """Extract a template from a greyscale fingerprint image (ridges dark, 8-bit or float).

    Raises :class:`BiometricError` when the capture cannot be used (too little finger, too blurred or noisy,
    too few minutiae); the message tells the operator what to do.
    """
    a = analyse(image, dpi, config=config)
    if int(a.mask.sum()) < MIN_FOREGROUND_PX:
        raise BiometricError("too little of the finger was captured — place the finger flat on the sensor again",
                              details={"reason": "finger_area_too_small"})
    if a.quality < MIN_QUALITY:
        raise BiometricError("finger quality too low — clean the sensor, dry or moisten the finger and place again",
                              details={"reason": "finger_quality_low"})
    template = template_of(a, config)
    if len(template) < MIN_MINUTIAE:
        raise BiometricError("too few fingerprint features found — place the finger again, centred and flat",
                              details={"reason": "finger_too_few_features"})
    log.debug("fingerprint.extracted", minutiae=len(template), quality=a.quality)
    return template


def template_of(a: Analysis, config: ExtractorConfig = SHIPPED) -> FingerprintTemplate:
    """The template of an analysis, without :func:`extract`'s gates (area, quality, minutiae count): what the
    benchmarks score and time, where a weak capture must count as it is rather than be refused."""
    xy, angle, kind, mq = _minutiae(a, config)
    h, w = a.image.shape
    return FingerprintTemplate(xy, angle, kind, mq, width=w, height=h, quality=a.quality)


def image_quality(image: NDArray[Any], dpi: int = TEMPLATE_DPI) -> int:
    """Image quality 0..100 without extracting minutiae (cheaper; for capture loops)."""
    return analyse(image, dpi, enhance=False).quality


def analyse(image: NDArray[Any], dpi: int = TEMPLATE_DPI, *, enhance: bool = True,
            config: ExtractorConfig = SHIPPED) -> Analysis:
    """The pipeline's fields for one image (module docstring, steps 1–6), with ``config``'s tunables."""
    img = _to_gray(image)
    if dpi != TEMPLATE_DPI:
        s = TEMPLATE_DPI / float(dpi)
        img = np.asarray(cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR),
                         dtype=np.uint8)
    if min(img.shape) < 64:
        raise BiometricError("fingerprint image is too small — capture again",
                              details={"reason": "finger_image_too_small"})
    f = img.astype(np.float32)
    norm = _normalise(f)
    mask, contrast = _segment(f, config)
    period, period_field, clarity = _frequency(norm, mask, config.period_block)
    orient, coh = _orientation(norm, period, config)
    quality = _quality(mask, coh, clarity, contrast)
    if enhance and mask.any():
        if config.local_period:
            local = local_period_map(period_field, period, norm.shape, config.period_clamp, config.period_smooth)
            enh = _gabor(norm, orient, period, mask, local, config)
        else:
            enh = _gabor(norm, orient, period, mask, None, config)
        ridges = ((enh < 0) & (mask > 0)).astype(np.uint8)
        ridges = (np.asarray(cv2.medianBlur(ridges * 255, config.binary_median)) // 255).astype(np.uint8)
        skel = sk.thin(ridges)
    else:
        enh = np.zeros_like(norm)
        skel = np.zeros(norm.shape, np.uint8)
    return Analysis(norm, mask, orient, coh, period, period_field, enh, skel, quality)


# -- pipeline steps -------------------------------------------------------------------------------------------
def _to_gray(image: NDArray[Any]) -> NDArray[np.uint8]:
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr.astype(np.uint8), cv2.COLOR_BGR2GRAY) if arr.shape[2] == 3 else arr[..., 0]
    if arr.ndim != 2:
        raise BiometricError("fingerprint image must be a 2-D greyscale array — capture again",
                              details={"reason": "finger_image_invalid"})
    if arr.dtype != np.uint8:
        a = arr.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        arr = np.zeros(a.shape, np.uint8) if hi <= lo else ((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _normalise(f: NDArray[np.float32]) -> NDArray[np.float32]:
    mean = cv2.GaussianBlur(f, (0, 0), 8)
    d = f - mean
    var = cv2.GaussianBlur(d * d, (0, 0), 8)
    out: NDArray[np.float32] = d / np.sqrt(var + 25.0)
    return out


def _orientation(norm: NDArray[np.float32], period: float,
                 config: ExtractorConfig = SHIPPED) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Ridge orientation and gradient coherence (:class:`ExtractorConfig`: ``tensor_sigma``, ``orient_sigma``,
    ``adaptive_orient``, ``orient_presmooth``); ``period`` (the median ridge period) scales the pre-blur."""
    if config.orient_presmooth > 0:
        norm = np.asarray(cv2.GaussianBlur(norm, (0, 0), config.orient_presmooth * period), dtype=np.float32)
    gx = cv2.Sobel(norm, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(norm, cv2.CV_32F, 0, 1, ksize=3)
    tensor = _wide_blur(cv2.merge([gx * gx, gy * gy, gx * gy]), config.tensor_sigma)
    gxx, gyy, gxy = tensor[..., 0], tensor[..., 1], tensor[..., 2]
    num = 2 * gxy
    den = gxx - gyy
    energy = gxx + gyy
    coh = np.sqrt(num * num + den * den) / (energy + 1e-6)
    # smooth the doubled-angle field once more, weighted by its own strength, to bridge noisy patches
    doubled = cv2.merge([den, num])
    smooth = _wide_blur(doubled, config.orient_sigma)
    if config.adaptive_orient > 0:
        # where the smoothed field is incoherent (noise, scars, creases), lean on a twice wider neighbourhood
        mag = np.hypot(smooth[..., 0], smooth[..., 1])
        local_coh = mag / (_wide_blur(energy, config.orient_sigma) + 1e-6)
        wide = _wide_blur(doubled, 2 * config.orient_sigma)
        w = np.clip(1.0 - local_coh / config.adaptive_orient, 0.0, 1.0)[..., None]
        smooth = ((1 - w) * smooth + w * wide).astype(np.float32)
    c, s = smooth[..., 0], smooth[..., 1]
    grad_dir = 0.5 * np.arctan2(s, c)
    orient = np.mod(grad_dir + np.pi / 2, np.pi).astype(np.float32)
    return orient, coh.astype(np.float32)


def _segment(f: NDArray[np.float32], config: ExtractorConfig = SHIPPED) -> tuple[NDArray[np.uint8], float]:
    """Foreground = enough raw grey-level contrast with an oriented (ridge-like) gradient field around it.

    Works on the raw image: the normalised one has amplified background noise everywhere. Also returns the
    median local grey-level deviation over the foreground (ridge contrast; blur and low pressure lower it).
    """
    d = f - cv2.GaussianBlur(f, (0, 0), 6)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    wide = _wide_blur(cv2.merge([d * d, gx * gx, gy * gy, gx * gy]), 10.0)
    std = np.sqrt(np.maximum(wide[..., 0], 0))
    gxx, gyy, gxy = wide[..., 1], wide[..., 2], wide[..., 3]
    coh = np.sqrt((gxx - gyy) ** 2 + 4 * gxy * gxy) / (gxx + gyy + 1e-6)
    ref = float(np.percentile(std, 95))
    contrasted = (std > config.seg_std_frac * ref) & (std > 4.0)
    oriented = coh > config.seg_coherence
    if config.seg_contrast_keep > 0:
        oriented |= std > config.seg_contrast_keep * ref
    fg = (contrasted & oriented).astype(np.uint8)
    fg = _ellipse_close(_ellipse_open(fg, _SEG_DISK), _SEG_DISK)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return np.zeros_like(fg), 0.0
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    fg = (labels == biggest).astype(np.uint8)
    if config.seg_hull > 0:
        fg = _hull_mask(fg, stats[biggest, :4], contrasted.astype(np.uint8), config.seg_hull)
    # fill holes: the background not 4-connected to the image border (flooded from a 1 px frame around it)
    inv = np.pad(1 - fg, 1, constant_values=1)
    cv2.floodFill(inv, None, (0, 0), 0, flags=4)
    fg |= inv[1:-1, 1:-1]
    fg[:4, :] = 0
    fg[-4:, :] = 0
    fg[:, :4] = 0
    fg[:, -4:] = 0
    contrast = float(np.median(std[fg > 0])) if fg.any() else 0.0
    return np.asarray(fg, dtype=np.uint8), contrast


def _hull_mask(fg: NDArray[np.uint8], box: NDArray[Any], contrasted: NDArray[np.uint8],
               size: int) -> NDArray[np.uint8]:
    """``fg`` closed to its convex hull (bays and holes reaching the edge, where pores and dust made the gradient
    field incoherent, come back), the hull taken after an opening of ``size`` px so that thin attached strips
    (sensor edges) do not stretch it, then limited to where the raw image has ridge contrast.

    ``box`` is ``fg``'s bounding box (x, y, width, height). The opening runs on that box widened by the kernel's
    radius: outside it ``fg`` is empty, so the erosion is too, and the dilation cannot reach past the margin (the
    same pixels as over the whole image, for about half the cost). The hull is taken of the opened set's outline
    (pixels with a background neighbour), which has the same convex hull as the whole set: sorting the ~10⁵ pixels
    of a print cost ``cv2.convexHull`` about 9 ms, the outline's few thousand well under one."""
    r = size // 2
    x, y, w, h = (int(v) for v in box)
    x0, y0 = max(x - r, 0), max(y - r, 0)
    crop = fg[y0 : y + h + r, x0 : x + w + r]
    core = _ellipse_open(crop, size)
    if not core.any():
        core, x0, y0 = fg, 0, 0
    pts = cv2.findNonZero(core - np.asarray(cv2.erode(core, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                                                      borderValue=0), dtype=np.uint8))
    hull = np.zeros_like(fg)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts + np.array([x0, y0], np.int32)), 1)
    cm = _ellipse_close(contrasted, _SEG_DISK)
    out = hull & cm
    n, labels, stats, _ = cv2.connectedComponentsWithStats(out, connectivity=8)
    if n <= 1:
        return fg
    return np.asarray(labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])), dtype=np.uint8)


_SEG_DISK = 17  # px, the segmentation's opening and closing
_ELLIPSE_RECTS: dict[int, list[NDArray[np.uint8]]] = {}


def _ellipse_rects(size: int) -> list[NDArray[np.uint8]]:
    """Centred rectangles whose union is ``cv2``'s ``size`` px ellipse (one per step of its outline: the ellipse's
    rows are centred runs that narrow away from the middle row, so row ``d`` is covered by the rectangle ``d`` rows
    tall on either side and as wide as row ``d``)."""
    rects = _ELLIPSE_RECTS.get(size)
    if rects is None:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        r = size // 2
        half = [int(np.flatnonzero(k[r + d]).max()) - r for d in range(r + 1)]
        rects = [np.ones((2 * d + 1, 2 * half[d] + 1), np.uint8) for d in range(r + 1)
                 if d == r or half[d + 1] != half[d]]
        union = np.zeros_like(k)
        for rect in rects:
            h, w = rect.shape
            union[r - h // 2 : r + h // 2 + 1, r - w // 2 : r + w // 2 + 1] = 1
        if not np.array_equal(union, k):
            raise AssertionError(f"the {size} px ellipse is not a union of centred rectangles")
        _ELLIPSE_RECTS[size] = rects
    return rects


def _ellipse_morph(img: NDArray[np.uint8], op: Any, size: int) -> NDArray[np.uint8]:
    """``op`` (``cv2.erode`` or ``cv2.dilate``, default border) of ``img`` by the ``size`` px ellipse, as the
    minimum (maximum) of its results by the ellipse's rectangles (:func:`_ellipse_rects`): eroding by a union of
    shapes is the intersection of the erosions (dilating, the union of the dilations), so the pixels are the same
    as with the ellipse itself, while ``cv2`` filters rectangles separably (about 2× less CPU time at 17–41 px)."""
    rects = _ellipse_rects(size)
    out = np.asarray(op(img, rects[0]), dtype=np.uint8)
    merge = np.minimum if op is cv2.erode else np.maximum
    for rect in rects[1:]:
        merge(out, op(img, rect), out=out)
    return out


def _ellipse_open(img: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """``cv2.morphologyEx(img, MORPH_OPEN, ellipse)``: erosion, then dilation."""
    return _ellipse_morph(_ellipse_morph(img, cv2.erode, size), cv2.dilate, size)


def _ellipse_close(img: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """``cv2.morphologyEx(img, MORPH_CLOSE, ellipse)``: dilation, then erosion."""
    return _ellipse_morph(_ellipse_morph(img, cv2.dilate, size), cv2.erode, size)


def _wide_blur(x: NDArray[Any], sigma: float) -> NDArray[np.float32]:
    """Gaussian blur of a smooth statistic at half resolution (area down, σ/2, linear up).

    For σ ≥ 6 px the result differs from the full-resolution blur by well under 1 % of its range, at about
    1/8 of the cost (4 → 0.5 ms per σ = 10 blur of an FVC image). Channels are blurred together.
    """
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(w // 2, 1), max(h // 2, 1)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 2.0)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)


_RADIUS_CACHE: dict[int, NDArray[np.float64]] = {}
_BAND_CACHE: dict[int, tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.intp],
                             NDArray[np.intp], NDArray[np.float64]]] = {}


def _frequency(norm: NDArray[np.float32], mask: NDArray[np.uint8],
               period_block: int = _BLOCK) -> tuple[float, NDArray[np.float32], NDArray[np.float32]]:
    """Median ridge period, per-block period, and per-block spectral clarity (ridge-band energy share).

    Blocks are ``_BLOCK`` px, every ``_STEP`` px. With ``period_block`` larger than ``_BLOCK`` the periods (not the
    clarity) come from a window of that size around the same block centres (the image reflected at its border):
    finer frequency bins where the ridges are fine, at the price of a coarser field."""
    h, w = norm.shape
    ny = max((h - _BLOCK) // _STEP + 1, 1)
    nx = max((w - _BLOCK) // _STEP + 1, 1)
    mwin = np.lib.stride_tricks.sliding_window_view(mask, (_BLOCK, _BLOCK))[::_STEP, ::_STEP][:ny, :nx]
    inside = mwin[:, :, _BLOCK // 2, _BLOCK // 2] > 0
    period_field = np.full((ny, nx), np.nan, np.float32)
    clarity = np.zeros((ny, nx), np.float32)
    if not inside.any():
        return 9.0, period_field, clarity
    freq, clar, conc = _block_spectra(norm, inside, _BLOCK)
    if period_block != _BLOCK:
        m = (period_block - _BLOCK) // 2
        src = np.asarray(cv2.copyMakeBorder(norm, m, m, m, m, cv2.BORDER_REFLECT), dtype=np.float32)
        freq = _block_frequency(src, inside, _BLOCK + 2 * m)
    period_field[inside] = 1.0 / np.maximum(freq, 1e-3)
    clarity[inside] = (clar * conc).astype(np.float32)
    period = float(np.clip(np.nanmedian(period_field), 5.0, 14.0))
    return period, period_field, clarity


def _block_frequency(src: NDArray[np.float32], inside: NDArray[np.bool_], size: int) -> NDArray[np.float64]:
    """:func:`_block_spectra`'s dominant frequency alone, for large windows. Only the ridge band's part of the
    spectrum is computed, as two float32 matrix products (Hann window folded into the DFT matrices): numpy's
    float64 FFT of ~500 windows of 64 px costs about 30 ms of the 100 ms budget, this about 5."""
    ny, nx = inside.shape
    win = np.lib.stride_tricks.sliding_window_view(src, (size, size))[::_STEP, ::_STEP][:ny, :nx]
    cached = _BAND_CACHE.get(size)
    if cached is None:
        top = size // 4  # |frequency| <= 1/4 cycle/px
        n = np.arange(size)
        hann = np.hanning(size)
        kx = np.arange(top + 1)
        ky = np.arange(-top, top + 1)
        ax = 2 * np.pi * np.outer(n, kx) / size
        wx = np.concatenate([np.cos(ax), np.sin(ax)], axis=1) * hann[:, None]
        ay = 2 * np.pi * np.outer(ky, n) / size
        r = np.hypot(ky[:, None] / size, kx[None, :] / size)
        rows, cols = np.nonzero((r >= 1 / 15) & (r <= 1 / 4))
        cached = (wx.astype(np.float32), (np.cos(ay) * hann).astype(np.float32),
                  (np.sin(ay) * hann).astype(np.float32), rows, cols, r[rows, cols])
        _BAND_CACHE[size] = cached
    along_x, cos_y, sin_y, rows, cols, rb = cached
    half = along_x.shape[1] // 2
    nky = cos_y.shape[0]
    # per window: along x, then along y (stacked small products: one large one would start BLAS threads)
    x = np.asarray(win[inside], dtype=np.float32) @ along_x  # (window, row, cos|sin × kx)
    y = np.concatenate([cos_y, sin_y]) @ x  # (window, cos|sin × ky, cos|sin × kx)
    re = y[:, :nky, :half] - y[:, nky:, half:]
    im = y[:, nky:, :half] + y[:, :nky, half:]
    power = (re * re + im * im)[:, rows, cols].astype(np.float64)
    peak = rb[np.argmax(power, axis=1)]
    wts = power * (np.abs(rb[None, :] - peak[:, None]) <= 1.5 / size)
    out: NDArray[np.float64] = (wts * rb[None, :]).sum(axis=1) / (wts.sum(axis=1) + 1e-12)
    return out


def _block_spectra(src: NDArray[np.float32], inside: NDArray[np.bool_], size: int) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """For the ``size`` px windows of ``src`` every ``_STEP`` px where ``inside``: the dominant ridge frequency
    (cycles/px), the ridge-band share of the energy and how concentrated the band energy is around its peak."""
    ny, nx = inside.shape
    win = np.lib.stride_tricks.sliding_window_view(src, (size, size))[::_STEP, ::_STEP][:ny, :nx]
    blocks = win[inside].astype(np.float64)
    hann = np.outer(np.hanning(size), np.hanning(size))
    spec = np.abs(np.fft.rfft2(blocks * hann)) ** 2
    r = _RADIUS_CACHE.get(size)
    if r is None:
        fy = np.fft.fftfreq(size)[:, None]
        fx = np.fft.rfftfreq(size)[None, :]
        r = np.sqrt(fy * fy + fx * fx)
        _RADIUS_CACHE[size] = r
    band = (r >= 1 / 15) & (r <= 1 / 4)
    total = spec[:, r > 1 / 40].sum(axis=1) + 1e-9
    band_e = spec[:, band]
    peak = r[band][np.argmax(band_e, axis=1)]
    # energy-weighted mean frequency around the peak is steadier than the arg-max alone
    near = np.abs(r[band][None, :] - peak[:, None]) <= 1.5 / size
    wts = band_e * near
    freq = (wts * r[band][None, :]).sum(axis=1) / (wts.sum(axis=1) + 1e-12)
    clar = band_e.sum(axis=1) / total
    # how concentrated the band energy is around the peak: a clean ridge pattern has a sharp spectral peak
    conc = wts.sum(axis=1) / (band_e.sum(axis=1) + 1e-12)
    return freq, clar, conc


def _quality(mask: NDArray[np.uint8], coh: NDArray[np.float32], clarity: NDArray[np.float32],
             contrast: float) -> int:
    area = int(mask.sum())
    if area == 0:
        return 0
    ocl = float(coh[mask > 0].mean())
    inside = clarity > 0
    clar = float(clarity[inside].mean()) if inside.any() else 0.0
    area_factor = min(1.0, area / (160.0 * 160.0))
    contrast_factor = float(np.clip((contrast - 8.0) / 17.0, 0, 1))  # grey levels: 25+ is a crisp print
    score = (100.0 * np.clip(ocl / 0.75, 0, 1) * np.clip(clar / 0.45, 0, 1) * (0.5 + 0.5 * area_factor)
             * (0.4 + 0.6 * contrast_factor))
    return round(float(np.clip(score, 0, 100)))


_GABOR_CACHE: dict[tuple[int, int, float, float, float], list[NDArray[np.float32]]] = {}


def local_period_map(period_field: NDArray[np.float32], period: float, shape: tuple[int, ...],
                     clamp: tuple[float, float], smooth: float = 1.0) -> NDArray[np.float32]:
    """Per-pixel ridge period from the per-block estimates: blocks outside the foreground take the median,
    a 3×3 median then a Gaussian of σ ``smooth`` blocks remove single wrong peaks, values are clamped to
    ``clamp`` × the median (and 5..14 px), and the block field is interpolated bilinearly to the pixels
    (block centres at ``_STEP`` · i + ``_BLOCK`` / 2)."""
    field = np.where(np.isfinite(period_field), period_field, period).astype(np.float32)
    field = np.clip(field, clamp[0] * period, clamp[1] * period)
    if min(field.shape) >= 3:
        field = np.asarray(cv2.medianBlur(field, 3), dtype=np.float32)
    if smooth > 0:
        field = np.asarray(cv2.GaussianBlur(field, (0, 0), smooth), dtype=np.float32)
    field = np.clip(field, max(5.0, clamp[0] * period), min(14.0, clamp[1] * period)).astype(np.float32)
    h, w = shape[:2]
    gx = ((np.arange(w, dtype=np.float32) - _BLOCK / 2) / _STEP)[None, :].repeat(h, axis=0)
    gy = ((np.arange(h, dtype=np.float32) - _BLOCK / 2) / _STEP)[:, None].repeat(w, axis=1)
    out = cv2.remap(field, gx, gy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float32)


def _gabor_bank(period: float, across: float = 0.5, along: float = 0.7,
                extent: float = 2.5) -> list[NDArray[np.float32]]:
    key = (round(period * 4), _ORIENT_BINS, across, along, extent)
    bank = _GABOR_CACHE.get(key)
    if bank is not None:
        return bank
    t = key[0] / 4.0
    su, sv = across * t, along * t  # across, along the ridges; tuned on the dev sets
    half = int(np.ceil(extent * max(su, sv)))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    bank = []
    for b in range(_ORIENT_BINS):
        alpha = b * np.pi / _ORIENT_BINS  # wave direction = across the ridges (gradient direction)
        u = xx * np.cos(alpha) + yy * np.sin(alpha)
        v = -xx * np.sin(alpha) + yy * np.cos(alpha)
        g = np.exp(-0.5 * (u * u / (su * su) + v * v / (sv * sv))) * np.cos(2 * np.pi * u / t)
        g -= g.mean()
        g /= np.abs(g).sum()
        bank.append(g.astype(np.float32))
    _GABOR_CACHE[key] = bank
    return bank


def _gabor(norm: NDArray[np.float32], orient: NDArray[np.float32], period: float,
           mask: NDArray[np.uint8], local: NDArray[np.float32] | None = None,
           config: ExtractorConfig = SHIPPED) -> NDArray[np.float32]:
    """Per-pixel oriented Gabor response over the foreground (the costly step; zero elsewhere).

    Each foreground pixel is correlated with the kernel of its orientation bin and period: the print's median
    ``period``, or with a per-pixel period map ``local`` the kernel of the pixel's own period bin
    (``config.period_bin`` px). The image is reflected at its border, as ``cv2.filter2D`` does. Only the kept
    responses are computed (:func:`_filter.correlate_by_label`): filtering per (period, orientation) group with
    ``cv2.filter2D`` over each group's patches, as fp/1.3 first did, computed every response in a kernel-wide
    margin around thin patches and threw it away (this step 117 → 37 ms CPU, median of 20 FVC2000_DB3 images;
    responses equal up to float32 rounding, templates identical on all nine FVC sets). The labels come from one
    compiled pass (:func:`_filter.bin_labels`, the same bins): numpy's gathers and scatters of every foreground
    pixel took about 5 ms of it.
    """
    if not mask.any():
        return np.zeros_like(norm)
    label, kinds = _filter.bin_labels(mask, orient, local, config.period_bin, _ORIENT_BINS)
    if local is None:
        banks = [_gabor_bank(period, config.gabor_across, config.gabor_along, config.gabor_extent)]
    else:
        banks = [_gabor_bank(float(k) * config.period_bin, config.gabor_across, config.gabor_along,
                             config.gabor_extent) for k in kinds]
    kernels = [kern for bank in banks for kern in bank]
    half = np.array([kern.shape[0] // 2 for kern in kernels], np.int64)
    size = np.array([kern.size for kern in kernels], np.int64)
    flat = np.concatenate([kern.ravel() for kern in kernels])
    pad = int(half.max())
    src = np.asarray(cv2.copyMakeBorder(norm, pad, pad, pad, pad, cv2.BORDER_REFLECT), dtype=np.float32)
    return _filter.correlate_by_label(src, pad, label, flat, np.cumsum(size) - size, half)


# -- minutiae -------------------------------------------------------------------------------------------------
def _minutiae(a: Analysis, config: ExtractorConfig = SHIPPED) -> tuple[  # noqa: PLR0915 - one pass of pruning rules
        NDArray[np.float32], NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]:
    t = a.period
    er = max(3, round(1.2 * t))
    inner = _ellipse_morph(a.mask, cv2.erode, 2 * er + 1)
    max_len = max(6, round(max(1.6, config.short_ridge) * t))
    pos, kind, br, info = sk.find_candidates(a.skeleton, inner, max_len)
    n = len(kind)
    if n == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0), np.zeros(0, np.uint8), np.zeros(0, np.uint8)
    keep = np.ones(n, bool)
    posf = pos.astype(np.float64)
    yx = posf.tolist()  # the pairwise loops below read Python floats: numpy scalar indexing costs ~10× more

    def nearest(py: int, px: int, exclude: int, radius: float) -> int:
        d = np.hypot(posf[:, 0] - py, posf[:, 1] - px)
        d[exclude] = np.inf
        j = int(np.argmin(d))
        return j if d[j] <= radius else -1

    bif = [int(v) for v in np.nonzero(kind == 2)[0]]
    # 1. merge bifurcation clusters (adjacent junction pixels are one bifurcation)
    for ii, i in enumerate(bif):
        if not keep[i]:
            continue
        for j in bif[ii + 1 :]:
            if keep[j] and abs(yx[i][0] - yx[j][0]) <= 2.5 and abs(yx[i][1] - yx[j][1]) <= 2.5:
                keep[j] = False
    for i in range(n):
        if not keep[i] and kind[i] == 2:
            continue
        if kind[i] == 1:
            steps, reason = int(info[i, 0, 0]), int(info[i, 0, 1])
            if reason == sk.REASON_JUNCTION and steps < config.spur_len * t:  # spur
                keep[i] = False
                other = nearest(int(br[i, 0, 0]), int(br[i, 0, 1]), i, 3.0)
                if other >= 0 and kind[other] == 2:
                    keep[other] = False
            elif reason == sk.REASON_END and steps < config.short_ridge * t:  # short isolated ridge or dot
                keep[i] = False
        else:
            for b in range(3):
                steps, reason = int(info[i, b, 0]), int(info[i, b, 1])
                if steps == 0:
                    continue
                if reason == sk.REASON_JUNCTION and steps < config.spur_len * t:  # bridge or small hole
                    other = nearest(int(br[i, b, 0]), int(br[i, b, 1]), i, 3.5)
                    keep[i] = False
                    if other >= 0 and kind[other] == 2:
                        keep[other] = False
    # directions from the traces, refined with the orientation field
    ang = np.zeros(n)
    for i in range(n):
        y, x = posf[i]
        if kind[i] == 1:
            vy, vx = br[i, 0, 0] - y, br[i, 0, 1] - x  # inward: from the end along the ridge body (as ISO SDKs do)
        else:
            vecs = [(br[i, b, 0] - y, br[i, b, 1] - x) for b in range(3) if info[i, b, 0] > 0]
            if len(vecs) < 3:
                keep[i] = False
                continue
            angs = [np.arctan2(v[0], v[1]) for v in vecs]
            gaps = []
            for p in range(3):
                q = (p + 1) % 3
                d = abs((angs[p] - angs[q] + np.pi) % (2 * np.pi) - np.pi)
                gaps.append((d, 3 - p - q))
            stem = min(gaps)[1]  # the branch not in the tightest pair is the stem
            vy, vx = -vecs[stem][0], -vecs[stem][1]  # pointing away from the stem, into the fork
        if vy == 0 and vx == 0:
            keep[i] = False
            continue
        trace_dir = np.arctan2(vy, vx)
        o = float(a.orientation[int(y), int(x)])
        cand = o if abs(_wrap(o - trace_dir)) <= np.pi / 2 else o + np.pi
        ang[i] = cand
    # broken ridges: two endings close together, facing each other
    ends = [int(v) for v in np.nonzero(keep & (kind == 1))[0]]
    gap = config.broken_gap * t
    for ii, i in enumerate(ends):
        for j in ends[ii + 1 :]:
            dy, dx = yx[j][0] - yx[i][0], yx[j][1] - yx[i][1]
            if abs(dy) >= gap or abs(dx) >= gap or not (keep[i] and keep[j]):
                continue  # hypot(dy, dx) >= max(|dy|, |dx|): too far apart without computing it
            if np.hypot(dy, dx) < gap and abs(_wrap(ang[i] - ang[j] - np.pi)) < np.pi / 4:
                link = np.arctan2(dy, dx)
                if abs(_wrap(ang[i] - link)) < np.pi / 3:
                    keep[i] = keep[j] = False
    # clusters: anything still closer than half a ridge period to another minutia is unreliable
    idx = np.nonzero(keep)[0]
    if len(idx) > 1:
        pts = posf[idx]
        pd = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        np.fill_diagonal(pd, np.inf)
        crowded = (pd < config.cluster * t).any(axis=1)
        keep[idx[crowded]] = False
    idx = np.nonzero(keep)[0]
    # minutia quality: local coherence, damped near the foreground edge
    dist = cv2.distanceTransform(a.mask, cv2.DIST_L2, 5)
    ys, xs = pos[idx, 0], pos[idx, 1]
    q = np.clip(a.coherence[ys, xs] / 0.8, 0, 1) * np.clip(dist[ys, xs] / (3 * t), 0.3, 1.0)
    mq = np.rint(100 * q).astype(np.uint8)
    good = mq >= MIN_MINUTIA_QUALITY
    idx, mq, ys, xs = idx[good], mq[good], ys[good], xs[good]
    if len(idx) > config.max_minutiae:
        top = np.argsort(-mq, kind="stable")[:config.max_minutiae]
        idx, mq, ys, xs = idx[top], mq[top], ys[top], xs[top]
    xy = np.stack([xs, ys], axis=1).astype(np.float32)
    # image angles (y down) → template angles (counter-clockwise, y up)
    angle = np.mod(-ang[idx], 2 * np.pi)
    kinds = np.where(kind[idx] == 1, MinutiaKind.ENDING, MinutiaKind.BIFURCATION).astype(np.uint8)
    return xy, angle, kinds, mq


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)
