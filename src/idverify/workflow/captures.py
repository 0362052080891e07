"""What a nurse captured for one enrolment or check, whether it came from this workstation's devices or from an
integration's upload: face frames, fingerprint images with their finger positions, and the document read.

Typed and decoded: the HTTP edge (:mod:`idverify.api.captures`) turns uploads into arrays and bytes, so the
services never see a base64 string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from idverify.biometrics.pad.active import FaceTracker
from idverify.documents.model import IdentityDocument


@dataclass
class Captures:
    face_frames: list[NDArray[np.uint8]] = field(default_factory=list)  # RGB
    challenge_frames: list[NDArray[np.uint8]] = field(default_factory=list)  # RGB, filmed during a challenge
    challenge_tracker: FaceTracker | None = None  # detections made while the challenge burst was filmed
    fingerprints: list[tuple[str, NDArray[np.uint8]]] = field(default_factory=list)  # (position, grey)
    document: IdentityDocument | None = None
    devices: dict[str, str] = field(default_factory=dict)  # which device produced what (ids, for the record)


class CaptureListener(Protocol):
    """Told about each capture as soon as it is taken, while the devices go on capturing the rest (a check starts
    matching then: :class:`~idverify.workflow.early_match.EarlyMatch`)."""

    def face_filmed(self, frames: list[NDArray[np.uint8]]) -> None: ...

    def finger_taken(self, position: str, image: NDArray[np.uint8]) -> None: ...
