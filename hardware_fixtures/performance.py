"""A simulated patient performing a liveness challenge in front of the simulated camera.

The demo and test camera serves still photos, so a head turn has to be acted out at the pixel level for the
daemon's real detector and challenge code to judge it. :class:`Performance` takes the face on camera and renders
it turning about a vertical axis, using the face's own 3-D shape:

- depth: MediaPipe's 468-point face mesh (the model the blink challenge runs,
  :meth:`idverify.biometrics.pad.blink.EyeLandmarker.mesh`) gives every mesh point a depth; the points are
  splatted and blurred (σ = :data:`DEPTH_BLUR` face widths) into a depth map over the face, faded out at the face's
  outline, so the nose stands furthest forward, the eyes sit back and the cheeks fall away towards the sides;
- motion: a point at x with depth d moves to x + w·((x − c)(cos φ − 1) + d sin φ) for a turn by φ (up to
  :data:`TURN_DEG`), where c is the face's centre line and w a window, 1 at the centre and 0 at the rim of an
  ellipse of :data:`HEAD_WIDTH` × :data:`HEAD_HEIGHT` face boxes: the face turns while the head's outline, hair
  and background stay put. The nose moves furthest, the side turning away is compressed, the side coming round
  stretched;
- rendering: each row's forward map is inverted by interpolation, keeping the running extreme from the side the
  face turns to, so that what the nose passes over (the map folds back) is hidden as a real nose hides it; one
  ``cv2.remap`` of the head's box. Maps are cached per turn amount, so the held frames cost a remap only. Only
  horizontal motion is simulated (no perspective change in y, no shading).

Measured (``python -m hardware_fixtures.turn_trial ../shared/data/face``: the 97 photos of asian_dev, deepface_unit
and face_recognition_examples (its 98th is silentface_pad_samples) that show one near-frontal face once letterboxed
to 640×480, each turned both ways and judged by the daemon's own :func:`idverify.biometrics.pad.active.judge`): the
asked direction passes 162 of 194 cases (asian_dev 39/44, deepface_unit 104/114, face_recognition_examples 19/36 —
10 of its 17 misses are one Obama photo, at four resolutions and cropped), against 84 of 194 (14/44, 59/114, 11/36)
for this module's first version, which warped the nose region alone (YuNet places its nose landmark from the whole
face, so that moved it too little), and 117 of 194 for an ellipsoid with a raised nose ridge fitted to the landmarks
instead of the mesh. The wrong direction passes 0 of 194, ``still`` 0 of 97, a flat print turned 40° like a card 0
of 97. φ = 45° passes 143, 65° 166 (a near-profile); most misses reach a yaw of 0.25–0.35, or lose the face at the
full turn. Cost on this shared 2-core machine: 60 ms once when the performance starts (YuNet and the face mesh),
then 0.5 ms per frame (median: frontal or cached), 4 ms (95th percentile: the first frame at each turn amount).
``still`` holds the photo as a printed photo held up to the camera would be — it must fail the challenge, and so
must the flat print turned like a card (``turn_trial`` checks both).

Blink is not simulated: closing an eye convincingly for the face-mesh model needs eyelid texture a warp of a
still photo does not have; the blink challenge is exercised through uploaded frames instead.

Schedule (frames served): :data:`LEAD_FRAMES` frontal, :data:`RAMP_FRAMES` turning, :data:`HOLD_FRAMES` turned,
:data:`BACK_FRAMES` returning, then frontal until released. Counting frames rather than seconds keeps the
performance whole when a busy machine slows the grab loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from idverify.biometrics.face.detect import Detection

Image = NDArray[np.uint8]
Grid = NDArray[np.float64]
Action = Literal["still", "turn_left", "turn_right"]
ACTIONS: tuple[str, ...] = ("still", "turn_left", "turn_right")
LEAD_FRAMES: int = 8
RAMP_FRAMES: int = 8
HOLD_FRAMES: int = 12
BACK_FRAMES: int = 6
TURN_DEG = 55.0
HEAD_WIDTH, HEAD_HEIGHT, HEAD_CENTRE_Y = 1.3, 1.35, 0.45
DEPTH_BLUR, OUTLINE_FADE = 0.06, 0.08


def face_depth_points(rgb: Image, det: Detection) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The face mesh of ``det`` in frame coordinates: 468 (x, y) and their depths (pixels towards the camera).
    The mesh model works on an upright crop (:meth:`idverify.biometrics.pad.blink.EyeLandmarker.mesh`); this
    undoes that crop's geometry."""
    import cv2

    from idverify.biometrics.pad.blink import MESH_SIZE, ROI_SCALE, get_eye_landmarker

    mesh = get_eye_landmarker().mesh(rgb, det)
    if mesh is None or det.landmarks is None:
        raise ValueError("the face mesh finds no face to turn; show a persona first")
    x, y, w, h = det.box
    cx, cy = x + w / 2, y + h / 2
    dx, dy = det.landmarks[1] - det.landmarks[0]
    side = ROI_SCALE * max(w, h)
    crop = cv2.getRotationMatrix2D((cx, cy), math.degrees(math.atan2(float(dy), float(dx))), MESH_SIZE / side)
    crop[0, 2] += MESH_SIZE / 2 - cx
    crop[1, 2] += MESH_SIZE / 2 - cy
    back = cv2.invertAffineTransform(crop)
    points = mesh[:, :2].astype(np.float64) @ back[:, :2].T + back[:, 2]
    return points, -mesh[:, 2].astype(np.float64) * side / MESH_SIZE


