"""Synthetic fingerprints that match: a master ridge pattern per finger, several distorted impressions of it.

Why: the demo must work from the repository alone. Without the public samples beside the checkout the simulated
sensor used to serve concentric rings, in which the extractor finds a handful of unrelated minutiae, so enrolment
and the stage checks could not be walked. A real finger has a ridge *flow* with a few singular points and ridges
that end and split; each time it lands on the glass it is pressed, rotated and stretched a little differently.
This module makes exactly that, following the SFinGe recipe (Cappelli, Maio, Maltoni: "Synthetic fingerprint-image
generation", ICPR 2000), simplified:

1. **Orientation field** from singular points with the zero-pole model (Sherlock and Monro, 1993): the ridge angle
   at ``z`` is half the sum of the arguments of ``z - core`` minus those of ``z - delta``. Loops, whorls and arches
   come from the number and place of cores and deltas; each finger draws its class and positions from its seed.
2. **Ridge growth**: from sparse random seeds, repeated filtering with a Gabor filter tuned to the local
   orientation and a fixed ridge period (9 px at 500 dpi, the sensor's resolution) grows parallel ridges; where
   flows meet, ridges end and bifurcate — the minutiae — without drawing them one by one.
3. **Impressions**: the master is warped by a smooth random displacement field (skin elasticity) plus a small
   rotation and shift, shown through a fingertip-shaped contact area that moves, pressed harder or softer (ridge
   width), blurred and noised. Same finger, different impression; different fingers share nothing but the period.

Deterministic: the same ``(finger, impression)`` gives the same image bytes. Good enough for the extractor and
matcher to tell fingers apart in the demo and tests (see ``tests/devices/test_fingerprint_synth.py``); not a
benchmark set — accuracy is measured on the public samples by ``idverify bench fingerprint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

HEIGHT, WIDTH = 288, 256  # the ZhianTec/R30x image, 500 dpi
PERIOD = 9.0  # ridge period in pixels at 500 dpi (adult fingertips: 0.4–0.5 mm)
_BINS = 16  # orientation bins of the Gabor bank


@dataclass(frozen=True)
class Singularities:
    cores: tuple[tuple[float, float], ...]  # (x, y) in pixels
    deltas: tuple[tuple[float, float], ...]


def _singularities(rng: np.random.Generator) -> Singularities | None:
    """A fingerprint class and its singular points; None for a plain arch (no singular point)."""
    kind = rng.choice(["left_loop", "right_loop", "whorl", "arch"], p=[0.34, 0.31, 0.27, 0.08])
    cx, cy = WIDTH / 2 + rng.normal(0, 20), HEIGHT * 0.42 + rng.normal(0, 18)
    if kind == "arch":
        return None
    if kind == "whorl":
        gap = rng.uniform(12, 26)
        return Singularities(cores=((cx - gap / 2, cy - 6), (cx + gap / 2, cy + 6)),
                             deltas=((cx - rng.uniform(70, 95), cy + rng.uniform(85, 115)),
                                     (cx + rng.uniform(70, 95), cy + rng.uniform(85, 115))))
    side = -1.0 if kind == "left_loop" else 1.0
    return Singularities(cores=((cx, cy),),
                         deltas=((cx + side * rng.uniform(55, 90), cy + rng.uniform(80, 120)),))


def orientation_field(rng: np.random.Generator) -> NDArray[np.float64]:
    """Ridge direction in radians, [0, π), per pixel (zero-pole model, or a smooth arch)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    points = _singularities(rng)
    if points is None:
        # arch: ridges run across and bulge upward in the middle
        bulge = rng.uniform(0.6, 1.1)
        slope = -bulge * np.pi / WIDTH * 60 * np.cos(np.pi * xx / WIDTH) * np.clip(1.2 - yy / HEIGHT, 0.2, 1.2)
        theta = np.arctan(slope)
    else:
        theta = np.zeros_like(xx)
        for x0, y0 in points.cores:
            theta += np.arctan2(yy - y0, xx - x0)
        for x0, y0 in points.deltas:
            theta -= np.arctan2(yy - y0, xx - x0)
        theta = theta / 2
    # a tilt of the whole finger and a gentle twist, so that fingers of one class differ beyond their singular points
    theta += rng.normal(0, 0.15) + 0.12 * np.sin(xx / WIDTH * np.pi * rng.uniform(0.5, 1.5) + rng.uniform(0, 6)) \
        + 0.08 * np.sin(yy / HEIGHT * np.pi * rng.uniform(0.5, 1.5) + rng.uniform(0, 6))
    out: NDArray[np.float64] = np.mod(theta, np.pi)
    return out


