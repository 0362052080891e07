"""Matching while the devices are still capturing: the nurse waits for the sensor, not for the matcher.

A device check captures in order — card, face frames, then one fingerprint after the other, each image upload taking
seconds on a ZhianTec sensor (3.5 s at 115200 baud). The face factor and each finger's extraction and matching need
nothing that is captured after them, so :class:`EarlyMatch` starts each one in the biometric worker pool the moment
its capture is there (:meth:`face_filmed`, :meth:`finger_taken`) and the check collects the results at the end:
the face is matched while the first finger is taken, the first finger while the second is taken. What is left after
the last capture is that last finger's matching alone.

The results are those of matching everything at the end: the face factor is given the very frames it would be
given then (a result started on other frames is not used), and the per-finger results are combined as
:func:`~idverify.workflow.factors.fingerprint_factor` combines its probes — the best score over the fingers; when
none matched, "not an enrolled finger" if any finger was read, else the last finger's failure.

Owns: the futures of one check. Must not touch: the database (a check's capture runs with no transaction open) or
the devices (the capture code reports to it through :class:`~idverify.workflow.captures.CaptureListener`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from idverify.biometrics import workers
from idverify.biometrics.face import FaceTemplate
from idverify.biometrics.fingerprint.template import FingerprintTemplate
from idverify.biometrics.fusion import FactorResult
from idverify.biometrics.reasons import ReasonCode
from idverify.workflow import factors


@dataclass
class EarlyMatch:
    """Starts the factors of one check as their captures arrive. ``face``/``fingers``: the enrolled templates
    (None / empty: the policy does not ask for that factor, and nothing is started for it)."""

    face: FaceTemplate | None
    fingers: Sequence[tuple[str | None, FingerprintTemplate]]
    check_liveness: bool = False
    _face: tuple[list[NDArray[np.uint8]], Future[FactorResult]] | None = None
    _fingers: list[tuple[str, NDArray[np.uint8], Future[FactorResult]]] = field(default_factory=list)

    # --- the capture side (CaptureListener)
    def face_filmed(self, frames: list[NDArray[np.uint8]]) -> None:
        if self.face is not None and frames and self._face is None:
            self._face = (list(frames), workers.submit(factors.face_factor, frames, self.face,
                                                       check_liveness=self.check_liveness))

    def finger_taken(self, position: str, image: NDArray[np.uint8]) -> None:
        if self.fingers:
            self._fingers.append((position, image, workers.submit(factors.fingerprint_factor, [(position, image)],
                                                                  self.fingers)))

    # --- the check side
    def face_result(self, frames: list[NDArray[np.uint8]]) -> FactorResult:
        """The face factor on ``frames``: the early result when it was started on exactly these frames."""
        if self._face is not None and _same_frames(self._face[0], frames):
            return self._face[1].result()
        return workers.run(factors.face_factor, frames, self.face, check_liveness=self.check_liveness)

    def fingerprint_result(self, images: Sequence[tuple[str, NDArray[np.uint8]]]) -> FactorResult:
        """The fingerprint factor on ``images``: the per-finger early results combined, when they were started on
        exactly these images, else the factor run now."""
        started = [(position, image) for position, image, _ in self._fingers]
        if not images or not _same_fingers(started, images):
            return workers.run(factors.fingerprint_factor, images, self.fingers)
        return combine_fingers([future.result() for _, _, future in self._fingers])

    def cancel(self) -> None:
        """Drop what was started (a capture that failed halfway): nobody will read those results."""
        futures: list[Future[Any]] = [future for _, _, future in self._fingers]
        if self._face is not None:
            futures.append(self._face[1])
        for future in futures:
            future.cancel()


def combine_fingers(results: Sequence[FactorResult]) -> FactorResult:
    """One fingerprint factor from per-finger ones, as :func:`~idverify.workflow.factors.fingerprint_factor`
    combines probes: the best-scoring matched finger (the first on a tie) with the best image quality of all
    matched fingers; when no finger matched, a finger that was read but is not an enrolled one, else the last
    finger's failure (the factor names an unreadable image only when no finger could be read at all)."""
    matched = [r for r in results if r.status == "ok" and r.score is not None]
    if not matched:
        read = [r for r in results if r.reason is not None and r.reason.code is ReasonCode.FINGER_NOT_ENROLLED]
        return read[0] if read else results[-1]
    best = max(matched, key=lambda r: r.score if r.score is not None else -1.0)  # max keeps the first on a tie
    quality = max(int(r.details.get("finger_quality", 0)) for r in matched)
    elapsed = round(sum(float(r.details.get("elapsed_ms", 0.0)) for r in results), 1)
    return replace(best, details={**best.details, "finger_quality": quality, "elapsed_ms": elapsed})


def _same_frames(a: Sequence[NDArray[np.uint8]], b: Sequence[NDArray[np.uint8]]) -> bool:
    return len(a) == len(b) and all(x is y or np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _same_fingers(a: Sequence[tuple[str, NDArray[np.uint8]]], b: Sequence[tuple[str, NDArray[np.uint8]]]) -> bool:
    return len(a) == len(b) and all(pa == pb and (x is y or np.array_equal(x, y))
                                    for (pa, x), (pb, y) in zip(a, b, strict=True))
