"""This workstation's devices: health (nurse, IT), a document read and a camera preview (nurse), and a test
per device (card reader, fingerprint sensor, camera) that reports type, quality and timing but never an image or
whose card it was (IT)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Response

from idverify.api.deps import ContextDep, Nurse, NurseOrItAdmin, on_this_workstation
from idverify.api.schemas.devices import (
    CameraTestOut,
    CardReaderTestOut,
    DeviceOut,
    DevicesOut,
    DocumentReadOut,
    DocumentTestOut,
    FingerTestOut,
)
from idverify.api.schemas.workflow import BacKeysIn
from idverify.errors import BiometricError, DeviceUnavailable

if TYPE_CHECKING:
    from idverify.devices.manager import DeviceManager

# Every route here touches the devices attached to this daemon: callers bound to another workstation are refused.
router = APIRouter(prefix="/devices", tags=["devices"], dependencies=[Depends(on_this_workstation)])


def _manager(ctx: ContextDep) -> DeviceManager:
    if ctx.devices is None:
        raise DeviceUnavailable("no devices are configured on this workstation")
    return ctx.devices


@router.get("", response_model=DevicesOut, summary="Devices of this workstation and their health")
async def list_devices(ctx: ContextDep, _p: NurseOrItAdmin) -> DevicesOut:
    if ctx.devices is None:
        return DevicesOut(devices=[])
    health = await ctx.devices.check_health()
    return DevicesOut(devices=[DeviceOut(**h.as_dict()) for h in health])


@router.post("/document/read", response_model=DocumentReadOut, summary="Read the ID card or passport on the reader")
async def read_document(ctx: ContextDep, _nurse: Nurse, mrz: BacKeysIn | None = None) -> DocumentReadOut:
    manager = _manager(ctx)
    keys = None
    if mrz is not None:
        from idverify.documents.mrz import BacKeys

        keys = BacKeys(document_number=mrz.document_number, birth_date=mrz.birth_date, expiry_date=mrz.expiry_date)
    start = time.perf_counter()
    document = await manager.read_document(keys)
    return DocumentReadOut(document=document.to_summary(), elapsed_ms=round((time.perf_counter() - start) * 1000, 1))


@router.post("/fingerprint/test", response_model=FingerTestOut, summary="Test capture: quality and timing only")
async def test_fingerprint(ctx: ContextDep, _p: NurseOrItAdmin) -> FingerTestOut:
    import asyncio

    from idverify.biometrics.fingerprint.extract import image_quality

    manager = _manager(ctx)
    start = time.perf_counter()
    image = await manager.capture_fingerprint(10.0)
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    try:
        quality: int | None = await asyncio.to_thread(image_quality, image)
    except BiometricError:
        quality = None
    return FingerTestOut(status="ok", width=int(image.shape[1]), height=int(image.shape[0]), quality=quality,
                         elapsed_ms=elapsed)


@router.post("/id_reader/test", response_model=DocumentTestOut,
             summary="Test read of the card on the GA 467 reader: document type, checks and timing only")
@router.post("/document/test", response_model=DocumentTestOut, include_in_schema=False)
async def test_document(ctx: ContextDep, _p: NurseOrItAdmin) -> DocumentTestOut:
    """The GA 467 reader only (``/document/test`` is its older name): a test never answers for another reader."""
    start = time.perf_counter()
    document = await _manager(ctx).read_id_card()
    return DocumentTestOut(status="ok", document_type=document.document_type, checks=document.checks.as_dict(),
                           photo_available=document.photo_available,
                           elapsed_ms=round((time.perf_counter() - start) * 1000, 1))


@router.post("/card_reader/test", response_model=CardReaderTestOut,
             summary="Test the PC/SC reader: which reader answered and whether a card is in its field")
async def test_card_reader(ctx: ContextDep, _p: NurseOrItAdmin) -> CardReaderTestOut:
    """Only the PC/SC reader the settings name; ``device_unavailable`` (503) saying why when it is not there."""
    start = time.perf_counter()
    reader, present = await _manager(ctx).test_card_reader()
    return CardReaderTestOut(status="ok", reader=reader, card_present=present,
                             elapsed_ms=round((time.perf_counter() - start) * 1000, 1))


@router.post("/camera/test", response_model=CameraTestOut,
             summary="Test grab: frame size, faces in view and timing only (no image)")
async def test_camera(ctx: ContextDep, _p: NurseOrItAdmin) -> CameraTestOut:
    import asyncio

    import cv2
    import numpy as np

    from idverify.biometrics.face import get_face_engine

    start = time.perf_counter()
    frame = await _manager(ctx).grab_frame(2.0)
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    rgb = np.asarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    faces = await asyncio.to_thread(lambda: len(get_face_engine().detector.detect(rgb, fallback=False)))
    return CameraTestOut(status="ok", width=int(frame.image.shape[1]), height=int(frame.image.shape[0]), faces=faces,
                         elapsed_ms=elapsed)


@router.get("/camera/preview.jpg", response_class=Response, summary="Latest camera frame as JPEG (nurse)",
            responses={200: {"content": {"image/jpeg": {}}}})
async def camera_preview(ctx: ContextDep, _nurse: Nurse) -> Response:
    jpeg = await _manager(ctx).preview_jpeg()
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
