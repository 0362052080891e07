"""The enrolment photo and the live frame of a stage check, for the nurse's result screen.

Keyed by the verification id only (no personal data in the URL); served to nurses of the workstation that ran
the check and to nobody else (any other caller gets the same 404 as for a missing image, so the endpoint does not
reveal which checks exist); never cached (``Cache-Control: no-store``). See :mod:`idverify.workflow.result_photos`.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from idverify.api.deps import ContextDep, KeysDep, Nurse, SessionDep
from idverify.errors import ErrorCode, NotFoundError
from idverify.store.models import Verification
from idverify.workflow import result_photos
from idverify.workflow.repositories import verifications

router = APIRouter(tags=["verifications"])

PhotoKind = Literal["enrolment", "live"]


def photo_urls(ctx: ContextDep, db: SessionDep, verification: Verification) -> dict[str, str]:
    """The image URLs a check result can show now (none when there is nothing to show)."""
    base = f"/api/v1/verifications/{verification.id}/photos/"
    urls: dict[str, str] = {}
    if result_photos.has_enrolment_photo(db, verification.patient_id):
        urls["enrolment"] = base + "enrolment"
    if verification.id in ctx.live_frames:
        urls["live"] = base + "live"
    return urls


@router.get("/verifications/{verification_id}/photos/{kind}", response_class=Response,
            summary="The enrolment photo or the live frame of a check (this workstation's nurses; JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no such image here"}})
def photo(verification_id: str, kind: PhotoKind, db: SessionDep, keys: KeysDep, ctx: ContextDep,
          nurse: Nurse) -> Response:
    verification = verifications.get_verification(db, verification_id, workstation_id=nurse.workstation_id)
    data: bytes | None = None
    if verification is not None:
        data = (result_photos.enrolment_photo(db, keys, verification.patient_id) if kind == "enrolment"
                else ctx.live_frames.get(verification.id, nurse.workstation_id))
    if data is None:
        raise NotFoundError("no such image for a check of this workstation", code=ErrorCode.PHOTO_NOT_FOUND)
    return Response(data, media_type="image/jpeg",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
