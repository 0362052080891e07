"""A simulated patient performing a liveness challenge in front of the simulated camera.

The demo and test camera serves still photos, so a head turn has to be acted out at the pixel level for the
daemon's real detector and challenge code to judge it. :class:`Performance` takes the face on camera and renders
it turning about a vertical axis, as a shallow 3-D surface fitted to YuNet's face box and landmarks:

- the head is the front half of an ellipsoid (:data:`HEAD_WIDTH` × :data:`HEAD_HEIGHT` face boxes, centred
  :data:`HEAD_CENTRE_Y` down the box); a point seen at angle θ' round it comes from angle θ = θ' − φ·cos θ', so the
  face turns by up to φ = :data:`TURN_DEG` while the head's outline stays put (the taper keeps the map one-to-one:
  dθ/dθ' = 1 + φ sin θ' > 0 for φ < 57°). The side turning away is compressed, the side coming round stretched;
- the face's midline stands out of that surface: a ridge from the brow to the nose tip (:data:`NOSE_HEIGHT_IOD`
  inter-eye distances high) and a lower, wider strip down the mouth and chin (:data:`MIDLINE_HEIGHT_IOD`), so the
  nose and mouth move further than the eyes (h·sin φ more), as they do on a real head.

Each output pixel's source is found by a few fixed-point steps (the ridge's slope × sin φ < 1, so they converge)
and the frame is resampled with one ``cv2.remap`` of the head's box; maps are cached per turn amount, so the held
frames cost a remap only. Only horizontal motion is simulated (no perspective change in y, no shading).

Measured (``python -m hardware_fixtures.turn_trial ../shared/data/face``: the 97 photos of asian_dev, deepface_unit
and face_recognition_examples (its 98th is silentface_pad_samples) that show one near-frontal face once letterboxed
to 640×480, each turned both ways and judged by the daemon's own :func:`idverify.biometrics.pad.active.judge`): the
asked direction passes 117 of 194 cases (asian_dev 28/44, deepface_unit 69/114, face_recognition_examples 20/36),
against 84 of 194 (14/44, 59/114, 11/36) for this module's first version, which warped the nose region alone (YuNet
places its nose landmark from the whole face, so that moved it too little). The wrong direction passes 0 of 194,
``still`` 0 of 97, a flat print turned 40° like a card 0 of 97. Most failures reach a yaw of 0.25–0.35, short of the
judge's 0.35; a stronger turn or a higher midline did not lift the count on a 10-photo sample (YuNet stops
following). 0.5 ms per frame (median; a frontal or cached frame), 57 ms (95th percentile: the first frame at each
turn amount) on this shared 2-core machine. The simulator is a wiring and demo tool: the tests use photos that pass
both ways.
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
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
Grid = NDArray[np.float64]
Action = Literal["still", "turn_left", "turn_right"]
ACTIONS: tuple[str, ...] = ("still", "turn_left", "turn_right")
LEAD_FRAMES: int = 8
RAMP_FRAMES: int = 8
HOLD_FRAMES: int = 12
BACK_FRAMES: int = 6
TURN_DEG = 45.0
HEAD_WIDTH, HEAD_HEIGHT, HEAD_CENTRE_Y = 1.5, 1.4, 0.45
NOSE_HEIGHT_IOD, NOSE_WIDTH_IOD = 0.7, 0.4
MIDLINE_HEIGHT_IOD, MIDLINE_WIDTH_IOD = 0.6, 0.7
FIXED_POINT_STEPS = 3


class HeadModel:
    """The shallow 3-D head fitted to one face (``box`` x, y, w, h and YuNet's 5 ``landmarks``) in a frame of
    ``shape``: :meth:`source_x` says where each pixel of the head's box comes from when the head is turned."""

    def __init__(self, shape: tuple[int, ...], box: tuple[float, float, float, float],
                 landmarks: NDArray[np.float32]) -> None:
        h, w = shape[:2]
        bx, by, bw, bh = box
        lm = landmarks.astype(np.float64)
        self.iod = float(np.linalg.norm(lm[1] - lm[0])) or 1.0
        self.eyes, self.nose, self.mouth = (lm[0] + lm[1]) / 2, lm[2], (lm[3] + lm[4]) / 2
        self.cx, cy = bx + bw / 2, by + HEAD_CENTRE_Y * bh
        a, b = HEAD_WIDTH * bw / 2, HEAD_HEIGHT * bh / 2
        self.x0, self.y0 = max(0, int(self.cx - a)), max(0, int(cy - b))
        self.x1, self.y1 = min(w, math.ceil(self.cx + a) + 1), min(h, math.ceil(cy + b) + 1)
        ys, xs = np.mgrid[self.y0:self.y1, self.x0:self.x1].astype(np.float64)
        self.xs, self.ys = xs, ys
        radius = a * np.sqrt(np.clip(1 - ((ys - cy) / b) ** 2, 0.0, None))  # the ellipsoid's half-width per row
        self.inside = np.abs(xs - self.cx) < radius
        self.radius = np.maximum(radius, 1e-6)
        self._ridge_x, self._ridge_share = self._midline(ys)

    def _midline(self, ys: Grid) -> tuple[Grid, Grid]:
        """Per row: x of the face's midline (eye midpoint → nose tip → mouth) and how far down the nose it is."""
        drop = max(self.nose[1] - self.eyes[1], 1.0)
        share = (ys - self.eyes[1]) / drop
        below = np.clip((ys - self.nose[1]) / max(self.mouth[1] - self.nose[1], 1.0), 0.0, 2.0)
        x = np.where(ys < self.nose[1], self.eyes[0] + np.clip(share, 0.0, 1.0) * (self.nose[0] - self.eyes[0]),
                     self.nose[0] + below * (self.mouth[0] - self.nose[0]))
        return x, share

    def height(self, xs: Grid) -> Grid:
        """How far the face stands out of the ellipsoid at ``xs`` (pixels, one per pixel of the head's box)."""
        iod, ys, share = self.iod, self.ys, self._ridge_share
        # nose ridge: a third of its height between the eyes, full at the tip, gone a quarter-IOD below it
        along = np.where(share < 1.0, 0.35 + 0.65 * np.clip(share, 0.0, 1.0),
                         np.exp(-0.5 * ((ys - self.nose[1]) / (0.22 * iod)) ** 2))
        along = np.where(share < 0.0, 0.35 * np.exp(-0.5 * ((ys - self.eyes[1]) / (0.3 * iod)) ** 2), along)
        across = (xs - self._ridge_x) / iod
        nose = NOSE_HEIGHT_IOD * iod * along * np.exp(-0.5 * (across / NOSE_WIDTH_IOD) ** 2)
        # mouth and chin: from just under the eyes down, a smooth step
        band = 1.0 / (1.0 + np.exp(-(ys - (self.eyes[1] + 0.25 * iod)) / (0.1 * iod)))
        strip = MIDLINE_HEIGHT_IOD * iod * band * np.exp(-0.5 * (across / MIDLINE_WIDTH_IOD) ** 2)
        return np.asarray(np.maximum(nose, strip), dtype=np.float64)

    def source_x(self, phi: float) -> Grid:
        """Source x of every pixel of the head's box with the face turned by ``phi`` radians (+: towards the
        image's right)."""

        def round_ellipsoid(x: Grid) -> Grid:
            seen = np.arcsin(np.clip((x - self.cx) / self.radius, -1.0, 1.0))
            return np.asarray(self.cx + self.radius * np.sin(seen - phi * np.cos(seen)), dtype=np.float64)

        src = round_ellipsoid(self.xs)
        for _ in range(FIXED_POINT_STEPS):  # the raised midline arrives from h·sin φ further back
            src = round_ellipsoid(self.xs - self.height(src) * math.sin(phi))
        return np.asarray(np.where(self.inside, src, self.xs), dtype=np.float64)


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
            self._head = HeadModel(frame.shape, faces[0].box, faces[0].landmarks)
            self._phi = (-sign if mirrored else sign) * math.radians(TURN_DEG)

    def next_frame(self) -> Image:
        i, self.frames = self.frames, self.frames + 1
        amount = amount_at(i)
        if self._head is None or amount == 0.0:
            return self.base.copy()
        return self.render(amount)

    def render(self, amount: float) -> Image:
        """The face turned by ``amount`` of the full turn."""
        import cv2

        head = self._head
        assert head is not None
        if amount not in self._maps:
            self._maps[amount] = (head.source_x(amount * self._phi).astype(np.float32), head.ys.astype(np.float32))
        map_x, map_y = self._maps[amount]
        out = self.base.copy()
        out[head.y0:head.y1, head.x0:head.x1] = cv2.remap(self.base, map_x, map_y, cv2.INTER_LINEAR,
                                                          borderMode=cv2.BORDER_REFLECT)
        return out


if __name__ == "__main__":  # the measurement this module's docstring cites (and older notes call it so)
    from hardware_fixtures.turn_trial import main

    raise SystemExit(main())
