"""Device health and test results (no images: IT staff see no biometric data)."""

from __future__ import annotations

from typing import Any, Literal

from idverify.api.schemas import ResponseModel


class DeviceOut(ResponseModel):
    kind: str
    name: str | None
    status: Literal["ok", "unavailable", "error"]
    detail: str | None


class DevicesOut(ResponseModel):
    devices: list[DeviceOut]


class FingerTestOut(ResponseModel):
    status: Literal["ok"]
    width: int
    height: int
    quality: int | None
    elapsed_ms: float


class DocumentReadOut(ResponseModel):
    document: dict[str, Any]
    elapsed_ms: float
