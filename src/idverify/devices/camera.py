"""Camera: frame sources (device index, video file, image folder, stream URL) and a grabbing thread.

Owns: opening the configured source with OpenCV, grabbing frames off the event loop in a daemon thread into a
small ring buffer (recent frames feed liveness checks), reopening a lost source with backoff, and JPEG encoding
for previews. Frames are BGR ``uint8`` arrays as OpenCV gives them. Knows nothing of faces or patients; never
logs pixels.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import structlog
from numpy.typing import NDArray

from idverify.errors import DeviceError, DeviceUnavailable, ErrorCode

log = structlog.get_logger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})
Image = NDArray[np.uint8]


@runtime_checkable
class FrameSource(Protocol):
    """Something that yields frames. ``read`` returns None when no frame is available right now and raises
    :class:`DeviceUnavailable` when the device is gone (the camera then reopens it with backoff)."""

    name: str

    def open(self) -> None: ...

    def read(self) -> Image | None: ...

    def close(self) -> None: ...


class OpenCVSource:
    """A V4L2 device index, a video file or a stream URL (RTSP/HTTP MJPEG) through ``cv2.VideoCapture``."""

    def __init__(self, spec: str, *, width: int = 640, height: int = 480, fps: int = 15) -> None:
        self.spec = spec
        self.width, self.height, self.fps = width, height, fps
        self.name = f"opencv:{spec}" if not spec.isdigit() else f"camera:{spec}"
        self._cap: Any = None

    def open(self) -> None:
        import cv2

        target: int | str = int(self.spec) if self.spec.isdigit() else self.spec
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise DeviceUnavailable(f"camera source {self.name} cannot be opened")
        if isinstance(target, int):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we keep our own ring; stale driver buffers add latency
        self._cap = cap

    @property
    def is_file(self) -> bool:
        return not self.spec.isdigit() and "://" not in self.spec

    def read(self) -> Image | None:
        """The next frame; a video file starts over at its end (a looping test clip), a live source returns
        None when it has nothing."""
        if self._cap is None:
            raise DeviceUnavailable(f"camera source {self.name} is not open")
        ok, frame = self._cap.read()
        if not ok and self.is_file:
            import cv2

            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        return np.asarray(frame, dtype=np.uint8) if ok and frame is not None else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderSource:
    """Still images (one file, or a folder searched recursively, sorted by path) served in a loop.

    Files are read on demand, so a large folder costs no memory; unreadable files are skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"images:{path}"
        self._files: list[Path] = []
        self._i = 0

    def open(self) -> None:
        files = (
            sorted(p for p in self.path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if self.path.is_dir() else [self.path] if self.path.is_file() else []
        )
        if not files:
            raise DeviceUnavailable(f"camera source {self.name} has no images")
        self._files = files

    def read(self) -> Image | None:
        import cv2

        for _ in range(len(self._files)):
            path = self._files[self._i % len(self._files)]
            self._i += 1
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                return np.asarray(frame, dtype=np.uint8)
        return None

    def close(self) -> None:
        self._files = []


def open_source(spec: str, *, width: int = 640, height: int = 480, fps: int = 15) -> FrameSource:
    """Pick the source for a ``camera`` setting: index → device, folder or image file → stills, else OpenCV."""
    path = Path(spec)
    if not spec.isdigit() and (path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES):
        return FolderSource(path)
    return OpenCVSource(spec, width=width, height=height, fps=fps)


@dataclass(frozen=True)
class Frame:
    image: Image
    timestamp: float  # time.monotonic() when grabbed
    index: int


class Camera:
    """Grabs frames from a :class:`FrameSource` in a thread, keeping the last ``ring_size`` frames.

    The thread paces itself at ``fps`` (sources such as folders or files would otherwise spin), reopens the
    source after it fails, waiting 0.5 s, 1 s, 2 s … up to ``max_backoff``, and records the last problem for
    :meth:`status`. Readers never touch OpenCV: they copy frames out of the ring under a lock."""

    def __init__(
        self,
        source: FrameSource,
        *,
        fps: int = 15,
        ring_size: int = 32,
        max_backoff: float = 10.0,
        no_frame_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.fps = fps
        self.max_backoff = max_backoff
        self.no_frame_after = no_frame_after
        self._clock = clock
        self._ring: deque[Frame] = deque(maxlen=ring_size)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0
        self.problem: str | None = "not started"
        self.problem_code: str | None = "camera_starting"  # what ``problem`` says, for screens in any language
        self.opened = False

    @property
    def name(self) -> str:
        return self.source.name

    def start(self) -> Camera:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="camera-grab", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.source.close()
        self.opened = False

    def _run(self) -> None:
        backoff = 0.5
        period = 1.0 / self.fps
        last_frame = self._clock()
        while not self._stop.is_set():
            if not self.opened:
                try:
                    self.source.open()
                    self.opened, self.problem, self.problem_code, backoff = True, None, None, 0.5
                    last_frame = self._clock()
                except DeviceError as exc:
                    self.problem, self.problem_code = exc.message, str(exc.code)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
            started = self._clock()
            try:
                image = self.source.read()
            except DeviceError as exc:
                self.problem, self.problem_code, self.opened = exc.message, str(exc.code), False
                self.source.close()
                continue
            if image is None:
                if self._clock() - last_frame >= self.no_frame_after:
                    self.problem, self.problem_code = "camera returns no frames", "camera_no_frames"
            else:
                last_frame = self._clock()
                self.problem = self.problem_code = None
                with self._cond:
                    self._count += 1
                    self._ring.append(Frame(image, self._clock(), self._count))
                    self._cond.notify_all()
            self._stop.wait(max(0.0, period - (self._clock() - started)))

    # --- readers -----------------------------------------------------------------------------------------------
    def status(self) -> tuple[Literal["ok", "unavailable", "error"], str | None]:
        """``(ok|unavailable|error, detail)`` for health reports."""
        if not self.opened:
            return "unavailable", self.problem
        if self.problem:
            return "error", self.problem
        return "ok", None

    def wait_frame(self, timeout: float = 2.0, *, newer_than: int = 0) -> Frame:
        """The newest frame with index above ``newer_than`` (0: any), waiting up to ``timeout`` seconds."""
        deadline = self._clock() + timeout
        with self._cond:
            while not self._ring or self._ring[-1].index <= newer_than:
                left = deadline - self._clock()
                if left <= 0:
                    status, detail = self.status()
                    if status == "unavailable":
                        raise DeviceUnavailable(f"camera unavailable: {detail or 'not open'}")
                    raise DeviceError(
                        f"camera delivered no frame within {timeout:.1f} s", code=ErrorCode.NO_FRAME, status_code=504
                    )
                self._cond.wait(left)
            return self._ring[-1]

    def fresh_frame(self, timeout: float = 2.0) -> Frame:
        """A frame grabbed after this call started (not a stale one from the ring)."""
        with self._cond:
            last = self._ring[-1].index if self._ring else 0
        return self.wait_frame(timeout, newer_than=last)

    def newest_index(self) -> int:
        """Index of the newest frame in the ring (0 before the first): a mark for :meth:`frames_since`."""
        with self._cond:
            return self._ring[-1].index if self._ring else 0

    def frames_since(self, mark: int, n: int, timeout: float = 2.0) -> list[Frame]:
        """``n`` frames grabbed after ``mark`` (oldest first), waiting for them up to ``timeout`` seconds.

        A check must only see the person who is at the desk now: the ring still holds the previous patient's
        face for a few hundred milliseconds after they step away, so frames from before the request are never
        used. Returns what arrived (at least one) when the camera is slower than asked; raises like
        :meth:`wait_frame` when none did."""
        deadline = self._clock() + timeout
        newest = self.wait_frame(timeout, newer_than=mark).index
        while newest - mark < n and self._clock() < deadline:
            try:
                newest = self.wait_frame(max(deadline - self._clock(), 0.01), newer_than=newest).index
            except DeviceError:
                break
        with self._cond:
            frames = [f for f in self._ring if f.index > mark]
        return frames[-n:]

    def recent(self, n: int | None = None) -> list[Frame]:
        """Up to ``n`` most recent frames, oldest first (liveness checks look at motion across them)."""
        with self._cond:
            frames = list(self._ring)
        return frames if n is None else frames[-n:]


def encode_jpeg(image: Image, quality: int = 80, max_width: int | None = 640) -> bytes:
    """JPEG bytes for a preview, downscaled to ``max_width`` to keep previews cheap."""
    import cv2

    if max_width and image.shape[1] > max_width:
        scale = max_width / image.shape[1]
        image = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DeviceError("cannot encode preview", code=ErrorCode.DEVICE_ERROR)
    return bytes(buf.tobytes())
