"""Simulated people for the demo and the browser tests: who stands at the workstation.

A *persona* is one made-up person: the ID card they carry (an index into the GA 467 simulator's cards), the face
the camera sees (a few photos of one identity) and their fingers (one FVC finger per finger position, several
impressions each). Presenting a persona inserts the card, shows the face on the camera and puts the finger on
the sensor; every capture gets the next impression of the asked finger, as a real finger never lands the same way
twice. Fingers are asked in the order the UI asks for them (right index, then left index): the order resets each
time a persona is presented, so "present, then check" always captures the right index first.

Images come from the public samples beside the checkout (``../shared/data``: ``face/asian_dev`` and
``fingerprint/FVC2002_DB1_B``, the identities ``idverify demo --scenario`` uses) or, when those are absent, from
generated ones: synthetic fingers (:mod:`hardware_fixtures.fingerprint_synth`) that enrol and match like real
ones, so the fingerprint journey works from the repository alone. Faces cannot be generated that way: without
photos the camera shows a drawing in which no face is found, and the desk says so (``faces_missing``) until
``IDVERIFY_DEMO_FACES`` points at a folder with one sub-folder of photos per person (three people at least).

The impostor carries a card of their own, or — the interesting case — holds a patient's card (``card_of``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardware_fixtures.synthetic import synthetic_images

FINGER_ORDER = ("right_index", "left_index")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}

#: A made-up card for the impostor: a valid resident ID that belongs to nobody enrolled.
IMPOSTOR_CARD: dict[str, str] = {
    "kind": "resident", "name": "赵冒名", "sex": "2", "nation": "01", "birth": "19910415",
    "address": "江苏省南京市鼓楼区演示巷5号", "id_number": "32010619910415002X",
    "authority": "南京市公安局鼓楼分局", "valid_from": "20160101", "valid_to": "20360101",
}


@dataclass(frozen=True)
class PersonaSpec:
    """What a persona is made of, by name (resolved against the sample folders by :func:`build_personas`)."""

    key: str
    label: str  # shown in the demo panel; made-up, like everything a simulator serves
    sex: str  # "F" / "M"
    card_id_number: str | None  # None: IMPOSTOR_CARD
    face_identity: str  # folder of face/asian_dev
    fingers: tuple[str, str]  # FVC finger labels for FINGER_ORDER


SPECS = (
    PersonaSpec("female", "Female patient (李测试)", "F", "110105199003070025", "cn_s10", ("101", "102")),
    PersonaSpec("male", "Male partner (陈示例)", "M", "440305198511120052", "cn_s2", ("103", "104")),
    PersonaSpec("impostor", "Impostor (赵冒名)", "F", None, "cn_s9", ("105", "106")),
)


@dataclass
class Persona:
    key: str
    label: str
    sex: str
    card_index: int
    faces: list[Path]
    fingers: dict[str, list[Path]]  # finger position -> impressions
    real_face: bool = True  # False: a drawing stands in for the face (no photos configured)

    @property
    def name(self) -> str:
        """The made-up name on the persona's card (the part of ``label`` in brackets): the demo panel shows it
        beside the role, which it words in the page's language (``sim.persona.<key>``)."""
        return self.label.rsplit("(", 1)[-1].rstrip(")") if "(" in self.label else self.label

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "name": self.name, "sex": self.sex,
                "card_index": self.card_index,
                "fingers": list(self.fingers), "real_face": self.real_face}


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _face_folder(root: Path | None, identity: str, n: int) -> Path | None:
    """The persona's photo folder: the sample identity by name, else the n-th person folder of ``root``."""
    if root is None or not root.is_dir():
        return None
    named = root / identity
    if named.is_dir() and _images(named):
        return named
    people = sorted(d for d in root.iterdir() if d.is_dir() and _images(d))
    return people[n] if n < len(people) else None


