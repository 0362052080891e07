"""Stage-check records as the API shows them (ids, decisions and scores; never names or images)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from idverify.api.schemas import ResponseModel
from idverify.biometrics.reasons import Reason


class ReasonOut(ResponseModel):
    """One reason of a decision: match on ``code`` (docs/reasons.md); ``message`` is its English text for logs and
    developers — screens render the code in the reader's language."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    message: str

    @classmethod
    def of(cls, value: object) -> ReasonOut:
        reason = Reason.parse(value)
        return cls(code=reason.code.value, params=dict(reason.params), message=reason.english())


def reasons_out(values: object) -> list[ReasonOut]:
    """Stored reasons (code objects; free text on rows older than reason codes) as the API answers them."""
    return [v if isinstance(v, ReasonOut) else ReasonOut.of(v) for v in (values if isinstance(values, list) else [])]


class VerificationOut(ResponseModel):
    id: str
    cycle_id: str
    patient_id: str
    stage: str
    decision: Literal["accept", "reject", "retry"]
    reasons: list[ReasonOut]
    factors: dict[str, Any]
    policy: dict[str, Any]
    devices: dict[str, Any]
    staff_id: str | None
    workstation_id: str
    started_at: datetime
    decided_at: datetime
    overridden: bool

    @field_validator("reasons", mode="before")
    @classmethod
    def _reasons(cls, value: object) -> list[ReasonOut]:
        return reasons_out(value)
