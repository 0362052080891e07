"""Active liveness challenges for stage checks: issue one, then redeem it once with the check.

Owns: the store of issued challenges and the rules for redeeming one. Must not touch: cameras, the challenge
judgement (:mod:`idverify.biometrics.pad.active`), decisions (:mod:`idverify.workflow.rules`).

Why two steps: the direction must be unpredictable (a replayed video cannot know it) yet known to the nurse's
screen before the capture, so the daemon draws it, shows it, and only accepts an answer to a challenge it issued.
A challenge is bound to the cycle, stage, partner, workstation and staff member (or API key) that asked for it, lives
:data:`CHALLENGE_TTL_S` seconds and is single use; each refusal has its own code (``challenge_unknown`` 422,
``challenge_expired`` / ``challenge_used`` / ``challenge_mismatch`` 409) so an integration can tell a slow user
from a replay. The store is in memory, one per daemon (``AppContext.challenges``, so daemons in one process —
tests, the hub demo — never answer each other's): a restart simply makes the nurse ask for a new challenge.

Blink is issued only where the face-mesh runtime is installed
(:func:`idverify.biometrics.pad.blink.blink_available`); elsewhere a stage that asks for a blink gets a head turn
and the challenge says so (``substituted_for``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from idverify.auth.roles import Principal
from idverify.biometrics.pad.active import Challenge
from idverify.biometrics.pad.blink import BlinkChallenge, blink_available
from idverify.biometrics.pad.challenge import HeadTurnChallenge
from idverify.errors import ConflictError, ErrorCode, ValidationFailed
from idverify.store.base import utcnow

CHALLENGE_TTL_S = 60.0
#: Redeemed and expired challenges are remembered this long, so a late or replayed answer gets a precise code.
FORGET_AFTER_S = 600.0


@dataclass
class IssuedChallenge:
    id: str
    kind: str  # head_turn | blink
    direction: str | None  # left | right for head_turn
    cycle_id: str
    stage: str
    partner: str | None
    workstation_id: str
    holder: str  # Principal.holder: the staff member, or the API key, that asked for it
    issued_at: float  # store clock (monotonic)
    expires_at: datetime
    substituted_for: str | None = None
    used: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_key(self) -> str:
        return "challenge.blink" if self.kind == "blink" else f"challenge.turn_{self.direction}"

    def core(self) -> Challenge:
        """The challenge core that judges the answer."""
        if self.kind == "blink":
            return BlinkChallenge()
        return HeadTurnChallenge(direction="left" if self.direction == "left" else "right")

    def record(self) -> dict[str, Any]:
        return {"challenge_id": self.id, "kind": self.kind, "direction": self.direction,
                "substituted_for": self.substituted_for}


class ChallengeStore:
    """Issued challenges of this daemon. Thread-safe (check routes run in the worker pool)."""

    def __init__(self, *, ttl_s: float = CHALLENGE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._items: dict[str, IssuedChallenge] = {}
        self._lock = threading.Lock()

    def issue(self, kind: str, *, cycle_id: str, stage: str, partner: str | None, actor: Principal
              ) -> IssuedChallenge:
        substituted = None
        if kind == "blink" and not blink_available():
            kind, substituted = "head_turn", "blink"
        direction = HeadTurnChallenge.new().direction if kind == "head_turn" else None
        now = self.clock()
        item = IssuedChallenge(id=str(uuid.uuid4()), kind=kind, direction=direction, cycle_id=cycle_id, stage=stage,
                               partner=partner, workstation_id=actor.workstation_id, holder=actor.holder,
                               issued_at=now, expires_at=utcnow() + timedelta(seconds=self.ttl_s),
                               substituted_for=substituted)
        with self._lock:
            self._forget(now)
            self._items[item.id] = item
        return item

    def redeem(self, challenge_id: str, *, cycle_id: str, stage: str, partner: str | None, actor: Principal
               ) -> IssuedChallenge:
        """The challenge, marked used; raises with a precise code when it cannot be answered here."""
        now = self.clock()
        with self._lock:
            self._forget(now)
            item = self._items.get(challenge_id)
            if item is None:
                raise ValidationFailed("unknown liveness challenge — ask for a new challenge",
                                       code=ErrorCode.CHALLENGE_UNKNOWN)
            if item.used:
                raise ConflictError("this liveness challenge was already answered — ask for a new challenge",
                                    code=ErrorCode.CHALLENGE_USED)
            if (item.cycle_id, item.stage, item.partner, item.workstation_id, item.holder) != \
                    (cycle_id, stage, partner, actor.workstation_id, actor.holder):
                raise ConflictError("this liveness challenge was issued for another check, workstation or staff "
                                    "member — ask for a new challenge", code=ErrorCode.CHALLENGE_MISMATCH)
            if now - item.issued_at > self.ttl_s:
                item.used = True
                raise ConflictError(f"the liveness challenge expired after {self.ttl_s:.0f} s — ask for a new "
                                    "challenge", code=ErrorCode.CHALLENGE_EXPIRED)
            item.used = True
            return item

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._items.items() if now - v.issued_at > self.ttl_s + FORGET_AFTER_S]:
            del self._items[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

