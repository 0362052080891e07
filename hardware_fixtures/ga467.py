"""GA 467 ID-card reader simulator on a pseudo-terminal.

Serves made-up card records (JSON list; see ``ga467_cards.json`` beside this file) through the real GA 467 frame
protocol, so the driver is tested end to end over a tty. Faults are injected on command (Python API for tests,
stdin commands when run standalone):

* ``bad_checksum`` – answers carry a wrong check byte;   * ``truncated`` – answers stop half-way;
* ``silence`` – no answer at all;                        * ``pull_mid_read`` – the card leaves during read-base;
* ``select_fail`` – select answers 81 (some readers do on the first try);
* ``remove`` – no card on the reader;                    * ``unplug`` / ``replug`` – the pty goes away / comes back.

Run ``python -m hardware_fixtures.ga467 --help``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from hardware_fixtures.pty_device import PtyDevice, control_loop
from idverify.devices.ga467 import (
    CMD_FIND,
    CMD_READ_BASE,
    CMD_READ_NEW_ADDRESS,
    CMD_RESET,
    CMD_SAM_ID,
    CMD_SAM_STATUS,
    CMD_SELECT,
    SW_FIND_OK,
    SW_NO_CARD,
    SW_NO_CONTENT,
    SW_OK,
    SW_READ_FAILED,
    SW_SELECT_FAILED,
    FrameDecoder,
    FrameError,
    encode_response,
)
from idverify.documents.cn_id import encode_text_block

DEFAULT_CARDS = Path(__file__).with_name("ga467_cards.json")
FAULTS = ("bad_checksum", "truncated", "silence", "pull_mid_read", "select_fail")
_SAM_ID = bytes([0x05, 0, 0x01, 0]) + (20101215).to_bytes(4, "little") + (12345678).to_bytes(4, "little") + (
    123456789
).to_bytes(4, "little")


def load_cards(path: Path = DEFAULT_CARDS) -> list[dict[str, str]]:
    cards: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return cards


def fake_wlt(record: dict[str, str]) -> bytes:
    """1024 bytes standing in for the WLT photo (not a real WLT: no decoder can make a face of it)."""
    seed = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).digest()
    return (seed * 32)[:1024]


class Ga467Simulator(PtyDevice):
    """A reader with at most one card on it. Thread-safe control methods."""

    def __init__(
        self,
        cards: list[dict[str, str]] | None = None,
        *,
        baud: int = 115200,
        realtime: bool = False,
        link: Path | None = None,
        card: int | None = 0,
        strict_baud: bool = False,
    ) -> None:
        super().__init__(baud=baud, realtime=realtime, link=link, strict_baud=strict_baud)
        self.cards = cards if cards is not None else load_cards()
        self.card: int | None = card
        self._faults: dict[str, int | None] = {}
        self._decoder = FrameDecoder()
        self._ctl = threading.Lock()
        self.commands: list[tuple[int, int]] = []  # what the host sent, for tests

    # --- control API -----------------------------------------------------------------------------------------
    def insert(self, index: int = 0) -> None:
        with self._ctl:
            if not 0 <= index < len(self.cards):
                raise IndexError("no such card record")
            self.card = index

    def remove(self) -> None:
        with self._ctl:
            self.card = None

    def inject(self, fault: str, times: int | None = None) -> None:
        """Arm a fault for the next ``times`` answers (None: until :meth:`clear`)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._ctl:
            self._faults[fault] = times

    def clear(self) -> None:
        with self._ctl:
            self._faults.clear()

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
                body = self._decoder.next_body()
            except FrameError:
                self._reply(encode_response(0x10))
                continue
            if body is None:
                return
            if len(body) < 2:
                self._reply(encode_response(0x11))
                continue
            self._answer((body[0], body[1]))

    def _answer(self, command: tuple[int, int]) -> None:
        self.commands.append(command)
        if self._take("silence"):
            return
        with self._ctl:
            card = self.cards[self.card] if self.card is not None else None
        if command in (CMD_RESET, CMD_SAM_STATUS):
            self._reply(encode_response(SW_OK))
        elif command == CMD_SAM_ID:
            self._reply(encode_response(SW_OK, _SAM_ID))
        elif command == CMD_FIND:
            self._reply(encode_response(SW_FIND_OK, bytes(4)) if card else encode_response(SW_NO_CARD))
        elif command == CMD_SELECT:
            ok = card is not None and not self._take("select_fail")
            self._reply(encode_response(SW_OK, bytes(8)) if ok else encode_response(SW_SELECT_FAILED))
        elif command == CMD_READ_BASE:
            if card is None:
                self._reply(encode_response(SW_READ_FAILED))
            elif self._take("pull_mid_read"):
                self.remove()
                self._reply(encode_response(SW_READ_FAILED))
            else:
                kind: Any = card.get("kind", "resident")
                text = encode_text_block(card, kind)
                photo = fake_wlt(card)
                payload = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo
                self._reply(encode_response(SW_OK, payload))
        elif command == CMD_READ_NEW_ADDRESS:
            if card is None:
                self._reply(encode_response(SW_READ_FAILED))
            elif card.get("new_address"):
                self._reply(encode_response(SW_OK, card["new_address"].ljust(35)[:35].encode("utf-16-le")))
            else:
                self._reply(encode_response(SW_NO_CONTENT))
        else:
            self._reply(encode_response(0x21))

    def _reply(self, frame: bytes) -> None:
        if self._take("bad_checksum"):
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if self._take("truncated"):
            frame = frame[: max(8, len(frame) // 2)]
        self.send(frame)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware_fixtures.ga467",
        description="Simulated GA 467 ID-card reader on a pty. Commands on stdin: insert N, remove, "
        f"fault {{{','.join(FAULTS)}}} [TIMES], clear, unplug, replug, quit.",
    )
    parser.add_argument("--cards", type=Path, default=DEFAULT_CARDS, help="JSON list of made-up card records")
    parser.add_argument("--card", type=int, default=0, help="index of the card on the reader at start (-1: none)")
    parser.add_argument("--baud", type=int, default=115200, help="baud rate to pace answers at (with --realtime)")
    parser.add_argument("--realtime", action="store_true", help="pace output at the baud rate")
    parser.add_argument("--link", type=Path, help="stable symlink to create for the pty slave, e.g. /tmp/ga467")
    args = parser.parse_args(argv)
    sim = Ga467Simulator(
        load_cards(args.cards), baud=args.baud, realtime=args.realtime, link=args.link,
        card=None if args.card < 0 else args.card,
    )
    with sim:
        control_loop(sim, f"GA 467 simulator on {sim.port} ({len(sim.cards)} cards; card {sim.card} inserted)",
                     {"insert": lambda a: sim.insert(int(a[0]) if a else 0), "remove": lambda _a: sim.remove()},
                     "insert N | remove")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
