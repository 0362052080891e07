"""Couples and treatment cycles."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from idverify.api.deps import KeysDep, Nurse, NurseOrInspector, SessionDep
from idverify.api.schemas import Page
from idverify.api.schemas.workflow import CoupleIn, CoupleOut, CycleIn, CycleOut
from idverify.auth.roles import Role
from idverify.workflow import cycles

router = APIRouter(tags=["cycles"])


@router.post("/couples", response_model=CoupleOut, status_code=201, summary="Register a couple")
def create_couple(body: CoupleIn, db: SessionDep, nurse: Nurse) -> CoupleOut:
    couple = cycles.create_couple(db, female_id=body.female_patient_id, male_id=body.male_patient_id, actor=nurse)
    db.commit()
    return CoupleOut.model_validate(couple)


@router.get("/couples/{couple_id}", response_model=CoupleOut, summary="A couple")
def get_couple(couple_id: str, db: SessionDep, _p: NurseOrInspector) -> CoupleOut:
    return CoupleOut.model_validate(cycles.get_couple(db, couple_id))


@router.post("/cycles", response_model=CycleOut, status_code=201, summary="Open a treatment cycle")
def open_cycle(body: CycleIn, db: SessionDep, nurse: Nurse) -> CycleOut:
    cycle = cycles.open_cycle(db, couple_id=body.couple_id, kind=body.kind, extra_stages=body.extra_stages,
                              actor=nurse)
    db.commit()
    return CycleOut.model_validate(cycle)


@router.get("/cycles", response_model=Page[CycleOut], summary="List cycles (newest first)")
def list_cycles(
    db: SessionDep, keys: KeysDep, principal: NurseOrInspector, status: Literal["open", "closed"] | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    patient_id: Annotated[str | None, Query(max_length=36, description="only this patient's cycles")] = None,
) -> Page[CycleOut]:
    rows, total = cycles.list_cycles(db, status=status, offset=offset, limit=limit, patient_id=patient_id)
    names = cycles.partner_names(db, keys, rows) if principal.role is Role.NURSE else {}
    items = [CycleOut.model_validate(c).model_copy(update={"names": names.get(c.couple_id)}) for c in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/cycles/{cycle_id}", response_model=CycleOut, summary="A cycle")
def get_cycle(cycle_id: str, db: SessionDep, _p: NurseOrInspector) -> CycleOut:
    return CycleOut.model_validate(cycles.get_cycle(db, cycle_id))


@router.post("/cycles/{cycle_id}/close", response_model=CycleOut, summary="Close a cycle (starts retention)")
def close_cycle(cycle_id: str, db: SessionDep, nurse: Nurse) -> CycleOut:
    cycle = cycles.close_cycle(db, cycle_id, actor=nurse)
    db.commit()
    return CycleOut.model_validate(cycle)
