"""ZhianTec / R30x fingerprint sensor simulator on a pseudo-terminal.

Serves real fingerprint images (an image file or a directory of them, e.g. an FVC set such as FVC2004_DB4_B,
read at run time and never copied) centre-cropped or padded to the sensor's 256×288 and quantised to its 4 bits.
A finger is placed and lifted on command, or automatically (``auto_finger``: every capture finds the next image,
for demos). On-sensor templates are simulated by the image's *finger label* (``101`` of ``101_3.tif``): a search
"matches" another impression of the same finger. That is ground truth, not a matcher, and only exercises the
fallback protocol path.

Faults on command: ``bad_checksum`` (ACKs), ``silence`` (sensor timeout), ``truncated`` (image stream cut),
``capture_fail`` (GenImg answers 03), plus ``unplug``/``replug``. Output can be paced at the baud rate
(``realtime``), which makes image uploads take their real ~7 s at 57600 baud.

Run ``python -m hardware_fixtures.zhiantec --help``.
"""

from __future__ import annotations

import argparse
import threading
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hardware_fixtures.pty_device import PtyDevice, control_loop
from idverify.devices.zhiantec import (
    AURA_LED,
    BAUD_REGISTER,
    CAPTURE_FAILED,
    DELETE,
    EMPTY,
    GEN_IMG,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    IMG2TZ,
    NO_FINGER,
    NOT_FOUND,
    OK,
    PID_ACK,
    PID_COMMAND,
    PID_DATA,
    PID_END,
    READ_SYS_PARA,
    REG_MODEL,
    SEARCH,
    SET_SYS_PARA,
    STORE,
    TEMPLATE_NUM,
    UP_IMAGE,
    VFY_PWD,
    WRONG_PASSWORD,
    PacketDecoder,
    encode_packet,
    pack_image,
)
from idverify.errors import DeviceError

FAULTS = ("bad_checksum", "silence", "truncated", "capture_fail")
IMAGE_SUFFIXES = {".tif", ".tiff", ".bmp", ".png", ".jpg", ".jpeg", ".pgm"}
CAPACITY = 300
PACKET_SIZE = 128


