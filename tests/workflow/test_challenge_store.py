"""The challenge store's rules (single use, binding, lifetime, forgetting) and the policy option, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from idverify.auth.roles import Principal, Role
from idverify.errors import IdverifyError, ValidationFailed
from idverify.workflow import challenges
from idverify.workflow.challenges import FORGET_AFTER_S, ChallengeStore
from idverify.workflow.policy import validate_overrides

NURSE = Principal(role=Role.NURSE, workstation_id="ws-a", method="session", staff_id="s1", credential_id="c1")
OTHER_DESK = Principal(role=Role.NURSE, workstation_id="ws-b", method="session", staff_id="s1", credential_id="c2")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _redeem(store: ChallengeStore, cid: str, actor: Principal = NURSE, **over: Any) -> Any:
    where = {"cycle_id": "c", "stage": "egg_retrieval", "partner": None, **over}
    return store.redeem(cid, actor=actor, **where)


def _code(fn: Any) -> tuple[str, int]:
    with pytest.raises(IdverifyError) as info:
        fn()
    return info.value.code, info.value.status_code


def test_single_use_binding_and_lifetime() -> None:
    clock = Clock()
    store = ChallengeStore(ttl_s=60, clock=clock)
    issued = store.issue("head_turn", cycle_id="c", stage="egg_retrieval", partner=None, actor=NURSE)
    assert issued.kind == "head_turn" and issued.direction in ("left", "right")
    assert issued.prompt_key == f"challenge.turn_{issued.direction}"
    assert _code(lambda: _redeem(store, issued.id, OTHER_DESK)) == ("challenge_mismatch", 409)
    assert _code(lambda: _redeem(store, issued.id, stage="embryo_transfer")) == ("challenge_mismatch", 409)
    assert _code(lambda: _redeem(store, issued.id, partner="female")) == ("challenge_mismatch", 409)
    clock.now += 59
    assert _redeem(store, issued.id).id == issued.id  # a refused foreign attempt did not use it up
    assert _code(lambda: _redeem(store, issued.id)) == ("challenge_used", 409)
    assert _code(lambda: _redeem(store, "nope")) == ("challenge_unknown", 422)

    late = store.issue("head_turn", cycle_id="c", stage="egg_retrieval", partner=None, actor=NURSE)
    clock.now += 61
    assert _code(lambda: _redeem(store, late.id)) == ("challenge_expired", 409)
    assert _code(lambda: _redeem(store, late.id)) == ("challenge_used", 409)
    clock.now += FORGET_AFTER_S + 1
    assert _code(lambda: _redeem(store, late.id)) == ("challenge_unknown", 422)
    store.issue("head_turn", cycle_id="c", stage="egg_retrieval", partner=None, actor=NURSE)
    assert len(store) == 1  # old entries are forgotten as new ones are issued


def test_directions_are_drawn_at_random() -> None:
    store = ChallengeStore()
    seen = {store.issue("head_turn", cycle_id="c", stage="s", partner=None, actor=NURSE).direction
            for _ in range(64)}
    assert seen == {"left", "right"}  # P(one side only in 64 draws) = 2^-63


def test_blink_falls_back_to_head_turn_without_the_mesh_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(challenges, "blink_available", lambda: False)
    issued = ChallengeStore().issue("blink", cycle_id="c", stage="s", partner=None, actor=NURSE)
    assert (issued.kind, issued.substituted_for) == ("head_turn", "blink")
    monkeypatch.setattr(challenges, "blink_available", lambda: True)
    issued = ChallengeStore().issue("blink", cycle_id="c", stage="s", partner=None, actor=NURSE)
    assert (issued.kind, issued.direction, issued.prompt_key) == ("blink", None, "challenge.blink")


@pytest.mark.parametrize("factors", [{"face": {"active_liveness": "nod"}}, {"face": {"active_liveness": True}},
                                     {"fingerprint": {"active_liveness": "head_turn"}}])
def test_policy_rejects_bad_active_liveness(factors: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_overrides({"egg_retrieval": {"factors": factors}})
    assert info.value.code == "invalid_active_liveness"


def test_policy_accepts_the_kinds_and_null() -> None:
    for value in ("head_turn", "blink", None):
        validate_overrides({"embryo_transfer": {"factors": {"face": {"active_liveness": value}}}})


def test_one_store_per_daemon(make_app: Any) -> None:
    """Two daemons in one process (tests, the hub demo) never answer each other's challenges."""
    first, second = make_app().app.state.ctx.challenges, make_app().app.state.ctx.challenges
    issued = first.issue("head_turn", cycle_id="c", stage="egg_retrieval", partner=None, actor=NURSE)
    assert _code(lambda: _redeem(second, issued.id)) == ("challenge_unknown", 422)
    assert _redeem(first, issued.id).id == issued.id
