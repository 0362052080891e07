"""Clinic configuration (role it_admin): stage policies and webhook endpoints. Every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from idverify import audit
from idverify.api.deps import ItAdmin, KeysDep, SessionDep
from idverify.api.schemas import RequestModel, ResponseModel
from idverify.webhooks import (
    counts_by_status,
    create_endpoint,
    disable_endpoint,
    list_deliveries,
    list_endpoints,
    redeliver,
)
from idverify.workflow.policy import set_stage_overrides, stage_overrides

router = APIRouter(tags=["configuration"])


class PolicyIn(RequestModel):
    stages: dict[str, dict[str, Any]] = Field(description="Per stage: subject, document_required, factors{...}")


class PolicyOut(ResponseModel):
    stages: dict[str, Any]


class WebhookIn(RequestModel):
    url: str = Field(min_length=8, max_length=512, pattern=r"^https?://")
    events: list[Literal["verification.completed", "verification.overridden"]] = Field(
        default=["verification.completed", "verification.overridden"], min_length=1)


class WebhookOut(ResponseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(ResponseModel):
    endpoint: WebhookOut
    secret: str = Field(description="whsec_… signing secret, shown once")


class DeliveryOut(ResponseModel):
    id: str
    endpoint_id: str
    event_type: str
    status: str = Field(description="pending, sending, delivered, failed (gave up) or cancelled (endpoint disabled)")
    attempts: int
    last_status: int | None = Field(description="The receiver's last HTTP status; null: not reached")
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


class DeliveriesOut(ResponseModel):
    counts: dict[str, int] = Field(description="Deliveries by status")
    deliveries: list[DeliveryOut]


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


@router.get("/webhooks/deliveries", response_model=DeliveriesOut,
            summary="Recent webhook deliveries (newest first) and counts by status: failures to look into")
def webhook_deliveries(db: SessionDep, _admin: ItAdmin,
                       status: Literal["pending", "sending", "delivered", "failed", "cancelled"] | None = None,
                       limit: int = Query(default=50, ge=1, le=500)) -> DeliveriesOut:
    return DeliveriesOut(counts=counts_by_status(db),
                         deliveries=[DeliveryOut.model_validate(d) for d in list_deliveries(db, status=status,
                                                                                             limit=limit)])


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
             summary="Send a webhook delivery again (a failed one, or one the receiver lost); audited")
def redeliver_webhook(delivery_id: str, db: SessionDep, admin: ItAdmin) -> DeliveryOut:
    delivery = redeliver(db, delivery_id)
    audit.record(db, admin, "configuration.changed", data={"setting": "webhooks", "redelivered": delivery.id})
    db.commit()
    return DeliveryOut.model_validate(delivery)
