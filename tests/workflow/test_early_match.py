"""Issue 17 (the nurse's wait): matching starts while the devices still capture — the face during the fingers, each
finger during the next — and gives the decision matching everything at the end would give."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hardware_fixtures.fingerprint_synth import impression

from idverify.biometrics.fusion import FactorResult
from idverify.biometrics.reasons import Reason, ReasonCode
from idverify.workflow import factors
from idverify.workflow.early_match import EarlyMatch, combine_fingers


def _enrolled(finger: int) -> list[tuple[str | None, Any]]:
    templates, failed = factors.finger_templates([("right_index", impression(finger, 0))])
    assert not failed
    return [(position, tpl) for position, tpl in templates]


def test_combined_fingers_keep_the_best_match_and_otherwise_the_last_failure() -> None:
    first = FactorResult(factor="fingerprint", status="ok", score=0.41, details={"finger_quality": 90,
                                                                                 "elapsed_ms": 30.0})
    second = FactorResult(factor="fingerprint", status="ok", score=0.73, details={"finger_quality": 60,
                                                                                  "elapsed_ms": 25.0})
    failed = FactorResult(factor="fingerprint", status="quality_failed", reason=Reason(ReasonCode.FINGER_QUALITY_LOW))
    not_enrolled = FactorResult(factor="fingerprint", status="quality_failed",
                                reason=Reason(ReasonCode.FINGER_NOT_ENROLLED))
    best = combine_fingers([first, failed, second])
    assert best.score == 0.73 and best.details["finger_quality"] == 90 and best.details["elapsed_ms"] == 55.0
    tie = combine_fingers([first, FactorResult(factor="fingerprint", status="ok", score=0.41,
                                               details={"finger_quality": 99})])
    assert tie.score == 0.41 and tie.details["finger_quality"] == 99
    # none matched: a finger that was read but is not enrolled is named before an unreadable one, as the factor does
    assert combine_fingers([not_enrolled, failed]) is not_enrolled
    last = FactorResult(factor="fingerprint", status="quality_failed",
                        reason=Reason(ReasonCode.FINGER_TOO_FEW_FEATURES))
    assert combine_fingers([failed, last]) is last


def test_fingers_matched_early_decide_as_the_factor_does_and_are_not_matched_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    enrolled = _enrolled(3)
    calls: list[int] = []
    real = factors.fingerprint_factor

    def counting(images: Any, templates: Any) -> FactorResult:
        calls.append(len(images))
        return real(images, templates)

    monkeypatch.setattr(factors, "fingerprint_factor", counting)
    genuine = [("right_index", impression(3, 1)), ("right_index", impression(3, 2))]
    early = EarlyMatch(face=None, fingers=enrolled)
    for position, image in genuine:
        early.finger_taken(position, image)  # each started as it is taken
    assert calls == [1, 1]
    combined = early.fingerprint_result(genuine)
    assert calls == [1, 1]  # collected, not matched again
    at_the_end = real(genuine, enrolled)
    assert combined.status == at_the_end.status == "ok" and combined.score == at_the_end.score

    # captures other than those started early (an upload replaced them): matched now, on what was captured
    other = [("right_index", impression(5, 1))]
    assert early.fingerprint_result(other).score == real(other, enrolled).score
    assert calls == [1, 1, 1]
    # nothing asked for: nothing started
    idle = EarlyMatch(face=None, fingers=[])
    idle.finger_taken("right_index", genuine[0][1])
    idle.face_filmed([np.zeros((8, 8, 3), np.uint8)])
    assert calls == [1, 1, 1]


def test_a_device_check_reports_each_capture_as_it_is_taken(make_app: Any) -> None:
    """Against the wire simulators: the face frames first (so the face is matched during the fingers), then each
    finger, in the order asked, each the very image the check then records."""
    from idverify.api.captures import from_request
    from idverify.api.schemas.workflow import CaptureIn

    heard: list[tuple[str, Any]] = []

    class Recorder:
        def face_filmed(self, frames: list[Any]) -> None:
            heard.append(("face", len(frames)))

        def finger_taken(self, position: str, image: Any) -> None:
            heard.append((position, image))

    daemon = make_app(simulate=True)
    with TestClient(daemon.app, raise_server_exceptions=False):
        devices = daemon.app.state.ctx.devices
        devices.simulators["people"].present("female")
        captures = from_request(CaptureIn(use_devices=True, finger_positions=["right_index", "left_index"]),
                                devices, claimed_by="test", listener=Recorder())
    assert [what for what, _ in heard] == ["face", "right_index", "left_index"]
    assert heard[0][1] == len(captures.face_frames) > 0
    assert [image for _, image in heard[1:]] == [image for _, image in captures.fingerprints]
