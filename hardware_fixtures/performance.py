"""A simulated patient performing a liveness challenge in front of the simulated camera.

The demo and test camera serves still photos, so a head turn has to be acted out at the pixel level for the
daemon's real detector and challenge code to judge it: :class:`Performance` takes the face currently on camera
and renders a series of frames in which the nose-and-mouth region is displaced sideways by a smooth
``cv2.remap`` field — a Gaussian centred between the nose tip and the mouth (σx = 1.0, σy = 0.5 inter-eye
distances), ramped up to :data:`MAX_SHIFT_IOD` inter-eye distances, held, and brought back. With σx = 1.0 the
field's steepest slope is 0.61 × 1.6 < 1, so the warp never folds (no doubled features).

Measured (``python -m hardware_fixtures.performance ../shared/data/face/asian_dev``: the 22 near-frontal photos,
letterboxed to 640×480 as this camera shows them, each turned both ways and judged by the daemon's own
:func:`idverify.biometrics.pad.active.judge`): 14 of 44 photo×direction cases pass; both directions pass for
cn_s3/abff0a46… (the tests use it) and, narrowly, cn_s7/7_22. YuNet places its nose landmark from the whole face
(outline, cheeks) more than from the nose pixels, so a local warp moves it less than the pixels move (larger or
wider fields either fold the image or move the whole face, which leaves the yaw proxy unchanged). The simulator is
therefore a wiring and demo tool for personas whose photos pass; real head turns are judged on real cameras.
``still`` holds the photo as a printed photo held up to the camera would be — it must fail the challenge.

Blink is not simulated: closing an eye convincingly for the face-mesh model needs eyelid texture a warp of a
still photo does not have; the blink challenge is exercised through uploaded frames instead.

Schedule (frames served): :data:`LEAD_FRAMES` frontal, :data:`RAMP_FRAMES` turning, :data:`HOLD_FRAMES` turned,
:data:`BACK_FRAMES` returning, then frontal until released. Counting frames rather than seconds keeps the
performance whole when a busy machine slows the grab loop.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
Action = Literal["still", "turn_left", "turn_right"]
ACTIONS: tuple[str, ...] = ("still", "turn_left", "turn_right")
LEAD_FRAMES, RAMP_FRAMES, HOLD_FRAMES, BACK_FRAMES = 8, 8, 12, 6
MAX_SHIFT_IOD = 1.6
SIGMA_X_IOD, SIGMA_Y_IOD = 1.0, 0.5


def displacement(shape: tuple[int, ...], landmarks: NDArray[np.float32], direction: float) -> NDArray[np.float32]:
    """Horizontal displacement (pixels, at full amplitude) for a head turn; ``direction`` +1 moves the nose to
    the image's right (the patient's left in a non-mirrored camera), −1 to the image's left."""
    h, w = shape[:2]
    lm = landmarks.astype(np.float64)
    iod = float(np.linalg.norm(lm[1] - lm[0])) or 1.0
    nose, mouth = lm[2], (lm[3] + lm[4]) / 2
    cx, cy = nose[0], nose[1] + 0.5 * (mouth[1] - nose[1])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    g = np.exp(-(((xs - cx) / (SIGMA_X_IOD * iod)) ** 2 + ((ys - cy) / (SIGMA_Y_IOD * iod)) ** 2) / 2)
    return np.asarray(direction * MAX_SHIFT_IOD * iod * g, dtype=np.float32)


