"""Reading stage-check results: nurses see their own workstation's, inspectors the whole clinic's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from idverify.api.deps import NurseOrInspector, SessionDep
from idverify.api.schemas import Page
from idverify.api.schemas.verifications import VerificationOut
from idverify.auth.roles import Principal, Role
from idverify.errors import NotFoundError
from idverify.workflow.repositories import verifications as repo

router = APIRouter(prefix="/verifications", tags=["verifications"])


def _scope(principal: Principal) -> str | None:
    return None if principal.role is Role.INSPECTOR else principal.workstation_id


@router.get("", response_model=Page[VerificationOut], summary="List stage checks (newest first)")
def list_verifications(
    db: SessionDep,
    principal: NurseOrInspector,
    stage: Annotated[str | None, Query(max_length=32)] = None,
    decision: Literal["accept", "reject", "retry"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[VerificationOut]:
    rows, total = repo.list_verifications(db, workstation_id=_scope(principal), stage=stage, decision=decision,
                                          since=since, until=until, offset=offset, limit=limit)
    return Page(items=[VerificationOut.model_validate(r) for r in rows], total=total, offset=offset, limit=limit)


@router.get("/{verification_id}", response_model=VerificationOut, summary="One stage check")
def get_verification(verification_id: str, db: SessionDep, principal: NurseOrInspector) -> VerificationOut:
    row = repo.get_verification(db, verification_id, workstation_id=_scope(principal))
    if row is None:
        # Same answer for "does not exist" and "another workstation's": ids must not leak existence.
        raise NotFoundError("no such verification at this workstation")
    return VerificationOut.model_validate(row)