def fit_to_sensor(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Centre-crop or pad (white, like an empty platen) to 288 rows × 256 columns."""
    h, w = image.shape
    out = np.full((IMAGE_HEIGHT, IMAGE_WIDTH), 255, dtype=np.uint8)
    sy, sx = max(0, (h - IMAGE_HEIGHT) // 2), max(0, (w - IMAGE_WIDTH) // 2)
    dy, dx = max(0, (IMAGE_HEIGHT - h) // 2), max(0, (IMAGE_WIDTH - w) // 2)
    ch, cw = min(h, IMAGE_HEIGHT), min(w, IMAGE_WIDTH)
    out[dy:dy + ch, dx:dx + cw] = image[sy:sy + ch, sx:sx + cw]
    return out


def load_image(path: Path) -> NDArray[np.uint8]:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return fit_to_sensor(np.asarray(image, dtype=np.uint8))


def image_paths(source: Path) -> list[Path]:
    paths = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if source.is_dir() else [source]
    if not paths:
        raise ValueError(f"no images in {source}")
    return paths


def finger_label(path: Path) -> int:
    """FVC naming ``<finger>_<impression>``; other names get a stable number of their own."""
    head = path.stem.split("_")[0]
    return int(head) if head.isdigit() else zlib.crc32(path.stem.encode()) % 60000


class ZhianTecSimulator(PtyDevice):
    """A sensor with password, image buffer, two char buffers and a flash library."""

    def __init__(
        self,
        images: Path,
        *,
        baud: int = 57600,
        realtime: bool = False,
        link: Path | None = None,
        password: int = 0,
        auto_finger: bool = False,
        strict_baud: bool = False,
        max_baud: int = 115200,
    ) -> None:
        super().__init__(baud=baud, realtime=realtime, link=link, strict_baud=strict_baud)
        self.paths = image_paths(images)
        self.max_baud = max_baud  # a module that refuses faster rates (some clones stop at 57600)
        self.password = password
        self.auto_finger = auto_finger
        self._finger: int | None = None  # index into paths of the finger on the platen
        self._next_auto = 0
        self._person: list[list[Path]] | None = None  # a persona's fingers (impressions each), see present_fingers
        self._person_captures = 0
        self._impression: dict[int, int] = {}
        self._image: NDArray[np.uint8] | None = None
        self._image_label: int | None = None
        self._char: dict[int, int | None] = {1: None, 2: None}
        self.library: dict[int, int] = {}
        self._faults: dict[str, int | None] = {}
        self._ctl = threading.Lock()
        self._decoder = PacketDecoder()
        self.instructions: list[int] = []

    # --- control API -----------------------------------------------------------------------------------------
    def place(self, index: int = 0) -> None:
        """Put finger image ``index`` (of the sorted images) on the platen."""
        with self._ctl:
            if not 0 <= index < len(self.paths):
                raise IndexError("no such image")
            self._finger = index

    def lift(self) -> None:
        with self._ctl:
            self._finger = None

    def present_fingers(self, fingers: list[list[Path]] | None) -> None:
        """A simulated person at the sensor (``hardware_fixtures.personas``): each capture takes their next finger
        in order (the order the nurse asks for them, restarting here) and that finger's next impression, so no
        two captures of a finger are the same image. ``None``: back to the image folder."""
        with self._ctl:
            self._person = [list(f) for f in fingers] if fingers else None
            self._person_captures = 0
            self._impression = {}

    def _person_finger(self) -> Path | None:
        with self._ctl:
            if self._person is None:
                return None
            finger = self._person_captures % len(self._person)
            self._person_captures += 1
            impressions = self._person[finger]
            shot = self._impression.get(finger, 0)
            self._impression[finger] = shot + 1
            return impressions[shot % len(impressions)]

    def inject(self, fault: str, times: int | None = None) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._ctl:
            self._faults[fault] = times

    def clear(self) -> None:
        with self._ctl:
            self._faults.clear()

    def expected_image(self, index: int) -> NDArray[np.uint8]:
        """What the host should receive for image ``index`` (after the sensor's 4-bit quantisation)."""
        return ((load_image(self.paths[index]) >> 4) * 17).astype(np.uint8)

    def _take(self, fault: str) -> bool:
        with self._ctl:
            if fault not in self._faults:
                return False
            left = self._faults[fault]
            if left is not None:
                if left <= 1:
                    del self._faults[fault]
                else:
                    self._faults[fault] = left - 1
            return True

    # --- protocol --------------------------------------------------------------------------------------------
    def handle(self, data: bytes) -> None:
        self._decoder.feed(data)
        while True:
            try:
                pkt = self._decoder.next_packet()
            except DeviceError:
                self._ack(0x01)
                continue
            if pkt is None:
                return
            pid, payload = pkt
            if pid != PID_COMMAND or not payload:
                self._ack(0x01)
                continue
            self.instructions.append(payload[0])
            if self._take("silence"):
                continue
            self._command(payload[0], payload[1:])

    def _ack(self, code: int, data: bytes = b"") -> None:
        frame = encode_packet(PID_ACK, bytes([code]) + data)
        if self._take("bad_checksum"):
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        self.send(frame)

    def _finger_now(self) -> int | None:
        with self._ctl:
            if self._finger is None and self.auto_finger:
                self._finger = self._next_auto % len(self.paths)
                self._next_auto += 1
            return self._finger

    def _command(self, ins: int, params: bytes) -> None:  # noqa: PLR0915 - one branch per instruction
        if ins == VFY_PWD:
            ok = len(params) >= 4 and int.from_bytes(params[:4], "big") == self.password
            self._ack(OK if ok else WRONG_PASSWORD)
        elif ins == GEN_IMG:
            path = self._person_finger()
            if path is None:
                finger = self._finger_now()
                path = None if finger is None else self.paths[finger]
            if path is None:
                self._ack(NO_FINGER)
            elif self._take("capture_fail"):
                self._ack(CAPTURE_FAILED)
            else:
                self._image = load_image(path)
                self._image_label = finger_label(path)
                if self.auto_finger:
                    self.lift()  # the demo patient lifts right after the shot
                self._ack(OK)
        elif ins == UP_IMAGE:
            self._upload()
        elif ins == IMG2TZ:
            if self._image is None or not params or params[0] not in (1, 2):
                self._ack(0x15)
            else:
                self._char[params[0]] = self._image_label
                self._ack(OK)
        elif ins == REG_MODEL:
            a, b = self._char[1], self._char[2]
            self._ack(OK if a is not None and a == b else 0x0A)
        elif ins == STORE:
            pos = int.from_bytes(params[1:3], "big") if len(params) >= 3 else -1
            label = self._char.get(params[0]) if params else None
            if not 0 <= pos < CAPACITY or label is None:
                self._ack(0x0B)
            else:
                self.library[pos] = label
                self._ack(OK)
        elif ins == SEARCH:
            label = self._char.get(params[0]) if params else None
            hits = [p for p, lab in sorted(self.library.items()) if lab == label]
            self._ack(OK, hits[0].to_bytes(2, "big") + (150).to_bytes(2, "big")) if hits else self._ack(NOT_FOUND)
        elif ins == TEMPLATE_NUM:
            self._ack(OK, len(self.library).to_bytes(2, "big"))
        elif ins == DELETE:
            pos, count = int.from_bytes(params[0:2], "big"), int.from_bytes(params[2:4], "big")
            for p in range(pos, pos + count):
                self.library.pop(p, None)
            self._ack(OK)
        elif ins == EMPTY:
            self.library.clear()
            self._ack(OK)
        elif ins == READ_SYS_PARA:
            params_out = b"".join(
                v.to_bytes(2, "big") for v in (0, 0x0009, CAPACITY, 3)
            ) + (0xFFFFFFFF).to_bytes(4, "big") + (2).to_bytes(2, "big") + (self.baud // 9600).to_bytes(2, "big")
            self._ack(OK, params_out)
        elif ins == SET_SYS_PARA:
            if len(params) >= 2 and params[0] == BAUD_REGISTER and 1 <= params[1] <= self.max_baud // 9600:
                self._ack(OK)  # answered at the old rate, then the module listens at the new one
                self.set_baud(params[1] * 9600)
            else:
                self._ack(0x1A)  # invalid register
        elif ins == AURA_LED:
            self._ack(OK)
        else:
            self._ack(0x01)

    def _upload(self) -> None:
        if self._image is None:
            self._ack(0x0F)
            return
        self._ack(OK)
        stream = pack_image(self._image)
        chunks = [stream[i:i + PACKET_SIZE] for i in range(0, len(stream), PACKET_SIZE)]
        if self._take("truncated"):
            chunks = chunks[: len(chunks) // 2]
            pids = [PID_DATA] * len(chunks)
        else:
            pids = [PID_DATA] * (len(chunks) - 1) + [PID_END]
        self.send(b"".join(encode_packet(pid, c) for pid, c in zip(pids, chunks, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware_fixtures.zhiantec",
        description="Simulated ZhianTec/R30x fingerprint sensor on a pty. Commands on stdin: place N, lift, "
        f"fault {{{','.join(FAULTS)}}} [TIMES], clear, unplug, replug, quit.",
    )
    parser.add_argument("images", type=Path, help="fingerprint image file or directory (FVC naming)")
    parser.add_argument("--baud", type=int, default=57600)
    parser.add_argument("--realtime", action="store_true", help="pace output at the baud rate")
    parser.add_argument("--password", type=lambda s: int(s, 0), default=0)
    parser.add_argument("--auto-finger", action="store_true", help="every capture finds the next image")
    parser.add_argument("--link", type=Path, help="stable symlink to create for the pty slave")
    args = parser.parse_args(argv)
    sim = ZhianTecSimulator(
        args.images, baud=args.baud, realtime=args.realtime, link=args.link, password=args.password,
        auto_finger=args.auto_finger,
    )
    with sim:
        control_loop(sim, f"ZhianTec simulator on {sim.port} ({len(sim.paths)} images)",
                     {"place": lambda a: sim.place(int(a[0]) if a else 0), "lift": lambda _a: sim.lift()},
                     "place N | lift")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