def warp(frame: Image, field: NDArray[np.float32], amount: float) -> Image:
    """``frame`` with content moved by ``amount`` × ``field`` pixels along x."""
    import cv2

    if amount == 0.0:
        return frame.copy()
    h, w = frame.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = cv2.remap(frame, xs - amount * field, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(out, dtype=np.uint8)


def amount_at(i: int) -> float:
    """Share of the full turn at performance frame ``i`` (smooth ease in and out)."""
    if i < LEAD_FRAMES:
        return 0.0
    i -= LEAD_FRAMES
    if i < RAMP_FRAMES:
        return 0.5 - 0.5 * math.cos(math.pi * (i + 1) / RAMP_FRAMES)
    i -= RAMP_FRAMES
    if i < HOLD_FRAMES:
        return 1.0
    i -= HOLD_FRAMES
    if i < BACK_FRAMES:
        return 0.5 + 0.5 * math.cos(math.pi * (i + 1) / BACK_FRAMES)
    return 0.0


class Performance:
    """One challenge acted out on ``frame`` (BGR). ``mirrored``: the camera shows a mirror image."""

    def __init__(self, frame: Image, action: str, *, mirrored: bool = False) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown performance {action!r}; one of {', '.join(ACTIONS)} (blink is not "
                             "simulated: upload real frames)")
        self.action = action
        self.base = frame.copy()
        self.frames = 0
        self._field: NDArray[np.float32] | None = None
        if action != "still":
            import cv2

            from idverify.biometrics.face.engine import get_face_engine

            rgb = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            faces = get_face_engine().detector.detect(rgb, fallback=False)
            if len(faces) != 1 or faces[0].landmarks is None:
                raise ValueError("the camera does not show exactly one face to turn; show a persona first")
            sign = 1.0 if action == "turn_left" else -1.0
            self._field = displacement(frame.shape, faces[0].landmarks, -sign if mirrored else sign)

    def next_frame(self) -> Image:
        i, self.frames = self.frames, self.frames + 1
        if self._field is None:
            return self.base.copy()
        return warp(self.base, self._field, amount_at(i))


def main(argv: list[str] | None = None) -> int:
    """``python -m hardware_fixtures.performance DIR``: how often the simulated turn passes the real judge on the
    near-frontal photos of a folder (the figures in this module's docstring)."""
    import argparse
    import time

    import cv2

    from hardware_fixtures.camera import letterbox
    from idverify.biometrics.face.engine import get_face_engine
    from idverify.biometrics.face.quality import pose_from_landmarks
    from idverify.biometrics.pad.active import judge
    from idverify.biometrics.pad.challenge import FRONTAL_YAW, HeadTurnChallenge

    parser = argparse.ArgumentParser(prog="python -m hardware_fixtures.performance")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    detector = get_face_engine().detector
    cases = passed = 0
    cpu: list[float] = []
    for path in sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if raw is None:
            continue
        frame = letterbox(np.asarray(raw, dtype=np.uint8), 640, 480)
        faces = detector.detect(np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8), fallback=False)
        lm = faces[0].landmarks if len(faces) == 1 else None
        if lm is None or abs(pose_from_landmarks(lm)[0]) > FRONTAL_YAW:
            continue
        row = []
        for direction in ("left", "right"):
            perf = Performance(frame, f"turn_{direction}")
            total = LEAD_FRAMES + RAMP_FRAMES + HOLD_FRAMES + BACK_FRAMES
            frames = [np.asarray(cv2.cvtColor(perf.next_frame(), cv2.COLOR_BGR2RGB), dtype=np.uint8)
                      for _ in range(total)]
            start = time.process_time()
            verdict = judge(frames, HeadTurnChallenge(direction="left" if direction == "left" else "right")).result
            cpu.append(time.process_time() - start)
            cases += 1
            passed += verdict.passed
            row.append(f"{direction}={'pass' if verdict.passed else 'fail'}({verdict.max_yaw_towards}, "
                       f"{verdict.frames_with_face}/{verdict.frames} faces)")
        print(path.relative_to(args.folder), *row, flush=True)
    burst = LEAD_FRAMES + RAMP_FRAMES + HOLD_FRAMES + BACK_FRAMES
    print(f"passed {passed} of {cases} photo x direction cases; judge CPU median "
          f"{1000 * float(np.median(cpu)) if cpu else 0:.0f} ms per {burst}-frame burst")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
