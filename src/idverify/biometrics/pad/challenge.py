"""Active liveness: a random head-turn challenge judged from YuNet's five landmarks.

Owns: issuing a challenge (left or right, chosen at random so a pre-recorded video cannot know it) and judging a
series of frames' landmarks against it. Must not touch: cameras (the workflow captures frames), models.

Judgement: the yaw proxy of :func:`idverify.biometrics.face.quality.pose_from_landmarks` (nose offset from the eye
midpoint, in inter-eye distances; about 0.35 ≈ 20° of head turn) must start near frontal, then exceed
:data:`TURN_YAW` in the asked direction within the frames. Directions are the patient's own: a patient turning to
their left moves the nose towards the image's right in a non-mirrored camera frame (``mirrored=True`` when the
frames come from a mirrored preview).

Limits: a static photo fails this challenge, but a video replay of a person turning their head on cue, or a 3-D
mask, can pass it — the passive model, the blink challenge (:mod:`idverify.biometrics.pad.blink`) and the nurse's
presence are the other layers.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.face.quality import pose_from_landmarks

Direction = Literal["left", "right"]
FRONTAL_YAW = 0.15
TURN_YAW = 0.35
MIN_FACE_SHARE = 0.7


@dataclass(frozen=True)
class ChallengeResult:
    kind: str
    direction: str
    passed: bool
    reason: str
    max_yaw_towards: float | None
    frames: int
    frames_with_face: int
    code: str = ""  # the reason code (biometrics/reasons.py) a screen shows; ``reason`` is its English sentence

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HeadTurnChallenge:
    direction: Direction
    mirrored: bool = False

    @classmethod
    def new(cls, *, mirrored: bool = False) -> HeadTurnChallenge:
        """A challenge with a direction the patient cannot predict (``secrets``, not ``random``)."""
        direction: Direction = "left" if secrets.randbelow(2) == 0 else "right"
        return cls(direction=direction, mirrored=mirrored)

    @property
    def instruction(self) -> str:
        return f"ask the patient to look at the camera, then slowly turn the head to their {self.direction}"

    def _sign(self) -> float:
        sign = 1.0 if self.direction == "left" else -1.0
        return -sign if self.mirrored else sign

    def evaluate(self, landmarks: Sequence[NDArray[np.float32] | None]) -> ChallengeResult:
        """Judge one landmark array (5×2) per frame, ``None`` for frames without exactly one face."""
        n = len(landmarks)
        yaws = [None if lm is None else pose_from_landmarks(lm)[0] * self._sign() for lm in landmarks]
        seen = [y for y in yaws if y is not None]

        def result(passed: bool, code: str, reason: str) -> ChallengeResult:
            return ChallengeResult(kind="head_turn", direction=self.direction, passed=passed, reason=reason,
                                   code=code,
                                   max_yaw_towards=round(max(seen), 3) if seen else None, frames=n,
                                   frames_with_face=len(seen))

        if n == 0 or len(seen) < max(2, MIN_FACE_SHARE * n):
            return result(False, "turn_face_not_visible",
                          "face not visible in enough frames — keep the face in view during the turn")
        first_frontal = next((i for i, y in enumerate(yaws) if y is not None and abs(y) <= FRONTAL_YAW), None)
        if first_frontal is None:
            return result(False, "turn_never_frontal",
                          "patient never faced the camera — start looking straight at the camera")
        turned = any(y is not None and y >= TURN_YAW for y in yaws[first_frontal + 1:])
        if not turned:
            wrong = any(y is not None and y <= -TURN_YAW for y in yaws[first_frontal + 1:])
            if wrong:
                return result(False, "turn_wrong_way", "head turned the wrong way — repeat the challenge")
            return result(False, "turn_not_far_enough",
                          f"head not turned far enough to the {self.direction} — repeat the challenge")
        return result(True, "challenge_passed", "head turn performed as asked")
