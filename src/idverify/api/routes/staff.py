"""Staff accounts and API keys (role ``it_admin``)."""

from __future__ import annotations

from fastapi import APIRouter

from idverify import audit
from idverify.api.deps import ItAdmin, SessionDep
from idverify.api.schemas.auth import ApiKeyCreate, ApiKeyIssued, ApiKeyOut, StaffCreate, StaffOut, StaffUpdate
from idverify.auth import repository as auth_repo
from idverify.auth import service

router = APIRouter(tags=["staff"])


@router.get("/staff", response_model=list[StaffOut], summary="List staff accounts")
def list_staff(db: SessionDep, _admin: ItAdmin) -> list[StaffOut]:
    return [StaffOut.model_validate(s) for s in auth_repo.list_staff(db)]


@router.post("/staff", response_model=StaffOut, status_code=201, summary="Create a staff account")
def create_staff(body: StaffCreate, db: SessionDep, admin: ItAdmin) -> StaffOut:
    staff = service.create_staff(db, username=body.username, display_name=body.display_name, role=body.role,
                                 password=body.password)
    audit.record(db, admin, "staff.created", data={"staff_id": staff.id, "role": staff.role})
    db.commit()
    return StaffOut.model_validate(staff)


@router.patch("/staff/{staff_id}", response_model=StaffOut, summary="Change role, name, password or disable")
def update_staff(staff_id: str, body: StaffUpdate, db: SessionDep, admin: ItAdmin) -> StaffOut:
    staff = service.update_staff(db, staff_id, role=body.role, active=body.active, password=body.password,
                                 display_name=body.display_name)
    changed = sorted(k for k, v in body.model_dump(exclude_none=True).items())
    audit.record(db, admin, "staff.updated", data={"staff_id": staff.id, "fields": changed})
    db.commit()
    return StaffOut.model_validate(staff)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List API keys (secrets are never shown)")
def list_keys(db: SessionDep, _admin: ItAdmin) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in auth_repo.list_api_keys(db)]


@router.post("/api-keys", response_model=ApiKeyIssued, status_code=201, summary="Issue an API key")
def create_key(body: ApiKeyCreate, db: SessionDep, admin: ItAdmin) -> ApiKeyIssued:
    issued = service.create_api_key(db, name=body.name, role=body.role, created_by=admin.staff_id,
                                    workstation_id=body.workstation_id, expires_in_days=body.expires_in_days)
    audit.record(db, admin, "api_key.issued", data={"key_id": issued.key.id, "role": issued.key.role,
                                                    "workstation_id": issued.key.workstation_id})
    db.commit()
    return ApiKeyIssued(key=ApiKeyOut.model_validate(issued.key), token=issued.token)


@router.post("/api-keys/{key_id}/rotate", response_model=ApiKeyIssued, summary="Replace a key's secret")
def rotate_key(key_id: str, db: SessionDep, admin: ItAdmin) -> ApiKeyIssued:
    issued = service.rotate_api_key(db, key_id, rotated_by=admin.staff_id)
    audit.record(db, admin, "api_key.rotated", data={"old_key_id": key_id, "key_id": issued.key.id})
    db.commit()
    return ApiKeyIssued(key=ApiKeyOut.model_validate(issued.key), token=issued.token)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_key(key_id: str, db: SessionDep, admin: ItAdmin) -> ApiKeyOut:
    key = service.revoke_api_key(db, key_id)
    audit.record(db, admin, "api_key.revoked", data={"key_id": key.id})
    db.commit()
    return ApiKeyOut.model_validate(key)
