"""Liveness: MiniFASNet on the (tiny) Silent-Face sample set, the crop rule, and the head-turn challenge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idverify.biometrics.pad import HeadTurnChallenge, get_pad_engine
from idverify.biometrics.pad.passive import INPUT_SIZE, PadEngine, crop_for_model
from idverify.errors import BiometricError

FRONTAL = np.array([[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]], dtype=np.float32)


def _turned(yaw: float) -> np.ndarray:
    lm = FRONTAL.copy()
    lm[2, 0] += yaw * 40  # inter-eye distance is 40 px
    return lm


@pytest.fixture(scope="module")
def pad() -> PadEngine:
    return get_pad_engine()


def test_silentface_samples(pad: PadEngine, shared_data: Path) -> None:
    """2 attacks + 1 bona fide: a smoke test, not an error-rate estimate (see the bench notes)."""
    folder = shared_data / "face/silentface_pad_samples"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    labels = {}
    for line in (folder / "labels.csv").read_text().splitlines()[1:]:
        name, label = line.split(",")[:2]
        labels[name] = label
    for name, label in labels.items():
        result = pad.check(folder / name)
        assert result.live is (label == "bona_fide"), (name, result.score)
        assert 0.0 <= result.score <= 1.0
        assert result.models == ("MiniFASNetV2.onnx", "MiniFASNetV1SE.onnx")
        record = result.as_dict()
        assert record["algorithm_version"].startswith("idverify-pad/")
        if label != "bona_fide":
            assert "liveness failed" in result.reason


def test_no_face_is_a_capture_problem(pad: PadEngine) -> None:
    with pytest.raises(BiometricError):
        pad.check(np.full((240, 320, 3), 90, dtype=np.uint8))
    with pytest.raises(BiometricError):
        pad.check([])


def test_crop_stays_inside_the_image() -> None:
    rgb = np.zeros((100, 120, 3), dtype=np.uint8)
    rgb[:, :60] = 255  # left half white
    tensor = crop_for_model(rgb, (0.0, 0.0, 30.0, 30.0), 4.0)  # box in the corner, scale would overflow
    assert tensor.shape == (1, 3, INPUT_SIZE, INPUT_SIZE)
    assert tensor.dtype == np.float32
    assert tensor.max() <= 255.0
    # the window was shifted inside the image, not padded with black: the white half is present
    assert (tensor[0, :, :, 0] == 255).all()


@pytest.mark.parametrize(("yaws", "direction", "passed", "reason_part"), [
    ([0.0, 0.1, 0.3, 0.5, 0.2, 0.0], "left", True, "performed"),
    ([0.0, -0.1, -0.3, -0.5, 0.0], "right", True, "performed"),
    ([0.0, -0.2, -0.5, -0.6, 0.0], "left", False, "wrong way"),
    ([0.0, 0.05, 0.1, 0.2, 0.1], "left", False, "not turned far enough"),
    ([0.5, 0.5, 0.5, 0.5], "left", False, "never faced"),
])
def test_head_turn(yaws: list[float], direction: str, passed: bool, reason_part: str) -> None:
    ch = HeadTurnChallenge(direction=direction)  # type: ignore[arg-type]
    result = ch.evaluate([_turned(y) for y in yaws])
    assert result.passed is passed
    assert reason_part in result.reason
    assert result.frames == len(yaws)


def test_head_turn_needs_the_face_in_view_and_respects_mirroring() -> None:
    ch = HeadTurnChallenge(direction="left")
    assert not ch.evaluate([_turned(0.0), None, None, None, _turned(0.5)]).passed
    assert not ch.evaluate([]).passed
    mirrored = HeadTurnChallenge(direction="left", mirrored=True)
    assert mirrored.evaluate([_turned(0.0), _turned(-0.5)]).passed
    assert not mirrored.evaluate([_turned(0.0), _turned(0.5)]).passed


def test_challenge_direction_is_random_and_instructive() -> None:
    directions = {HeadTurnChallenge.new().direction for _ in range(64)}
    assert directions == {"left", "right"}
    assert "turn the head" in HeadTurnChallenge(direction="right").instruction


def test_iso_rates_on_the_sample_folder(pad: PadEngine, shared_data: Path, tmp_path: Path) -> None:
    from idverify.biometrics.pad.evaluate import evaluate_folder

    folder = shared_data / "face/silentface_pad_samples"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    rates = evaluate_folder(folder, pad)
    assert rates["attack_presentations"] == {"unspecified": 2}
    assert rates["bona_fide_presentations"] == 1
    assert rates["apcer"] == {"unspecified": 0.0} and rates["apcer_max"] == 0.0
    assert rates["bpcer"] == 0.0
    # a blank frame labelled as an attack counts as a no-face presentation, never as bona fide
    import shutil

    from PIL import Image

    for name in ("image_T1.jpg", "image_F1.jpg"):
        shutil.copy(folder / name, tmp_path / name)
    Image.new("RGB", (320, 240), (90, 90, 90)).save(tmp_path / "blank.jpg")
    (tmp_path / "labels.csv").write_text("image,pad_label,species\nimage_T1.jpg,bona_fide,\n"
                                         "image_F1.jpg,attack,print\nblank.jpg,attack,replay\n")
    rates = evaluate_folder(tmp_path, pad)
    assert rates["apcer"] == {"print": 0.0, "replay": 0.0}
    assert rates["no_face"] == 1
