"""Image loading: EXIF orientation, colour modes, unreadable input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idverify.biometrics.face.image import as_rgb_array, letterbox, load_image
from idverify.errors import BiometricError


def _jpeg_with_orientation(orientation: int) -> bytes:
    img = Image.new("RGB", (40, 20), (200, 10, 10))
    img.paste((10, 200, 10), (0, 0, 10, 20))  # green band on the left edge
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def test_exif_orientation_is_applied() -> None:
    upright = load_image(_jpeg_with_orientation(1))
    rotated = load_image(_jpeg_with_orientation(6))  # "rotate 90 CW to display"
    assert upright.shape == (20, 40, 3)
    assert rotated.shape == (40, 20, 3)
    # after a 90° clockwise turn the green left band becomes the top band
    assert rotated[:5, :, 1].mean() > 150 and rotated[-5:, :, 1].mean() < 60


def test_rgba_png_is_composited_on_white(tmp_path: Path) -> None:
    arr = np.zeros((8, 8, 4), dtype=np.uint8)
    arr[..., 3] = 0  # fully transparent
    path = tmp_path / "a.png"
    Image.fromarray(arr, "RGBA").save(path)
    rgb = load_image(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (8, 8, 3)
    assert rgb.min() == 255


def test_greyscale_and_arrays() -> None:
    grey = np.full((5, 6), 7, dtype=np.uint8)
    assert as_rgb_array(grey).shape == (5, 6, 3)
    with pytest.raises(BiometricError):
        as_rgb_array(np.zeros((5, 6, 3), dtype=np.float32))


def test_garbage_is_refused_with_code() -> None:
    with pytest.raises(BiometricError) as err:
        load_image(b"not an image at all")
    assert err.value.code == "image_unreadable"


def test_truncated_jpeg_is_refused() -> None:
    data = _jpeg_with_orientation(1)
    with pytest.raises(BiometricError):
        load_image(data[: len(data) // 3])


def test_letterbox_keeps_proportions_with_grey_bars() -> None:
    portrait = np.zeros((300, 100, 3), dtype=np.uint8)
    portrait[:, :, 0] = 200  # a red-ish strip, so the bars (96 grey) and the photo are told apart
    frame = letterbox(portrait, 640, 480)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    photo_cols = np.nonzero(frame[240, :, 0] == 200)[0]
    # 300 px tall → 480: scale 1.6, so the 100 px width becomes 160 px, centred
    assert photo_cols.size == 160 and photo_cols[0] == (640 - 160) // 2
    assert (frame[:, : photo_cols[0]] == 96).all() and (frame[:, photo_cols[-1] + 1:] == 96).all()
    wide = letterbox(np.full((100, 1000, 3), 200, dtype=np.uint8), 640, 480)
    photo_rows = np.nonzero(wide[:, 320, 0] == 200)[0]
    assert photo_rows.size == 64 and (wide[: photo_rows[0]] == 96).all()  # 1000 → 640: scale 0.64
