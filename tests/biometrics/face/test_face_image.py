"""Image loading: EXIF orientation, colour modes, unreadable input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idverify.biometrics.face.image import as_rgb_array, load_image
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
        as_rgb_array(np.zeros((5, 6, 3), dtype=np.float32))  # type: ignore[arg-type]


def test_garbage_is_refused_with_code() -> None:
    with pytest.raises(BiometricError) as err:
        load_image(b"not an image at all")
    assert err.value.code == "image_unreadable"


def test_truncated_jpeg_is_refused() -> None:
    data = _jpeg_with_orientation(1)
    with pytest.raises(BiometricError):
        load_image(data[: len(data) // 3])
