"""Simulated camera: a frame source made of image files, with faults on command.

In-process (tests, ``idverify demo``): :class:`SimulatedCamera` is a :class:`idverify.devices.camera.FrameSource`
serving the images of a file or folder in a loop (e.g. the public face sample sets, read at run time, never
copied). Faults: ``no_frames`` (the device stays open but delivers nothing) and ``unplug`` (open/read fail until
``replug``).

Liveness challenges: ``perform("turn_left" | "turn_right" | "still")`` freezes the face on camera and acts the
challenge out frame by frame (:mod:`hardware_fixtures.performance`), holding the face until ``release()``.

Standalone: ``python -m hardware_fixtures.camera DIR --port 8081`` serves the same images as an HTTP MJPEG
stream that the daemon (or any OpenCV client) opens as ``IDVERIFY_CAMERA=http://127.0.0.1:8081/stream.mjpg``;
stdin commands ``no_frames``, ``frames``, ``turn_left``, ``turn_right``, ``still``, ``release``, ``quit``
control it.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hardware_fixtures.performance import ACTIONS, Performance
from idverify.biometrics.face.image import letterbox
from idverify.devices.camera import FolderSource
from idverify.errors import DeviceUnavailable

Image = NDArray[np.uint8]


class SimulatedCamera:
    """Frame source over still images, with ``no_frames`` and ``unplug`` faults. Thread-safe controls."""

    def __init__(self, images: Path, *, width: int | None = None, height: int | None = None) -> None:
        self._folder = FolderSource(images)
        self.name = f"simulated-camera:{images.name}"
        self.width, self.height = width, height
        self.no_frames = False
        self.plugged = True
        self.frames_served = 0
        self._person: list[Path] | None = None  # a persona's face photos, shown instead of the folder
        self._person_i = 0
        self._last: Image | None = None
        self._performance: Performance | None = None
        self._empty = False  # nobody in front of the camera: an empty room, not the folder's faces

    def perform(self, action: str, *, mirrored: bool = False) -> None:
        """Act out a liveness challenge on the face now on camera (``turn_left``/``turn_right``: the patient's
        own side; ``still``: a photo held up). Raises ValueError when no single face is on camera."""
        if self._last is None and self._person:  # stepped up a moment ago: act on their first photo
            self._last = self._person_frame()
        if self._last is None:
            raise ValueError("the camera has served no frame yet")
        try:
            self._performance = Performance(self._last, action, mirrored=mirrored)
        except ValueError:
            # The photo on camera this instant may show no single clear face (some of a person's sample photos
            # do not): the person acts from one of their own photos that does, else the refusal stands.
            for frame in self._person_photos():
                try:
                    self._performance = Performance(frame, action, mirrored=mirrored)
                except ValueError:
                    continue
                return
            raise

    def release(self) -> None:
        """End a performance: the camera serves its photos again."""
        self._performance = None

    def show(self, faces: list[Path] | None) -> None:
        """Show a simulated person's photos in a loop (``hardware_fixtures.personas``); ``None``: the folder again."""
        self._person, self._person_i = (list(faces) if faces else None), 0
        self._performance = None  # someone else at the desk: any performance is over
        self._empty = False
        self._last = None  # a performance acts on this person's face, not on the last frame of someone else

    def empty(self) -> None:
        """Nobody at the desk: plain frames with no face in them (the demo panel says "nobody"; the camera agrees)."""
        self.show(None)
        self._empty = True

    def set_no_frames(self, on: bool = True) -> None:
        self.no_frames = on

    def unplug(self) -> None:
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    def open(self) -> None:
        if not self.plugged:
            raise DeviceUnavailable(f"{self.name} is unplugged")
        self._folder.open()

    def read(self) -> Image | None:
        if not self.plugged:
            raise DeviceUnavailable(f"{self.name} was unplugged")
        if self.no_frames:
            return None
        performance = self._performance
        if performance is not None:
            self.frames_served += 1
            return performance.next_frame()
        if self._empty:
            frame: Image | None = np.full((self.height or 480, self.width or 640, 3), 214, dtype=np.uint8)
        else:
            frame = self._person_frame() if self._person else self._folder.read()
        if frame is not None and self.width and self.height:
            frame = letterbox(frame, self.width, self.height)
        if frame is not None:
            self.frames_served += 1
            self._last = None if self._empty else frame
        return frame

    def _person_photos(self) -> Iterator[Image]:
        import cv2

        for path in self._person or []:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                image = np.asarray(frame, dtype=np.uint8)
                yield letterbox(image, self.width, self.height) if self.width and self.height else image

    def _person_frame(self) -> Image | None:
        import cv2

        faces = self._person
        if not faces:
            return None
        path = faces[self._person_i % len(faces)]
        self._person_i += 1
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if frame is None else np.asarray(frame, dtype=np.uint8)

    def close(self) -> None:
        self._folder.close()


def serve_mjpeg(cam: SimulatedCamera, host: str, port: int, fps: int) -> ThreadingHTTPServer:
    """An MJPEG-over-HTTP server (``/stream.mjpg``, ``/frame.jpg``) in a daemon thread."""
    import cv2

    cam.open()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            return

        def _jpeg(self) -> bytes | None:
            frame = cam.read()
            if frame is None:
                return None
            ok, buf = cv2.imencode(".jpg", frame)
            return bytes(buf.tobytes()) if ok else None

        def do_GET(self) -> None:
            if self.path.startswith("/frame.jpg"):
                data = self._jpeg()
                if data is None:
                    self.send_error(503, "no frames")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if not self.path.startswith("/stream.mjpg"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                while True:
                    data = self._jpeg()
                    if data is not None:
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n"
                        )
                    time.sleep(1.0 / fps)
            except (BrokenPipeError, ConnectionResetError):
                return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="mjpeg", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware_fixtures.camera",
        description="Simulated camera: serves image files as an MJPEG stream. stdin: no_frames, frames, "
                    "turn_left, turn_right, still, release, quit.",
    )
    parser.add_argument("images", type=Path, help="image file or folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args(argv)
    cam = SimulatedCamera(args.images)
    server = serve_mjpeg(cam, args.host, args.port, args.fps)
    print(f"camera simulator on http://{args.host}:{server.server_address[1]}/stream.mjpg", flush=True)
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "no_frames":
                cam.set_no_frames(True)
            elif cmd == "frames":
                cam.set_no_frames(False)
            elif cmd in ACTIONS:
                try:
                    cam.perform(cmd)
                except ValueError as exc:
                    print(f"error {exc}", flush=True)
                    continue
            elif cmd == "release":
                cam.release()
            elif cmd in ("quit", "exit"):
                break
            elif cmd:
                print("commands: no_frames | frames | turn_left | turn_right | still | release | quit", flush=True)
                continue
            print(f"ok {cmd}", flush=True)
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
