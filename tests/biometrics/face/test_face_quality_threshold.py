"""The quality-aware threshold measurement (``idverify.bench.face_quality_threshold``): a pair is as good as its
worse image, the thresholds come from the other sets only, and a planted quality effect is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idverify.bench.face_cohort import FaceSet
from idverify.bench.face_quality_threshold import MEASURES, evaluate, pair_quality, transfer


def _unit(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def _set(name: str, seed: int) -> FaceSet:
    """Eight identities x six images; half the images small (inter-eye 30 px) and pulled towards one shared
    direction, as poor captures collapse towards an 'average face': their impostor pairs score high."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=32)
    rows, labels = [], []
    measures: list[dict[str, float | None]] = []
    for k in range(8):
        centre = rng.normal(size=32)
        for j in range(6):
            small = j % 2 == 1
            rows.append(centre + (2.0 * shared if small else 0) + 0.3 * rng.normal(size=32))
            labels.append(f"{name}{k}")
            measures.append({"inter_eye_px": 30.0 if small else 90.0, "sharpness": 100.0 if small else 400.0})
    return FaceSet(name, _unit(np.asarray(rows)), np.asarray(labels), tuple(measures))


def test_a_pair_is_as_good_as_its_worse_image() -> None:
    s = FaceSet("s", _unit(np.eye(3)), np.asarray(["a", "b", "c"]),
                ({"inter_eye_px": 80.0}, {"inter_eye_px": 40.0}, {"inter_eye_px": None}))
    pairs = np.asarray([[0, 1], [0, 2], [1, 0]])
    assert pair_quality(s, pairs, "inter_eye_px").tolist() == [40.0, 0.0, 40.0]


def test_thresholds_come_from_the_other_sets_only() -> None:
    a, b, c = _set("a", 1), _set("b", 2), _set("c", 3)
    first = transfer([b, c], a, "inter_eye_px")
    scrambled = FaceSet("a", a.encodings[::-1].copy(), a.labels, a.measures)
    again = transfer([b, c], scrambled, "inter_eye_px")
    assert first["thresholds"] == again["thresholds"] and first["split"] == again["split"]
    assert first["tuned_on"] == ["b", "c"]
    result = evaluate([a, b, c])
    assert set(result) == {"a", "b", "c"} and all(set(rows) == set(MEASURES) for rows in result.values())
    assert result["b"]["sharpness"]["tuned_on"] == ["a", "c"]
    with pytest.raises(ValueError, match="three sets"):
        evaluate([a, b])


def test_a_planted_quality_effect_gets_its_own_threshold() -> None:
    a, b, c = _set("a", 1), _set("b", 2), _set("c", 3)
    row = transfer([b, c], a, "inter_eye_px")
    assert row["split"] == 30.0  # most impostor pairs hold a small face: they are the low bin
    thr = row["thresholds"]
    assert thr["high"] < thr["single"] <= thr["low"]  # the collapsed small faces need a stricter threshold
    assert row["quality_aware"]["fnmr"] <= row["single"]["fnmr"]


def test_too_few_sets_on_the_command_line_is_a_usage_error(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from idverify.bench.face_cohort import sets_from_argv

    with pytest.raises(SystemExit) as few:
        sets_from_argv([str(tmp_path), str(tmp_path)], "tool", 3, "a face tool")
    assert few.value.code == 2
    assert "usage: python -m tool" in (err := capsys.readouterr().err) and "at least 3 face folders" in err
    with pytest.raises(SystemExit) as missing:
        sets_from_argv([str(tmp_path / "none"), str(tmp_path), str(tmp_path)], "tool", 3, "a face tool")
    assert missing.value.code == 2 and "not a folder" in capsys.readouterr().err
