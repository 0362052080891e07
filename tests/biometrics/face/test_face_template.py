"""Face templates: combination and the versioned byte form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from idverify.biometrics.face.engine import ALGORITHM_VERSION, compare
from idverify.biometrics.face.template import FaceTemplate, combine
from idverify.errors import BiometricError, ConfigError, ValidationFailed


def _vec(seed: int) -> NDArray[np.float32]:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32)


@given(st.integers(0, 10_000), st.integers(1, 5))
@settings(max_examples=30, deadline=None)
def test_bytes_round_trip(seed: int, n: int) -> None:
    tpl = combine([_vec(seed + i) for i in range(n)], ALGORITHM_VERSION)
    back = FaceTemplate.from_bytes(tpl.to_bytes(), expected_version=ALGORITHM_VERSION)
    assert back.n_samples == n
    assert back.algorithm_version == ALGORITHM_VERSION
    np.testing.assert_array_equal(back.vector, tpl.vector)
    np.testing.assert_array_equal(back.encodings, tpl.encodings)
    assert back.encodings.shape == (n, 128)
    assert abs(float(np.linalg.norm(back.vector)) - 1.0) < 1e-5


def test_the_best_enrolment_capture_decides_not_the_mean() -> None:
    a, b = _vec(1), _vec(2)  # two captures of one person, far apart (nearly orthogonal in 128-d)
    tpl = combine([a, b], ALGORITHM_VERSION)
    assert compare(tpl, a) == pytest.approx(1.0, abs=1e-5)
    assert compare(b, tpl) == pytest.approx(1.0, abs=1e-5)
    # an "average face" between them matches the mean perfectly, but no capture: it gets no free pass
    between = ((a + b) / np.linalg.norm(a + b)).astype(np.float32)
    assert float(np.dot(tpl.vector, between)) == pytest.approx(1.0, abs=1e-5)
    assert compare(tpl, between) < 0.8  # cos 45° ≈ 0.71 for orthogonal captures
    assert compare(tpl, _vec(99)) < 0.5


def test_format_1_templates_still_compare_by_their_mean() -> None:
    import struct

    mean = _vec(5)
    version = ALGORITHM_VERSION.encode("utf-8")
    legacy = (b"IVFT" + struct.pack("<BH", 1, len(version)) + version + struct.pack("<HH", 3, 128)
              + mean.astype("<f4").tobytes())
    tpl = FaceTemplate.from_bytes(legacy, expected_version=ALGORITHM_VERSION)
    assert tpl.encodings.shape == (1, 128) and tpl.n_samples == 3
    np.testing.assert_array_equal(tpl.vector, mean)
    assert compare(tpl, mean) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValidationFailed):
        FaceTemplate.from_bytes(legacy + b"\x00\x00")


def test_corrupt_bytes_and_other_versions_are_refused() -> None:
    data = combine([_vec(3)], ALGORITHM_VERSION).to_bytes()
    for bad in (b"", b"XXXX" + data[4:], data[:-3], data + b"\x00"):
        with pytest.raises(ValidationFailed):
            FaceTemplate.from_bytes(bad)
    other = combine([_vec(3)], "other-algo/9").to_bytes()
    with pytest.raises(ValidationFailed, match="re-enrol"):
        FaceTemplate.from_bytes(other, expected_version=ALGORITHM_VERSION)
    with pytest.raises(ConfigError):
        compare(FaceTemplate.from_bytes(other), _vec(3))


def test_empty_enrolment_is_refused() -> None:
    with pytest.raises(BiometricError):
        combine([], ALGORITHM_VERSION)
