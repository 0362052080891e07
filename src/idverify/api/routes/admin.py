"""Clinic configuration (role it_admin): stage policies and webhook endpoints. Every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from idverify import audit
from idverify.api.deps import ItAdmin, KeysDep, SessionDep
from idverify.api.schemas import RequestModel, ResponseModel
from idverify.webhooks import create_endpoint, disable_endpoint, list_endpoints
from idverify.workflow.policy import set_stage_overrides, stage_overrides

router = APIRouter(tags=["configuration"])


class PolicyIn(RequestModel):
    stages: dict[str, dict[str, Any]] = Field(description="Per stage: subject, document_required, factors{...}")


class PolicyOut(ResponseModel):
    stages: dict[str, Any]


class WebhookIn(RequestModel):
    url: str = Field(min_length=8, max_length=512, pattern=r"^https?://")
    events: list[Literal["verification.completed"]] = Field(default=["verification.completed"], min_length=1)


class WebhookOut(ResponseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(ResponseModel):
    endpoint: WebhookOut
    secret: str = Field(description="whsec_… signing secret, shown once")


@router.get("/settings/policy", response_model=PolicyOut, summary="Per-stage verification policy overrides")
def get_policy(db: SessionDep, _admin: ItAdmin) -> PolicyOut:
    return PolicyOut(stages=stage_overrides(db))


@router.put("/settings/policy", response_model=PolicyOut, summary="Replace the per-stage policy overrides")
def put_policy(body: PolicyIn, db: SessionDep, admin: ItAdmin) -> PolicyOut:
    stages = set_stage_overrides(db, body.stages, actor=admin)
    db.commit()
    return PolicyOut(stages=stages)


@router.get("/webhooks", response_model=list[WebhookOut], summary="Webhook endpoints")
def list_webhooks(db: SessionDep, _admin: ItAdmin) -> list[WebhookOut]:
    return [WebhookOut.model_validate(e) for e in list_endpoints(db)]


@router.post("/webhooks", response_model=WebhookCreated, status_code=201, summary="Add a signed webhook endpoint")
def add_webhook(body: WebhookIn, db: SessionDep, keys: KeysDep, admin: ItAdmin) -> WebhookCreated:
    endpoint, secret = create_endpoint(db, keys, url=body.url, events=list(body.events))
    audit.record(db, admin, "configuration.changed", data={"setting": "webhooks", "added": endpoint.id})
    db.commit()
    return WebhookCreated(endpoint=WebhookOut.model_validate(endpoint), secret=secret)


@router.delete("/webhooks/{endpoint_id}", response_model=WebhookOut, summary="Disable a webhook endpoint")
def remove_webhook(endpoint_id: str, db: SessionDep, admin: ItAdmin) -> WebhookOut:
    endpoint = disable_endpoint(db, endpoint_id)
    audit.record(db, admin, "configuration.changed", data={"setting": "webhooks", "disabled": endpoint.id})
    db.commit()
    return WebhookOut.model_validate(endpoint)
