"""Staff, login and API-key payloads."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from idverify.api.schemas import RequestModel, ResponseModel
from idverify.auth.roles import Role

Username = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
Password = Field(min_length=1, max_length=256)


class LoginRequest(RequestModel):
    username: str = Username
    password: str = Password


class StaffOut(ResponseModel):
    id: str
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class LoginResponse(ResponseModel):
    staff: StaffOut
    csrf_token: str
    expires_at: datetime
    workstation_id: str


class MeResponse(ResponseModel):
    role: Role
    workstation_id: str
    method: str
    staff: StaffOut | None
    csrf_token: str | None


class StaffCreate(RequestModel):
    username: str = Username
    display_name: str = Field(min_length=1, max_length=128)
    role: Role
    password: str = Field(min_length=10, max_length=256)


class StaffUpdate(RequestModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=256)


class ApiKeyCreate(RequestModel):
    name: str = Field(min_length=1, max_length=128)
    role: Role
    workstation_id: str | None = Field(default=None, min_length=1, max_length=64)
    expires_in_days: int | None = Field(default=365, ge=1, le=3650)


class ApiKeyOut(ResponseModel):
    id: str
    name: str
    prefix: str
    role: Role
    workstation_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyIssued(ResponseModel):
    key: ApiKeyOut
    token: str = Field(description="The secret, shown once. Send it as 'Authorization: Bearer <token>'.")
