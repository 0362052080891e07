"""Stage-check records as the API shows them (ids, decisions and scores; never names or images)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from idverify.api.schemas import ResponseModel


class VerificationOut(ResponseModel):
    id: str
    cycle_id: str
    patient_id: str
    stage: str
    decision: Literal["accept", "reject", "retry"]
    reasons: list[str]
    factors: dict[str, Any]
    policy: dict[str, Any]
    devices: dict[str, Any]
    staff_id: str | None
    workstation_id: str
    started_at: datetime
    decided_at: datetime
    overridden: bool