class HeadModel:
    """The face of ``det`` in a frame (RGB) as a depth map inside a head-shaped window: :meth:`source_x` says
    where each pixel of the head's box comes from when the face is turned."""

    def __init__(self, rgb: Image, det: Detection) -> None:
        import cv2

        points, depth = face_depth_points(rgb, det)
        h, w = rgb.shape[:2]
        bx, by, bw, bh = det.box
        self.cx, cy = bx + bw / 2, by + HEAD_CENTRE_Y * bh
        a, b = HEAD_WIDTH * bw / 2, HEAD_HEIGHT * bh / 2
        self.x0, self.y0 = max(0, int(self.cx - a)), max(0, int(cy - b))
        self.x1, self.y1 = min(w, math.ceil(self.cx + a) + 1), min(h, math.ceil(cy + b) + 1)
        rows, cols = self.y1 - self.y0, self.x1 - self.x0
        ys, xs = np.mgrid[self.y0:self.y1, self.x0:self.x1].astype(np.float64)
        self.xs, self.ys = xs, ys
        # depth map: mesh depths splatted, blurred and normalised, faded out over the face's outline
        col = np.clip(np.round(points[:, 0] - self.x0).astype(np.intp), 0, cols - 1)
        row = np.clip(np.round(points[:, 1] - self.y0).astype(np.intp), 0, rows - 1)
        total, count = np.zeros((rows, cols)), np.zeros((rows, cols))
        np.add.at(total, (row, col), depth - depth.min())
        np.add.at(count, (row, col), 1.0)
        total = cv2.GaussianBlur(total, (0, 0), DEPTH_BLUR * bw)
        count = cv2.GaussianBlur(count, (0, 0), DEPTH_BLUR * bw)
        outline = np.zeros((rows, cols), dtype=np.uint8)
        hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2) - [self.x0, self.y0]
        cv2.fillConvexPoly(outline, np.round(hull).astype(np.int32), 1)
        fade = cv2.GaussianBlur(outline.astype(np.float64), (0, 0), OUTLINE_FADE * bw)
        self.depth = np.where(count > 1e-6, total / np.maximum(count, 1e-9), 0.0) * fade
        half = a * np.sqrt(np.clip(1 - ((ys - cy) / b) ** 2, 0.0, None))  # the head ellipse's half-width per row
        across = np.clip((xs - self.cx) / np.maximum(half, 1e-6), -1.0, 1.0)
        self.window = np.where(np.abs(xs - self.cx) < half, np.cos(across * math.pi / 2) ** 2, 0.0)

    def source_x(self, phi: float) -> Grid:
        """Source x of every pixel of the head's box with the face turned by ``phi`` radians (+: towards the
        image's right)."""
        xs = self.xs
        moved = xs + self.window * ((xs - self.cx) * (math.cos(phi) - 1) + self.depth * math.sin(phi))
        # where the map folds back, the side nearer the turn (the nose) hides what it passes over
        if phi >= 0:
            seen = np.maximum.accumulate(moved, axis=1)
        else:
            seen = np.minimum.accumulate(moved[:, ::-1], axis=1)[:, ::-1]
        return np.stack([np.interp(x, m, x) for x, m in zip(xs, seen, strict=True)])


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
        self._head: HeadModel | None = None
        self._phi = 0.0
        self._maps: dict[float, tuple[NDArray[np.float32], NDArray[np.float32]]] = {}
        if action != "still":
            import cv2

            from idverify.biometrics.face.engine import get_face_engine

            rgb = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            faces = get_face_engine().detector.detect(rgb, fallback=False)
            if len(faces) != 1 or faces[0].landmarks is None:
                raise ValueError("the camera does not show exactly one face to turn; show a persona first")
            sign = 1.0 if action == "turn_left" else -1.0  # the patient's left: the nose to the image's right
            self._head = HeadModel(rgb, faces[0])
            self._phi = (-sign if mirrored else sign) * math.radians(TURN_DEG)

    def next_frame(self) -> Image:
        i, self.frames = self.frames, self.frames + 1
        amount = amount_at(i)
        return self.base.copy() if amount == 0.0 else self.render(amount)

    def render(self, amount: float) -> Image:
        """The face turned by ``amount`` of the full turn (``still``: the photo as it is)."""
        import cv2

        head = self._head
        if head is None:
            return self.base.copy()
        if amount not in self._maps:
            self._maps[amount] = (head.source_x(amount * self._phi).astype(np.float32), head.ys.astype(np.float32))
        map_x, map_y = self._maps[amount]
        out = self.base.copy()
        out[head.y0:head.y1, head.x0:head.x1] = cv2.remap(self.base, map_x, map_y, cv2.INTER_LINEAR,
                                                          borderMode=cv2.BORDER_REFLECT)
        return out

