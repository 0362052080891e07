"""The simulated head turn (hardware_fixtures.performance) judged by the daemon's real detector and challenge code:
a performed turn passes the challenge in the asked direction, fails the opposite one, and a held photo — still, or
a flat print turned like a card — fails. Several sample faces, so the simulator is not tuned to one photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hardware_fixtures.performance import BACK_FRAMES, HOLD_FRAMES, LEAD_FRAMES, RAMP_FRAMES, Performance, amount_at
from hardware_fixtures.turn_trial import turned_print

from idverify.biometrics.face.image import letterbox
from idverify.biometrics.pad.active import MAX_JUDGED_FRAMES, judge, subsample
from idverify.biometrics.pad.challenge import HeadTurnChallenge

TURNING_FACE = "face/asian_dev/cn_s3/abff0a46f21fbe09ef4d043d6b600c338744adb9.jpg"
#: Faces of different people, sets and framings, each passing both ways with a margin in ``python -m
#: hardware_fixtures.turn_trial`` (162 of the 194 sample cases pass; see hardware_fixtures.performance).
SAMPLE_FACES = ("face/asian_dev/cn_s2/2_1.jpg", "face/deepface_unit/dfid05/img19.jpg",
                "face/face_recognition_examples/rose_leslie/examples__knn_examples__train__rose_leslie__img2.jpg")
FRAMES = LEAD_FRAMES + RAMP_FRAMES + HOLD_FRAMES + BACK_FRAMES


def _load(shared_data: Path, name: str) -> np.ndarray:
    raw = cv2.imread(str(shared_data / name), cv2.IMREAD_COLOR)
    if raw is None:
        pytest.skip(f"{name} missing")
    return letterbox(np.asarray(raw, dtype=np.uint8), 640, 480)


@pytest.fixture(scope="module")
def face(shared_data: Path) -> np.ndarray:
    return _load(shared_data, TURNING_FACE)


def _perform(face: np.ndarray, action: str, *, mirrored: bool = False) -> list[np.ndarray]:
    perf = Performance(face, action, mirrored=mirrored)
    return [np.asarray(cv2.cvtColor(perf.next_frame(), cv2.COLOR_BGR2RGB), dtype=np.uint8) for _ in range(FRAMES)]


def test_schedule_starts_and_ends_frontal() -> None:
    amounts = [amount_at(i) for i in range(FRAMES + 3)]
    assert amounts[:LEAD_FRAMES] == [0.0] * LEAD_FRAMES
    assert max(amounts) == 1.0 and amounts[-1] == 0.0
    assert amounts[LEAD_FRAMES:LEAD_FRAMES + RAMP_FRAMES] == sorted(amounts[LEAD_FRAMES:LEAD_FRAMES + RAMP_FRAMES])


def test_subsample_keeps_ends_and_spacing() -> None:
    assert subsample(list(range(50)), 16)[0] == 0 and subsample(list(range(50)), 16)[-1] == 49
    assert len(subsample(list(range(50)), 16)) == 16 and subsample([1, 2], 16) == [1, 2]


@pytest.mark.parametrize("direction", ["left", "right"])
def test_performed_turn_passes_the_asked_direction(face: np.ndarray, direction: str) -> None:
    frames = _perform(face, f"turn_{direction}")
    verdict = judge(frames, HeadTurnChallenge(direction="left" if direction == "left" else "right"))
    assert verdict.result.passed, verdict.result
    assert verdict.result.max_yaw_towards is not None and verdict.result.max_yaw_towards >= 0.35
    assert verdict.result.frames == MAX_JUDGED_FRAMES and verdict.frames_received == FRAMES
    # the face is matched on the frames where the patient looked at the camera, not the turned ones
    assert verdict.frontal[0] == 0 and len(verdict.frontal) < MAX_JUDGED_FRAMES
    assert len(verdict.frontal_frames(5)) == 5


def _rgb(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), dtype=np.uint8) for f in frames]


@pytest.mark.parametrize("name", SAMPLE_FACES)
def test_sample_faces_turn_as_asked_and_only_as_asked(shared_data: Path, name: str) -> None:
    frame = _load(shared_data, name)
    for asked, other in (("left", "right"), ("right", "left")):
        frames = _perform(frame, f"turn_{asked}")
        passed = judge(frames, HeadTurnChallenge(direction="left" if asked == "left" else "right")).result
        wrong = judge(frames, HeadTurnChallenge(direction="left" if other == "left" else "right")).result
        assert passed.passed and passed.max_yaw_towards is not None and passed.max_yaw_towards >= 0.35, passed
        assert not wrong.passed and "wrong way" in wrong.reason, wrong
    held = judge(_perform(frame, "still"), HeadTurnChallenge(direction="left")).result
    assert not held.passed and held.frames_with_face == held.frames
    # a flat print turned like a card moves every feature alike: no depth, no turn
    card = _rgb([turned_print(frame, amount_at(i), 1.0) for i in range(FRAMES)])
    for direction in ("left", "right"):
        verdict = judge(card, HeadTurnChallenge(direction="left" if direction == "left" else "right")).result
        assert not verdict.passed and verdict.max_yaw_towards is not None and verdict.max_yaw_towards < 0.35


def test_turned_frames_keep_the_face_outside_the_head_and_are_deterministic(face: np.ndarray) -> None:
    first, second = Performance(face, "turn_left"), Performance(face, "turn_left")
    frames = [first.next_frame() for _ in range(FRAMES)]
    assert all(np.array_equal(a, second.next_frame()) for a in frames)
    turned = frames[LEAD_FRAMES + RAMP_FRAMES]
    head = first._head
    assert head is not None
    changed = np.argwhere(np.any(turned != face, axis=2))
    assert changed.size and changed[:, 0].min() >= head.y0 and changed[:, 0].max() < head.y1
    assert changed[:, 1].min() >= head.x0 and changed[:, 1].max() < head.x1  # only the head's box is redrawn
    assert np.array_equal(frames[0], face) and np.array_equal(frames[-1], face)


def test_turn_the_wrong_way_fails(face: np.ndarray) -> None:
    verdict = judge(_perform(face, "turn_right"), HeadTurnChallenge(direction="left")).result
    assert not verdict.passed and "wrong way" in verdict.reason


def test_held_photo_fails(face: np.ndarray) -> None:
    verdict = judge(_perform(face, "still"), HeadTurnChallenge(direction="left")).result
    assert not verdict.passed and "not turned far enough" in verdict.reason
    assert verdict.frames_with_face == verdict.frames  # the face was there all along: only the motion is missing


def test_mirrored_camera_swaps_the_image_side(face: np.ndarray) -> None:
    frames = _perform(face, "turn_left", mirrored=True)
    assert judge(frames, HeadTurnChallenge(direction="left", mirrored=True)).result.passed
    assert not judge(frames, HeadTurnChallenge(direction="left")).result.passed


def test_performance_needs_one_face() -> None:
    with pytest.raises(ValueError, match="exactly one face"):
        Performance(np.full((480, 640, 3), 96, dtype=np.uint8), "turn_left")
    with pytest.raises(ValueError, match="blink is not simulated"):
        Performance(np.full((480, 640, 3), 96, dtype=np.uint8), "blink")


def test_tracked_during_the_burst_judges_like_afterwards(face: np.ndarray) -> None:
    from idverify.biometrics.face.engine import get_face_engine
    from idverify.biometrics.pad.active import FaceTracker

    frames = _perform(face, "turn_left")
    tracker = FaceTracker()
    for rgb in subsample(frames, MAX_JUDGED_FRAMES):  # what the camera path samples while it films
        tracker.add(rgb)
    tracker.received = len(frames)
    during = judge([], HeadTurnChallenge(direction="left"), tracked=tracker)
    after = judge(frames, HeadTurnChallenge(direction="left"))
    assert during.result == after.result and during.frontal == after.frontal
    assert during.frames_received == FRAMES and during.cpu_ms >= tracker.cpu_ms
    # landmarks found in the crop around the previous face are mapped back to whole-frame coordinates (YuNet on
    # a crop lands within a few pixels of YuNet on the whole frame; without the mapping they would be ~100 px off)
    last = tracker.dets[-1]
    assert last is not None and last.landmarks is not None and tracker.frames[-1] is frames[-1]
    full = get_face_engine().detector.detect(frames[-1], fallback=False)[0]
    assert full.landmarks is not None
    iod = float(np.linalg.norm(full.landmarks[1] - full.landmarks[0]))
    assert np.abs(last.landmarks - full.landmarks).max() < 0.05 * iod
