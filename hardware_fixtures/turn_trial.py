"""How convincing the simulated head turn is to the daemon's own active-liveness judge (not shipped, not a test).

``python -m hardware_fixtures.turn_trial ../shared/data/face [--limit N]`` takes every usable sample photo (exactly
one YuNet face with landmarks, near-frontal, once letterboxed to 640×480 as the demo camera shows it) and judges,
with the real :func:`idverify.biometrics.pad.active.judge`:

- ``asked``: a ``turn_left`` / ``turn_right`` performance against the challenge it acts out (should pass);
- ``wrong``: the same frames against the opposite challenge (must fail);
- ``still``: the ``still`` performance, a photo held up (must fail);
- ``print``: the flat photo itself turned like a card held by its edges — a perspective warp of the plane, up to
  :data:`PRINT_TURN_DEG` — on the same schedule (must fail: a flat print has no depth for the nose to move with).

Each performance's frames are detected once (:class:`idverify.biometrics.pad.active.FaceTracker`) and judged for
both directions. Prints one line per photo, the pass counts and the simulator's milliseconds per frame.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hardware_fixtures.performance import (
    BACK_FRAMES,
    HOLD_FRAMES,
    LEAD_FRAMES,
    RAMP_FRAMES,
    Image,
    Performance,
    amount_at,
)
from idverify.biometrics.face.image import letterbox

FRAMES = LEAD_FRAMES + RAMP_FRAMES + HOLD_FRAMES + BACK_FRAMES
PRINT_TURN_DEG = 40.0
#: Distance of the simulated camera from the print, in frame widths (a webcam ~60 cm from a photo held at the desk).
PRINT_DISTANCE = 1.5


def usable_faces(root: Path) -> Iterator[tuple[Path, Image]]:
    """The photos under ``root`` the camera can show as one frontal face (letterboxed to 640×480, BGR)."""
    import cv2

    from idverify.biometrics.face.engine import get_face_engine
    from idverify.biometrics.face.quality import pose_from_landmarks
    from idverify.biometrics.pad.challenge import FRONTAL_YAW

    detector = get_face_engine().detector
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if raw is None:
            continue
        frame = letterbox(np.asarray(raw, dtype=np.uint8), 640, 480)
        faces = detector.detect(np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8), fallback=False)
        lm = faces[0].landmarks if len(faces) == 1 else None
        if lm is not None and abs(pose_from_landmarks(lm)[0]) <= FRONTAL_YAW:
            yield path, frame


def turned_print(frame: Image, amount: float, direction: float) -> Image:
    """``frame`` as a flat print turned about its vertical centre line by ``amount`` × :data:`PRINT_TURN_DEG`
    (``direction`` +1: its right edge away from the camera), seen through a pinhole camera."""
    import cv2

    if amount == 0.0:
        return frame.copy()
    h, w = frame.shape[:2]
    f = PRINT_DISTANCE * w
    phi = direction * math.radians(PRINT_TURN_DEG) * amount
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    cx, cy = w / 2, h / 2
    moved = []
    for x, y in corners:
        across, depth = (x - cx) * math.cos(phi), (x - cx) * math.sin(phi)
        scale = f / (f + depth)
        moved.append([cx + across * scale, cy + (y - cy) * scale])
    m = cv2.getPerspectiveTransform(corners, np.array(moved, dtype=np.float32))
    out = cv2.warpPerspective(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(96, 96, 96))
    return np.asarray(out, dtype=np.uint8)


def main(argv: list[str] | None = None) -> int:
    import cv2

    from idverify.biometrics.pad.active import MAX_JUDGED_FRAMES, FaceTracker, judge, subsample
    from idverify.biometrics.pad.challenge import ChallengeResult, Direction, HeadTurnChallenge

    parser = argparse.ArgumentParser(prog="python -m hardware_fixtures.turn_trial")
    parser.add_argument("root", type=Path, help="folder of face photos (searched recursively)")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many usable photos (0: all)")
    args = parser.parse_args(argv)

    def verdicts(frames: list[Image]) -> dict[Direction, ChallengeResult]:
        tracker = FaceTracker()
        for bgr in subsample(frames, MAX_JUDGED_FRAMES):
            tracker.add(np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8))
        tracker.received = len(frames)
        both: tuple[Direction, Direction] = ("left", "right")
        return {d: judge([], HeadTurnChallenge(direction=d), tracked=tracker).result for d in both}

    counts = {"asked": 0, "wrong": 0, "still": 0, "print": 0}
    photos = 0
    ms: list[float] = []
    for path, frame in usable_faces(args.root):
        photos += 1
        row = [str(path.relative_to(args.root))]
        pairs: tuple[tuple[Direction, Direction], ...] = (("left", "right"), ("right", "left"))
        for asked, other in pairs:
            perf = Performance(frame, f"turn_{asked}")
            frames = []
            for _ in range(FRAMES):
                start = time.perf_counter()
                frames.append(perf.next_frame())
                ms.append(1000 * (time.perf_counter() - start))
            v = verdicts(frames)
            counts["asked"] += v[asked].passed
            counts["wrong"] += v[other].passed
            row.append(f"{asked}:{'PASS' if v[asked].passed else 'fail'}"
                       f"({v[asked].max_yaw_towards}){' WRONG-PASS' if v[other].passed else ''}")
        still = Performance(frame, "still")
        counts["still"] += any(r.passed for r in verdicts([still.next_frame() for _ in range(FRAMES)]).values())
        printed = verdicts([turned_print(frame, amount_at(i), 1.0) for i in range(FRAMES)])
        counts["print"] += any(r.passed for r in printed.values())
        row.append(f"print:{max(r.max_yaw_towards or 0.0 for r in printed.values()):.3f}")
        print(*row, flush=True)
        if args.limit and photos >= args.limit:
            break
    cases = 2 * photos
    print(f"{photos} usable photos: asked direction passed {counts['asked']}/{cases}, wrong direction passed "
          f"{counts['wrong']}/{cases}, still passed {counts['still']}/{photos}, turned print passed "
          f"{counts['print']}/{photos}; simulator {float(np.median(ms)) if ms else 0:.1f} ms per frame (median), "
          f"{float(np.percentile(ms, 95)) if ms else 0:.1f} ms (95th percentile)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
