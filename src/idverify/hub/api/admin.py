"""The hub administrator's API: register clinic logs and commission users."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from idverify.hub import clinics, users
from idverify.hub.api.deps import HubAdmin, HubSession

router = APIRouter(tags=["administration"])


class ClinicIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    verifier_key: str = Field(min_length=10, max_length=500)


@router.post("/clinics", status_code=201, summary="Register a clinic log by its ledger verifier key")
def add_clinic(body: ClinicIn, db: HubSession, admin: HubAdmin) -> dict[str, Any]:
    clinic = clinics.add_clinic(db, name=body.name, verifier=body.verifier_key, actor=admin.user_id)
    db.commit()
    return {"clinic_id": clinic.id, "origin": clinic.origin}


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(default="", max_length=128)
    role: Literal["regional_inspector", "hub_admin"]
    password: str = Field(min_length=10, max_length=256)


@router.post("/users", status_code=201, summary="Create a commission user")
def add_user(body: UserIn, db: HubSession, admin: HubAdmin) -> dict[str, Any]:
    user = users.create_user(db, username=body.username, display_name=body.display_name, role=body.role,
                             password=body.password, actor=admin.user_id)
    db.commit()
    return {"user_id": user.id, "username": user.username, "role": user.role}
