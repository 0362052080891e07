"""Presentation-attack detection (liveness) for face captures.

Owns: passive PAD (MiniFASNet ONNX models), the active head-turn challenge, and :class:`PadResult`, the object the
workflow records with every face check. Must not touch: identity matching, decisions, storage.

Public interface::

    get_pad_engine() -> PadEngine
    PadEngine.check(image | [frames], challenge=None) -> PadResult
    HeadTurnChallenge.new() / .evaluate(landmark series) (idverify.biometrics.pad.challenge)
    BlinkChallenge().evaluate(EAR series), blink_available() (idverify.biometrics.pad.blink; needs ai-edge-litert)
    judge(burst of frames, challenge) -> ActiveJudgement (idverify.biometrics.pad.active; what stage checks call)
"""

from __future__ import annotations

from idverify.biometrics.pad.blink import BlinkChallenge, blink_available
from idverify.biometrics.pad.challenge import ChallengeResult, HeadTurnChallenge
from idverify.biometrics.pad.passive import PAD_ALGORITHM_VERSION, PadEngine, PadResult, get_pad_engine

__all__ = ["PAD_ALGORITHM_VERSION", "BlinkChallenge", "ChallengeResult", "HeadTurnChallenge", "PadEngine",
           "PadResult", "blink_available", "get_pad_engine"]
