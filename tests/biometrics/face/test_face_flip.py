"""Horizontal-flip test-time augmentation (``FaceConfig.flip``): off in face/2, so the shipped encodings (and the
enrolled templates made of them) stay bit-for-bit those of before; on, the mirror image's descriptor is combined
with the chip's as documented."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from idverify.bench import lodo_face
from idverify.biometrics.face.engine import ALGORITHM_VERSION, SHIPPED, FaceConfig, FaceEngine
from idverify.biometrics.face.template import FaceTemplate, unit

ALEX = "face_recognition_examples/alex_lacamoire/examples__alex-lacamoire.png"
#: SHA-256 of the little-endian float32 face/2 encoding of ALEX, produced by main at c3c9423 (before the flip
#: option existed) with ``get_face_engine().analyse(path, largest_only=True, enforce_quality=False)``.
ALEX_FACE2_SHA256 = "a1bf7ecd197590bfc6eabed39ff1fa9a84e1fb6a945cf8494983171e878a91e4"


class _SpyEncoder:
    """Wraps dlib's ResNet and keeps every chip it was given and the descriptor it returned."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[NDArray[np.uint8], NDArray[np.float32]]] = []

    def compute_face_descriptor(self, chip: NDArray[np.uint8], jitters: int) -> Any:
        out = self.inner.compute_face_descriptor(chip, jitters)
        self.calls.append((np.array(chip), np.asarray(out, dtype=np.float32)))
        return out


def _spied(config: FaceConfig) -> tuple[FaceEngine, _SpyEncoder]:
    engine = FaceEngine(config)
    spy = _SpyEncoder(engine._encoder)
    engine._encoder = spy
    return engine, spy


def test_face2_does_not_flip_and_its_encoding_is_unchanged(engine: FaceEngine, face_dir: Path) -> None:
    assert SHIPPED.flip is None and FaceEngine.__init__.__defaults__ == (SHIPPED,)
    assert ALGORITHM_VERSION.startswith("idverify-face/2 ") and "flip" not in ALGORITHM_VERSION
    sample = engine.analyse(face_dir / ALEX, largest_only=True, enforce_quality=False)
    assert hashlib.sha256(sample.encoding.astype("<f4").tobytes()).hexdigest() == ALEX_FACE2_SHA256
    template = engine.make_template([sample])
    assert FaceTemplate.from_bytes(template.to_bytes()).encodings.tobytes() == sample.encoding.tobytes()


def test_without_flip_the_resnet_runs_once_and_its_descriptor_is_the_encoding(face_dir: Path) -> None:
    engine, spy = _spied(SHIPPED)
    sample = engine.analyse(face_dir / ALEX, largest_only=True, enforce_quality=False)
    assert len(spy.calls) == 1
    assert sample.encoding.tobytes() == unit(spy.calls[0][1]).tobytes()


@pytest.mark.parametrize("mode", ["mean", "unit-mean"])
def test_flip_encodes_the_mirrored_chip_and_combines_the_two(face_dir: Path, mode: str) -> None:
    engine, spy = _spied(dataclasses.replace(SHIPPED, name=f"flip-{mode}", flip=mode))  # type: ignore[arg-type]
    sample = engine.analyse(face_dir / ALEX, largest_only=True, enforce_quality=False)
    assert len(spy.calls) == 2
    (chip, d1), (mirrored, d2) = spy.calls
    assert chip.shape == (150, 150, 3) and np.array_equal(mirrored, chip[:, ::-1])
    expected = unit(d1 + d2) if mode == "mean" else unit(unit(d1) + unit(d2))
    assert np.allclose(sample.encoding, expected, atol=1e-6)
    assert float(np.linalg.norm(sample.encoding)) == pytest.approx(1.0, abs=1e-5)
    # the mirror image's descriptor is a different one, and the combination lies between the two
    assert not np.allclose(d1, d2, atol=1e-3)
    assert float(sample.encoding @ unit(d1)) > float(unit(d1) @ unit(d2))
    assert float(sample.encoding @ unit(d2)) > float(unit(d1) @ unit(d2))
    # and is not the face/2 encoding (the option really changes the encoding, so it must never be the default)
    assert hashlib.sha256(sample.encoding.astype("<f4").tobytes()).hexdigest() != ALEX_FACE2_SHA256


def test_the_lodo_grid_has_a_flip_twin_of_every_alignment_after_them() -> None:
    names = list(lodo_face.GRID)
    plain = [n for n in names if lodo_face.GRID[n].flip is None]
    assert names[:len(plain)] == plain and len(plain) == 8  # `--grid` with the first eight: the choice without flip
    assert lodo_face.GRID["face2-flip"] == dataclasses.replace(SHIPPED, name="face2-flip", flip="mean")
    assert lodo_face.GRID["face2-flip-unit"].flip == "unit-mean"
    assert lodo_face.GRID["face1-flip"] == FaceConfig("face1-flip", flip="mean")
    for n in plain[2:]:
        twin = lodo_face.GRID[f"{n}-flip"]
        assert dataclasses.replace(twin, name=n, flip=None) == lodo_face.GRID[n]
