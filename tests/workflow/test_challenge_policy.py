"""The resolved stage policy carries the face factor's active_liveness: null by default, the clinic's choice when
set, and none at all for a patient whose consent leaves the face out."""

from __future__ import annotations

from typing import Any

from idverify.store.models import ConsentRecord
from idverify.workflow.policy import resolve
from idverify.workflow.stages import Stage


def test_resolved_policy_challenge(make_app: Any) -> None:
    daemon = make_app()
    admin, csrf = daemon.login("admin")
    stages = {"embryo_transfer": {"factors": {"face": {"active_liveness": "head_turn"}}},
              "egg_retrieval": {"factors": {"face": {"active_liveness": "blink", "enabled": False}}}}
    put = admin.put("/api/v1/settings/policy", json={"stages": stages}, headers={"X-CSRF-Token": csrf})
    assert put.status_code == 200, put.text
    no_face = ConsentRecord(modalities=["fingerprint"], refused=["face", "document_photo"])
    with daemon.app.state.ctx.session_factory() as db:
        transfer = resolve(db, Stage.EMBRYO_TRANSFER, None)
        assert transfer.challenge == "head_turn" and transfer.as_dict()["active_liveness"] == "head_turn"
        assert resolve(db, Stage.SPERM_RETRIEVAL, None).challenge is None  # default: no active challenge
        assert resolve(db, Stage.EGG_RETRIEVAL, None).challenge is None  # face disabled at this stage
        refused = resolve(db, Stage.EMBRYO_TRANSFER, no_face)
        assert refused.challenge is None and "face" not in refused.biometric.factors
