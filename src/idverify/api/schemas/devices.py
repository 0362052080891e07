"""Device health and test results (no images: IT staff see no biometric data)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from idverify.api.schemas import ResponseModel


class DeviceOut(ResponseModel):
    kind: str
    name: str | None
    status: Literal["ok", "not_configured", "unavailable", "error"]
    detail: str | None
    detail_code: str | None = None
    detail_args: dict[str, str] = Field(default_factory=dict)


class DevicesOut(ResponseModel):
    devices: list[DeviceOut]


class FingerTestOut(ResponseModel):
    status: Literal["ok"]
    width: int
    height: int
    quality: int | None
    elapsed_ms: float


class DocumentTestOut(ResponseModel):
    """A test read: what kind of document answered and whether its checks passed, never who it belongs to."""

    status: Literal["ok"]
    document_type: str
    checks: dict[str, Any]
    photo_available: bool
    elapsed_ms: float


class CardReaderTestOut(ResponseModel):
    """A test of the PC/SC reader itself: which reader answered, whether a card is in its field, and how long
    pcscd took. Reading a passport's chip needs its BAC keys, so the test does not read one."""

    status: Literal["ok"]
    reader: str
    card_present: bool
    elapsed_ms: float


class CameraTestOut(ResponseModel):
    """A test grab: frame size, how long the camera took, and how many faces are in view (placement), no image."""

    status: Literal["ok"]
    width: int
    height: int
    faces: int
    elapsed_ms: float


class DocumentReadOut(ResponseModel):
    document: dict[str, Any]
    elapsed_ms: float