def _gabor_bank(period: float) -> list[NDArray[np.float32]]:
    sigma = period * 0.45
    half = round(sigma * 3)
    ys, xs = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    bank = []
    for k in range(_BINS):
        theta = np.pi * k / _BINS
        across = -xs * np.sin(theta) + ys * np.cos(theta)  # distance across the ridges
        kernel = np.exp(-(xs ** 2 + ys ** 2) / (2 * sigma ** 2)) * np.cos(2 * np.pi * across / period)
        kernel -= kernel.mean()
        bank.append((kernel / np.abs(kernel).sum()).astype(np.float32))
    return bank


@cache
def master(finger: int) -> NDArray[np.float32]:
    """The finger's ridge pattern in [-1, 1] (ridges negative), over the whole sensor area."""
    rng = np.random.default_rng(1_000_003 * (finger + 1))
    theta = orientation_field(rng)
    bins = np.round(theta / np.pi * _BINS).astype(np.int64) % _BINS
    bank = _gabor_bank(PERIOD * rng.uniform(0.9, 1.1))
    img = np.zeros((HEIGHT, WIDTH), np.float32)
    seeds = rng.random((HEIGHT, WIDTH)) < 0.004
    img[seeds] = rng.choice([-1.0, 1.0], size=int(seeds.sum())).astype(np.float32)
    for _ in range(10):
        responses = np.stack([cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT) for k in bank])
        grown = np.take_along_axis(responses, bins[None], axis=0)[0]
        scale = float(np.percentile(np.abs(grown), 90)) or 1.0
        img = np.clip(grown / scale * 1.6, -1.0, 1.0)
    return img


def _displacement(rng: np.random.Generator, amplitude: float) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A smooth random displacement field (skin stretching under pressure), ``amplitude`` px at most about."""
    fields: list[NDArray[np.float32]] = []
    for _ in range(2):  # x and y
        noise = rng.normal(0, 1, (HEIGHT // 16 + 1, WIDTH // 16 + 1)).astype(np.float32)
        smooth = cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
        fields.append((smooth / (np.abs(smooth).max() or 1.0) * amplitude).astype(np.float32))
    return fields[0], fields[1]


def impression(finger: int, number: int) -> NDArray[np.uint8]:
    """Impression ``number`` (1, 2, …) of ``finger``: warped, rotated, shifted, pressed and noised, 8-bit gray."""
    ridges = master(finger)
    rng = np.random.default_rng(7_919 * (finger + 1) + 104_729 * number)
    angle = np.deg2rad(rng.normal(0, 6))
    dx, dy = rng.normal(0, 8), rng.normal(0, 8)
    ex, ey = _displacement(rng, amplitude=rng.uniform(1.5, 3.5))
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    cx, cy = WIDTH / 2, HEIGHT / 2
    cos, sin = np.cos(angle), np.sin(angle)
    map_x = (cos * (xx - cx) - sin * (yy - cy) + cx - dx + ex).astype(np.float32)
    map_y = (sin * (xx - cx) + cos * (yy - cy) + cy - dy + ey).astype(np.float32)
    warped = cv2.remap(ridges, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # pressure: a firm press widens the ridges (dark), a light one thins them
    pressure = rng.uniform(-0.25, 0.25)
    ink = 1.0 / (1.0 + np.exp(-(-warped + pressure) * 4.0))  # 1 on a ridge, 0 in a valley
    # the fingertip's contact area: an ellipse, a little off-centre, soft at its edge
    ax, ay = WIDTH * rng.uniform(0.36, 0.42), HEIGHT * rng.uniform(0.44, 0.50)
    ox, oy = cx + rng.normal(0, 6), cy + rng.normal(0, 8)
    contact = np.clip((1.0 - ((xx - ox) / ax) ** 2 - ((yy - oy) / ay) ** 2) * 6.0, 0.0, 1.0)
    dark = rng.uniform(30, 70)
    gray = 235.0 - (235.0 - dark) * ink * contact
    gray = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), rng.uniform(0.6, 1.1))
    gray += rng.normal(0, rng.uniform(4, 9), gray.shape).astype(np.float32)
    out: NDArray[np.uint8] = np.clip(gray, 0, 255).astype(np.uint8)
    return out


def write_fingers(directory: Path, fingers: int, impressions: int = 4, *, first_label: int = 101) -> Path:
    """Write ``fingers`` × ``impressions`` PNGs named like the FVC sets (``101_1.png``…) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for f in range(fingers):
        for n in range(1, impressions + 1):
            path = directory / f"{first_label + f}_{n}.png"
            if not path.exists():
                cv2.imwrite(str(path), impression(f, n))
    return directory
