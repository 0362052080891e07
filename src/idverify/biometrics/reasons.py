"""Stable reason codes: why a check, an enrolment or a capture came out as it did, and the repeated-reject alert.

Owns :class:`ReasonCode` (every reason idverify gives a person, as a stable wire string) and :class:`Reason` (a
code plus optional parameters: the factor, the score and threshold, a cause that is itself a reason). Decisions,
enrolment results, ledger events and webhooks carry ``{"code", "params"}`` objects, never English sentences, so
every screen, the monthly PDF and the exports meant for people render them in the reader's language from the
catalogues (``reason.<code>`` in ``locales/*.json``; :func:`render`). ``docs/reasons.md`` is generated from this
enumeration (``python -m idverify.web.reason_catalogue``); a test fails on a code without a text in either
language.

Rendering rule (the same in :func:`render` and in the page scripts' ``IV.reason``): the code's label with
``{factor}``, ``{stage}`` and the alert's counts interpolated (a factor or stage param is itself translated),
then — after a colon — the label of the ``cause`` when there is one, then the score beside its threshold when
both are given. Labels of decision reasons name no other placeholder, so the monthly report can group reasons by
code and factor and still print a complete sentence.

Must not touch: decisions themselves (``fusion.decide``, ``workflow.rules``), storage, devices. It imports only
the catalogues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from idverify.i18n import Translator


class ReasonCode(StrEnum):
    """Every reason a person may read. The value is the wire string (never rename one); the label is
    ``reason.<value>`` in both catalogues."""

    # --- the decision ---------------------------------------------------------------------------------------------
    IDENTITY_CONFIRMED = "identity_confirmed"
    FACE_MISMATCH = "face_mismatch"
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"
    DOCUMENT_PHOTO_MISMATCH = "document_photo_mismatch"
    FACE_ALONE = "face_alone"
    FACE_ALONE_MISMATCH = "face_alone_mismatch"
    FUSED_BELOW_MINIMUM = "fused_below_minimum"
    LIVENESS_FAILED = "liveness_failed"  # {factor}, cause
    LIVENESS_CHECK_MISSING = "liveness_check_missing"  # {factor}
    OPTIONAL_FACTOR_SKIPPED = "optional_factor_skipped"  # {factor}, cause
    OPTIONAL_FACTOR_BELOW_THRESHOLD = "optional_factor_below_threshold"  # {factor}
    OPTIONAL_FACTOR_NO_LIVENESS = "optional_factor_no_liveness"  # {factor}
    FACTOR_NOT_IN_POLICY = "factor_not_in_policy"  # {factor}, {stage}
    DECISION_OVERRIDDEN = "overridden"
    # --- a factor that could not be used (retry) ------------------------------------------------------------------
    FACE_UNUSABLE = "face_unusable"
    FINGERPRINT_UNUSABLE = "fingerprint_unusable"
    DOCUMENT_PHOTO_UNUSABLE = "document_photo_unusable"
    FACE_NOT_CAPTURED = "face_not_captured"
    FINGERPRINT_NOT_CAPTURED = "fingerprint_not_captured"
    FACE_NOT_ENROLLED = "face_not_enrolled"
    FINGERPRINT_NOT_ENROLLED = "fingerprint_not_enrolled"
    FINGER_NOT_ENROLLED = "finger_not_enrolled"
    DOCUMENT_OR_FACE_MISSING = "document_or_face_missing"
    DOCUMENT_PHOTO_UNREADABLE = "document_photo_unreadable"
    CAPTURE_UNUSABLE = "capture_unusable"  # a capture problem without a more precise code
    # --- face capture quality (the gates of biometrics/face/quality.py) -------------------------------------------
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    FACE_OUT_OF_FRAME = "face_out_of_frame"
    FACE_TOO_SMALL = "face_too_small"
    FACE_BLURRED = "face_blurred"
    FACE_TOO_DARK = "face_too_dark"
    FACE_TOO_BRIGHT = "face_too_bright"
    HEAD_TURNED = "head_turned"
    HEAD_TILTED = "head_tilted"
    HEAD_RAISED = "head_raised"
    EYES_CLOSED = "eyes_closed"
    IMAGE_UNREADABLE = "image_unreadable"
    # --- fingerprint capture quality (biometrics/fingerprint/extract.py) ------------------------------------------
    FINGER_AREA_TOO_SMALL = "finger_area_too_small"
    FINGER_QUALITY_LOW = "finger_quality_low"
    FINGER_TOO_FEW_FEATURES = "finger_too_few_features"
    FINGER_IMAGE_TOO_SMALL = "finger_image_too_small"
    FINGER_IMAGE_INVALID = "finger_image_invalid"
    # --- presentation attack detection and the active challenge ---------------------------------------------------
    PAD_SPOOF_SUSPECTED = "pad_spoof_suspected"
    PAD_NO_FRAMES = "pad_no_frames"
    PAD_CHALLENGE_FAILED = "pad_challenge_failed"  # cause: the challenge's own reason
    TURN_FACE_NOT_VISIBLE = "turn_face_not_visible"
    TURN_NEVER_FRONTAL = "turn_never_frontal"
    TURN_WRONG_WAY = "turn_wrong_way"
    TURN_NOT_FAR_ENOUGH = "turn_not_far_enough"
    BLINK_FACE_NOT_VISIBLE = "blink_face_not_visible"
    BLINK_EYES_NOT_OPEN = "blink_eyes_not_open"
    BLINK_NOT_SEEN = "blink_not_seen"
    BLINK_NOT_REOPENED = "blink_not_reopened"
    # --- the document and the challenge rules (workflow/rules.py) -------------------------------------------------
    DOCUMENT_OK = "document_ok"
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_NOT_READ = "document_not_read"
    DOCUMENT_NOT_PRESENTED = "document_not_presented"
    DOCUMENT_NUMBER_UNREADABLE = "document_number_unreadable"
    DOCUMENT_SIGNATURE_INVALID = "document_signature_invalid"
    DOCUMENT_CHECKSUM_FAILED = "document_checksum_failed"
    CARD_OF_ANOTHER_PATIENT = "card_of_another_patient"
    CARD_NOT_THE_PATIENTS = "card_not_the_patients"
    CHALLENGE_PASSED = "challenge_passed"
    CHALLENGE_NOT_ANSWERED = "challenge_not_answered"
    CHALLENGE_NOT_ASKED = "challenge_not_asked"
    CHALLENGE_NO_FRAMES = "challenge_no_frames"
    CHALLENGE_FAILED = "challenge_failed"  # cause: the challenge's own reason
    # --- enrolment ------------------------------------------------------------------------------------------------
    ENROL_DOCUMENT_EXPIRED = "enrol_document_expired"
    DUPLICATE_SUSPECTED = "duplicate_suspected"
    FINGER_POSITION_FAILED = "finger_position_failed"  # {position}, cause
    TOO_FEW_FINGERS = "too_few_fingers"  # {required}, {usable}
    # --- alerts ---------------------------------------------------------------------------------------------------
    REPEATED_REJECTS = "repeated_rejects"  # {rejects_24h}
    # --- a reason stored before reason codes existed (free English text in params.text) ---------------------------
    LEGACY_TEXT = "legacy_text"

    @property
    def label_key(self) -> str:
        """The key of the label in ``locales/*.json``."""
        return f"reason.{self.value}"


#: The code of each face quality gate (``biometrics/face/quality.py`` REASONS keys).
FACE_QUALITY_CODES: dict[str, ReasonCode] = {
    "no_face": ReasonCode.NO_FACE, "several_faces": ReasonCode.SEVERAL_FACES,
    "out_of_frame": ReasonCode.FACE_OUT_OF_FRAME, "too_small": ReasonCode.FACE_TOO_SMALL,
    "blurred": ReasonCode.FACE_BLURRED, "too_dark": ReasonCode.FACE_TOO_DARK,
    "too_bright": ReasonCode.FACE_TOO_BRIGHT, "pose_yaw": ReasonCode.HEAD_TURNED,
    "pose_roll": ReasonCode.HEAD_TILTED, "pose_pitch": ReasonCode.HEAD_RAISED,
    "eyes_closed": ReasonCode.EYES_CLOSED,
}

_SCORE = ("score", "threshold")
#: The parameters each code may carry (its label names some; ``cause``, ``score`` and ``threshold`` are appended).
PARAMS: dict[ReasonCode, tuple[str, ...]] = {
    **{c: _SCORE for c in (ReasonCode.FACE_MISMATCH, ReasonCode.FINGERPRINT_MISMATCH,
                           ReasonCode.DOCUMENT_PHOTO_MISMATCH, ReasonCode.FACE_ALONE_MISMATCH,
                           ReasonCode.FUSED_BELOW_MINIMUM)},
    ReasonCode.LIVENESS_FAILED: ("factor", "cause"),
    ReasonCode.LIVENESS_CHECK_MISSING: ("factor",),
    ReasonCode.OPTIONAL_FACTOR_SKIPPED: ("factor", "cause"),
    ReasonCode.OPTIONAL_FACTOR_BELOW_THRESHOLD: ("factor", *_SCORE),
    ReasonCode.OPTIONAL_FACTOR_NO_LIVENESS: ("factor",),
    ReasonCode.FACTOR_NOT_IN_POLICY: ("factor", "stage"),
    ReasonCode.PAD_CHALLENGE_FAILED: ("cause",),
    ReasonCode.CHALLENGE_FAILED: ("cause",),
    ReasonCode.FINGER_POSITION_FAILED: ("position", "cause"),
    ReasonCode.TOO_FEW_FINGERS: ("required", "usable"),
    ReasonCode.REPEATED_REJECTS: ("rejects_24h",),
    ReasonCode.LEGACY_TEXT: ("text",),
}

#: Parameters that name a catalogue entry rather than a value: translated through ``<prefix>.<value>``.
TRANSLATED_PARAMS: dict[str, str] = {"factor": "factor", "stage": "stage", "position": "finger",
                                     "direction": "direction"}


@dataclass(frozen=True)
class Reason:
    """A reason code with its parameters (``factor``, ``stage``, ``score``, ``threshold``, ``cause``, counts).
    ``cause`` is another reason (its code or its ``{"code", "params"}`` object): what made this one happen."""

    code: ReasonCode
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, code: ReasonCode, cause: Reason | None = None, **params: Any) -> Reason:
        """A reason; ``None`` parameters are left out, and ``cause`` is stored as its object."""
        values = {k: v for k, v in params.items() if v is not None}
        if cause is not None:
            values["cause"] = cause.as_dict()
        return cls(code, values)

    def as_dict(self) -> dict[str, Any]:
        """The wire and storage form: ``{"code": "...", "params": {...}}``."""
        return {"code": self.code.value, "params": dict(self.params)}

    @classmethod
    def parse(cls, value: object) -> Reason:
        """A stored or received reason: the object form, a bare code, or (rows written before codes) free text."""
        if isinstance(value, Reason):
            return value
        if isinstance(value, Mapping):
            code, params = value.get("code"), value.get("params") or {}
            if isinstance(code, str) and code in _CODES and isinstance(params, Mapping):
                return cls(ReasonCode(code), dict(params))
            return cls(ReasonCode.LEGACY_TEXT, {"text": str(code)})
        if isinstance(value, str) and value in _CODES:
            return cls(ReasonCode(value))
        return cls(ReasonCode.LEGACY_TEXT, {"text": str(value)})

    @property
    def cause(self) -> Reason | None:
        raw = self.params.get("cause")
        return None if raw is None else Reason.parse(raw)

    def grouped(self) -> Reason:
        """What the monthly report counts by: the code with its factor and stage (scores and causes differ check
        to check; the text of a reason older than codes is kept)."""
        return Reason(self.code, {k: v for k, v in self.params.items() if k in ("factor", "stage", "text")})

    @property
    def key(self) -> str:
        """A flat key for a spreadsheet: ``code``, ``code:factor`` — or the text of a reason older than codes."""
        if self.code is ReasonCode.LEGACY_TEXT:
            return str(self.params.get("text", ""))
        return ":".join([self.code.value, *(str(self.params[k]) for k in ("factor", "stage") if k in self.params)])

    def english(self) -> str:
        """The English sentence, for logs, developers and the API's ``message`` beside the code."""
        return render(Translator("en"), self)


_CODES = frozenset(c.value for c in ReasonCode)


def reason_of_error(exc: Exception) -> Reason:
    """The reason code a capture error carries (``details["reason"]``: a face quality gate or a code of its own);
    :data:`ReasonCode.CAPTURE_UNUSABLE` when it carries none. The exception's English text stays in the logs."""
    details = getattr(exc, "details", None)
    raw = details.get("reason") if isinstance(details, Mapping) else None
    if isinstance(raw, str) and raw in FACE_QUALITY_CODES:
        return Reason(FACE_QUALITY_CODES[raw])
    if isinstance(raw, str) and raw in _CODES:
        return Reason(ReasonCode(raw))
    if getattr(exc, "code", None) == "image_unreadable":
        return Reason(ReasonCode.IMAGE_UNREADABLE)
    return Reason(ReasonCode.CAPTURE_UNUSABLE)


def reasons_as_dicts(reasons: list[Reason]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in reasons]


def _word(t: Callable[..., str], prefix: str, key: object) -> str:
    """``<prefix>.<key>`` from the catalogue, else ``reason.param.<prefix>.<key>`` (a value only reasons name,
    e.g. an unknown finger position), else the key itself."""
    for name in (f"{prefix}.{key}", f"reason.param.{prefix}.{key}"):
        text = t(name)
        if text != name:
            return text
    return str(key).replace("_", " ")


def _number(value: object) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def render(t: Callable[..., str], reason: Reason | Mapping[str, Any] | str, *, details: bool = True) -> str:
    """The reason in ``t``'s language: label, then ``: cause``, then the score beside its threshold.
    ``details=False`` leaves out the cause and the scores (the monthly report's grouped rows)."""
    r = Reason.parse(reason)
    if r.code is ReasonCode.LEGACY_TEXT:
        return str(r.params.get("text", ""))
    values: dict[str, object] = {}
    for name, value in r.params.items():
        if name in TRANSLATED_PARAMS:
            values[name] = _word(t, TRANSLATED_PARAMS[name], value)
        elif name != "cause":
            values[name] = _number(value)
    text = t(r.code.label_key, **values)
    if not details:
        return text
    cause = r.cause
    if cause is not None:
        text = t("reason.with_cause", reason=text, cause=render(t, cause))
    if "score" in r.params and "threshold" in r.params:
        text = t("reason.with_score", reason=text, score=values["score"], threshold=values["threshold"])
    return text
