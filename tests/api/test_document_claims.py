"""An uploaded document's checks are computed here or recorded as claimed by the uploader — never as passed —
and its photo must be an image (issue 16.4)."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from idverify.api.captures import from_request
from idverify.api.schemas.workflow import CaptureIn
from idverify.store.models import Patient
from idverify.workflow.rules import Reason, RuleOutcome, document_rule

NUMBER = "110101199003074565"
CLAIMANT = "api_key:k-1 (HIS kiosk)"


def _jpeg() -> str:
    ok, buf = cv2.imencode(".jpg", np.full((64, 48, 3), 128, np.uint8))
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def _upload(**document: Any) -> Any:
    body = CaptureIn.model_validate({"document": {"document_type": "cn_resident_id", "document_number": NUMBER,
                                                  **document}})
    captures = from_request(body, None, claimed_by=CLAIMANT)
    assert captures.document is not None
    return captures.document


def test_claimed_passive_auth_is_recorded_as_a_claim_not_as_passed() -> None:
    doc = _upload(passive_auth="passed", photo_base64=_jpeg())
    checks = doc.checks.as_dict()
    assert checks["passive_auth"] == "not_verified"
    assert checks["claimed_by"] == CLAIMANT
    assert checks["claims"] == {"checksum_ok": True, "expired": False, "passive_auth": "passed"}
    assert doc.photo_format == "jpeg" and doc.photo_available
    patient = Patient(id="p-1", document_type="cn_resident_id", document_lookup=f"digest:{NUMBER}")
    verdict = document_rule(doc, patient, required=True, digest=lambda n: f"digest:{n}", owner_of=lambda t, n: None)
    assert verdict.outcome is RuleOutcome.PASS and verdict.record is not None
    assert verdict.record["checks"]["passive_auth"] == "not_verified"  # what the ledger and the result show
    assert verdict.record["checks"]["claimed_by"] == CLAIMANT
    # a reader reporting a forgery is believed
    assert _upload(passive_auth="failed").checks.passive_auth == "failed"


def test_checksum_of_a_chinese_number_is_computed_not_claimed() -> None:
    wrong = _upload(document_number=NUMBER[:-1] + "4", checksum_ok=True)
    assert wrong.checks.checksum is False and wrong.checks.claims == {"checksum_ok": True, "expired": False,
                                                                     "passive_auth": "not_applicable"}
    patient = Patient(id="p-1", document_type="cn_resident_id", document_lookup="digest:x")
    verdict = document_rule(wrong, patient, required=True, digest=lambda n: f"digest:{n}", owner_of=lambda t, n: None)
    assert verdict.reason is Reason.DOCUMENT_CHECKSUM_FAILED
    assert _upload(checksum_ok=False).checks.checksum is True  # the number is right whatever was claimed


def test_non_image_document_photo_is_refused(make_app: Any) -> None:
    daemon = make_app()
    nurse, csrf = daemon.login("nurse1")
    photo = base64.b64encode(b"%PDF-1.4 this is not a face picture").decode()
    body = {"stage": "egg_retrieval", "document": {"document_type": "cn_resident_id", "document_number": NUMBER,
                                                   "photo_base64": photo}}
    resp = nurse.post("/api/v1/cycles/any-cycle/checks", json=body, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["loc"] == ["body", "document", "photo_base64"]
    assert error["details"][0]["type"] == "image_invalid"
