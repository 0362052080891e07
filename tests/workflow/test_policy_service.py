"""The stage-policy write is a workflow service (policy.set_stage_overrides), on SQLite and PostgreSQL: validated
before anything is stored, created then replaced in the settings table, read back by the policy, and audited in
the same transaction."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from idverify.auth.roles import Principal, Role
from idverify.errors import ConfigError, ValidationFailed
from idverify.ledger.models import LedgerEntry
from idverify.store.models import Setting, Staff
from idverify.workflow.policy import POLICY_SETTING, resolve, set_stage_overrides, stage_overrides, stage_subject
from idverify.workflow.stages import Stage, Subject


def _changes(db: Any) -> list[dict[str, Any]]:
    rows = db.scalars(select(LedgerEntry).where(LedgerEntry.event_type == "configuration.changed")
                      .order_by(LedgerEntry.index))
    return [json.loads(r.canonical)["event"] for r in rows]


def test_set_stage_overrides(db_url: str, make_app: Any) -> None:
    ctx = make_app(db_url).app.state.ctx
    with ctx.session_factory() as db:
        admin_id = db.scalar(select(Staff.id).where(Staff.username == "admin"))
        admin = Principal(role=Role.IT_ADMIN, workstation_id="ws-a", method="session", staff_id=admin_id,
                          credential_id="c")
        assert stage_overrides(db) == {}

        first = {"iui_insemination": {"subject": "both"}}
        assert set_stage_overrides(db, first, actor=admin) == first
        db.commit()
        assert stage_subject(db, Stage.IUI_INSEMINATION) is Subject.BOTH

        second = {"embryo_transfer": {"document_required": False,
                                      "factors": {"face": {"active_liveness": "head_turn"}}}}
        assert set_stage_overrides(db, second, actor=admin) == second
        db.commit()
        assert stage_overrides(db) == second  # replaced, not merged
        assert stage_subject(db, Stage.IUI_INSEMINATION) is Subject.FEMALE  # back to the default
        transfer = resolve(db, Stage.EMBRYO_TRANSFER, None)
        assert transfer.challenge == "head_turn" and transfer.document_required is False
        row = db.get(Setting, POLICY_SETTING)
        assert row is not None and row.updated_by == admin_id

        with pytest.raises(ValidationFailed) as info:
            set_stage_overrides(db, {"no_such_stage": {}}, actor=admin)
        assert "no_such_stage" in info.value.message
        db.rollback()
        assert stage_overrides(db) == second  # refused before anything was written

        events = _changes(db)
        assert [e["data"]["value"] for e in events] == [first, second]
        assert all(e["data"]["setting"] == POLICY_SETTING for e in events)


def test_a_stored_policy_naming_an_unknown_factor_is_refused_when_loaded(db_url: str, make_app: Any) -> None:
    """Issue 17.4: a policy written past the validation (by hand, by another version) that names a factor the
    daemon does not know is a ConfigError naming it when the policy is loaded — never a check decided without it."""
    from idverify.workflow.repositories import settings as settings_repo

    ctx = make_app(db_url).app.state.ctx
    with ctx.session_factory() as db:
        settings_repo.put_value(db, POLICY_SETTING, {"embryo_transfer": {"factors": {"iris": {"required": True}}}},
                                updated_by=None)
        db.commit()
        with pytest.raises(ConfigError) as info:
            resolve(db, Stage.EMBRYO_TRANSFER, None)
        assert "iris" in info.value.message and "embryo_transfer" in info.value.message
        assert info.value.code == "config_error"
        resolve(db, Stage.EGG_RETRIEVAL, None)  # the other stages still resolve
