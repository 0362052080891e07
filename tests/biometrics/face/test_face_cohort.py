"""The cohort-normalisation measurement (``idverify.bench.face_cohort``): the normalisations are the textbook
ones, and the leave-one-dataset-out evaluation never lets a held-out set into its own cohort or threshold."""

from __future__ import annotations

import numpy as np
import pytest

from idverify.bench.face_cohort import FaceSet, evaluate, normalised_scores


def _unit(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def test_normalisations_use_each_sides_cohort_statistics() -> None:
    rng = np.random.default_rng(0)
    probe, reference, cohort = (_unit(rng.normal(size=(n, 8))) for n in (3, 3, 20))
    raw = np.einsum("ij,ij->i", probe, reference)
    assert np.allclose(normalised_scores(probe, reference, cohort, "raw"), raw)
    against_ref = reference @ cohort.T
    z = (raw - against_ref.mean(axis=1)) / against_ref.std(axis=1)
    assert np.allclose(normalised_scores(probe, reference, cohort, "znorm"), z)
    against_probe = probe @ cohort.T
    t = (raw - against_probe.mean(axis=1)) / against_probe.std(axis=1)
    assert np.allclose(normalised_scores(probe, reference, cohort, "tnorm"), t)
    assert np.allclose(normalised_scores(probe, reference, cohort, "snorm"), (z + t) / 2)
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalised_scores(probe, reference, cohort, "anorm")


def _set(name: str, seed: int, spread: float) -> FaceSet:
    """Four identities x four images around random centres; ``spread`` = within-identity noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 16))
    enc = np.concatenate([c + spread * rng.normal(size=(4, 16)) for c in centres])
    return FaceSet(name, _unit(enc), np.repeat([f"{name}{k}" for k in range(4)], 4))


def test_leave_one_dataset_out_evaluation_shape_and_separation() -> None:
    sets = [_set("a", 1, 0.1), _set("b", 2, 0.1), _set("c", 3, 0.1)]
    result = evaluate(sets)
    assert set(result) == {"a", "b", "c"}
    for rows in result.values():
        assert set(rows) == {"raw", "znorm", "tnorm", "snorm", "znorm_in_set", "tnorm_in_set", "snorm_in_set"}
        for row in rows.values():
            assert (row["genuine"], row["impostor"]) == (24, 96)  # 4 x C(4,2); C(16,2) - 24
            assert 0.0 <= row["eer"] <= 0.5 and 0.0 <= row["transfer_fmr1"]["fmr"] <= 1.0
        # tight identities: raw cosine separates them, and a threshold set on the other sets keeps every genuine
        assert rows["raw"]["eer"] == 0.0 and rows["raw"]["transfer_fmr1"]["fnmr"] == 0.0
    assert result["a"]["raw"]["transfer_fmr1"]["tuned_on"] == ["b", "c"]
    assert "transfer_fmr1" not in evaluate(sets[:2])["a"]["raw"]  # one other set: no held-out threshold
