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
    assert abs(float(np.linalg.norm(back.vector)) - 1.0) < 1e-5


def test_template_is_closer_to_its_samples_than_to_others() -> None:
    base = _vec(1)
    captures = [(base + 0.3 * _vec(10 + i)).astype(np.float32) for i in range(4)]
    tpl = combine(captures, ALGORITHM_VERSION)
    assert compare(tpl, base) > max(compare(c, base) for c in captures) - 1e-6
    assert compare(tpl, _vec(99)) < 0.5


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