def build_personas(cards: list[dict[str, str]], *, faces_root: Path | None, fingers_root: Path | None,
                   scratch: Path) -> tuple[list[Persona], list[dict[str, str]]]:
    """The personas and the card list the reader must serve (``cards`` plus the impostor's own card)."""
    cards = list(cards)
    if not any(c.get("id_number") == IMPOSTOR_CARD["id_number"] for c in cards):
        cards.append(dict(IMPOSTOR_CARD))
    synthetic_faces = synthetic_fingers = None
    personas: list[Persona] = []
    for n, spec in enumerate(SPECS):
        wanted = spec.card_id_number or IMPOSTOR_CARD["id_number"]
        card_index = next(i for i, c in enumerate(cards) if c.get("id_number") == wanted)
        face_dir = _face_folder(faces_root, spec.face_identity, n)
        if face_dir is not None:
            faces = _images(face_dir)
        else:
            synthetic_faces = synthetic_faces or synthetic_images(scratch, kind="face", count=len(SPECS))
            faces = [_images(synthetic_faces)[n]]
        fingers: dict[str, list[Path]] = {}
        for f, (position, label) in enumerate(zip(FINGER_ORDER, spec.fingers, strict=True)):
            real = sorted(fingers_root.glob(f"{label}_*")) if fingers_root and fingers_root.is_dir() else []
            if not real:
                synthetic_fingers = synthetic_fingers or synthetic_images(scratch, count=2 * len(SPECS))
                real = sorted(synthetic_fingers.glob(f"{101 + 2 * n + f}_*"))
            fingers[position] = real
        personas.append(Persona(spec.key, spec.label, spec.sex, card_index, faces, fingers,
                                real_face=face_dir is not None))
    return personas, cards


@dataclass
class PersonaDesk:
    """The person at the workstation, driving the three simulators together. Thread-safe.

    ``present("impostor", card_of="female")``: the impostor steps up holding the female patient's card."""

    personas: list[Persona]
    reader: Any  # hardware_fixtures.ga467.Ga467Simulator
    sensor: Any  # hardware_fixtures.zhiantec.ZhianTecSimulator
    camera: Any  # hardware_fixtures.camera.SimulatedCamera
    current: str | None = None
    card_of: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.camera.empty()  # nobody has stepped up yet: the camera shows no one

    def persona(self, key: str) -> Persona:
        found = next((p for p in self.personas if p.key == key), None)
        if found is None:
            raise KeyError(key)
        return found

    def present(self, key: str, *, card_of: str | None = None) -> None:
        """``key`` steps up: their (or ``card_of``'s) card on the reader, their face, their fingers."""
        person = self.persona(key)
        holder = self.persona(card_of) if card_of else person
        with self._lock:
            self.reader.insert(holder.card_index)
            self.camera.show(person.faces)
            self.sensor.present_fingers([person.fingers[p] for p in FINGER_ORDER])
            self.current, self.card_of = key, (card_of if card_of and card_of != key else None)

    def act(self, action: str) -> None:
        """The person at the desk answers a liveness challenge (``turn_left``/``turn_right``: their own side;
        ``still``: a photo held up instead of a face) or stops (``release``). ValueError when nobody is there or
        the camera cannot act it out (see ``hardware_fixtures.performance``)."""
        with self._lock:
            if self.current is None:
                raise ValueError("nobody is at the desk: present a persona first")
            if action == "release":
                self.camera.release()
            else:
                self.camera.perform(action)

    def leave(self) -> None:
        """Nobody at the desk: no card, nobody on camera, no finger."""
        with self._lock:
            self.reader.remove()
            self.camera.empty()
            self.sensor.present_fingers(None)
            self.current, self.card_of = None, None

    def _devices(self) -> dict[str, Any]:
        return {"id_reader": self.reader, "fingerprint": self.sensor, "camera": self.camera}

    def plug(self, device: str, plugged: bool) -> None:
        """Pull a device's cable (``plugged`` False) or plug it back in, as a nurse or a cleaner might: the
        screens must show it before anyone presses "start". KeyError for an unknown device."""
        sim = self._devices()[device]
        with self._lock:
            if plugged:
                sim.replug()
            else:
                sim.unplug()

    def state(self) -> dict[str, Any]:
        return {"personas": [p.as_dict() for p in self.personas], "current": self.current,
                "card_of": self.card_of,
                "unplugged": [k for k, sim in self._devices().items() if not getattr(sim, "plugged", True)],
                "faces_missing": faces_missing(self.personas)}


def faces_missing(personas: list[Persona]) -> bool:
    """True when some simulated person has no photos: the face factor cannot be demonstrated."""
    return any(not p.real_face for p in personas)
