"""The WLT photo decoder plug-in point: discovery through entry points and graceful degradation."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from idverify.devices import wlt
from idverify.errors import DeviceError


class GoodDecoder:
    name = "good"

    def decode(self, data: bytes) -> bytes:
        ok, bmp = cv2.imencode(".bmp", np.zeros((126, 102, 3), np.uint8))
        assert ok
        return bytes(bmp.tobytes())


class BrokenDecoder:
    name = "broken"

    def decode(self, data: bytes) -> bytes:
        raise RuntimeError("licence check failed")


def test_no_decoder_keeps_raw_wlt() -> None:
    assert wlt.decode_photo(b"\x01" * 1024, None) == (b"\x01" * 1024, "wlt")


def test_decoder_output_becomes_png_of_documented_size() -> None:
    image, fmt = wlt.decode_photo(bytes(1024), GoodDecoder())
    assert fmt == "png"
    decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (126, 102, 3)


def test_failing_decoder_degrades_to_unavailable() -> None:
    assert wlt.decode_photo(b"\x02" * 1024, BrokenDecoder()) == (b"\x02" * 1024, "wlt")


def test_entry_point_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [
        EntryPoint("a_broken", "nonexistent.module:Factory", wlt.ENTRY_POINT_GROUP),
        EntryPoint("b_good", f"{__name__}:GoodDecoder", wlt.ENTRY_POINT_GROUP),
    ]

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        assert group == "idverify.wlt_decoders"
        return eps

    monkeypatch.setattr(wlt, "entry_points", fake_entry_points)
    decoder = wlt.discover_decoder()
    assert decoder is not None and decoder.name == "good"


def test_no_entry_points_means_no_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    def none(**_: Any) -> list[EntryPoint]:
        return []

    monkeypatch.setattr(wlt, "entry_points", none)
    assert wlt.discover_decoder() is None


def test_missing_shared_library_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DeviceError) as err:
        wlt.discover_decoder(tmp_path / "libwltrs.so")
    assert err.value.code == "photo_decoder_error"
