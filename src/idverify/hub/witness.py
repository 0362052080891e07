"""The witness: cosign a clinic's checkpoint only when it is consistent with the last one cosigned for its origin.

C2SP tlog-witness, checked in the spec's order: framing (400, :mod:`idverify.ledger.witness_protocol`) → origin known
(404) → a signature by the origin's registered key verifies (403) → old size ≤ checkpoint size (400) → old size
is the latest cosigned size (409 + ``text/x.tlog.size``) → equal sizes need equal roots (409) → the RFC 6962
consistency proof from the stored root verifies (422). Then the new state is compare-and-swapped (see
:mod:`idverify.hub.repository`), the cosignature (``cosignature/v1``, timestamped Ed25519) is stored in the
history, and everything commits *before* the answer. On PostgreSQL that is one statement in autocommit, shared
by the requests of several clinics that arrive together (:mod:`idverify.hub.group_commit`), and a request that
builds on the state this process last saw needs no read before it.

A refused submission that carries a valid clinic signature is evidence — the clinic signed something the witness
could not reconcile with what it cosigned before — so it is recorded with its full body (``hub_refusals``),
and the unambiguous cases (same size with another root, a failing consistency proof, or a root that differs from
one the witness cosigned at that size) raise a ``checkpoint_refused`` alert. A stale old size alone is not: two
workstations of one clinic racing, or a clinic resuming after losing its state, produce it legitimately.
"""

from __future__ import annotations

import base64
import time
import weakref
from dataclasses import dataclass
from typing import NoReturn

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from idverify.errors import ErrorCode
from idverify.hub import alerts, audit, group_commit
from idverify.hub import repository as repo
from idverify.hub.models import HubRefusal
from idverify.ledger.checkpoint import CheckpointError, verify_ed25519
from idverify.ledger.cosignature import CosignatureSigner
from idverify.ledger.merkle import ProofError, verify_consistency
from idverify.ledger.witness_protocol import AddCheckpoint
from idverify.store.base import utcnow

log = structlog.get_logger(__name__)


class WitnessRefused(Exception):
    """The answer is not a cosignature. ``size`` is set for the 409 ``text/x.tlog.size`` answers."""

    def __init__(self, status: int, code: ErrorCode, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.size = size


@dataclass(frozen=True)
class Cosigned:
    lines: str  # the response body: our signature line(s)
    tree_size: int


_ALERTING = frozenset({ErrorCode.ROOT_CONFLICT, ErrorCode.BAD_PROOF, ErrorCode.COSIGNED_ROOT_CONFLICT})

# The last state this process saw per origin (per engine: tests run several hubs in one process). A request that
# builds on it needs one database round trip, the compare-and-swap, which re-checks every premise taken from the
# cache (size, root, active, key) under the row lock; anything else — a miss, a premise another process moved,
# any refusal — is answered from a fresh read, so the cache changes the cost of a request, never its answer.
_STATES: weakref.WeakKeyDictionary[Engine, dict[str, repo.WitnessState]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Refusal:
    status: int
    code: ErrorCode
    message: str
    size: int | None = None


def add_checkpoint(sessions: sessionmaker[Session], signer: CosignatureSigner, req: AddCheckpoint) -> Cosigned:
    """Answer one add-checkpoint request; raises :class:`WitnessRefused` for every non-200 answer.

    Takes the session factory, not a session: a request that builds on the remembered state needs none on
    PostgreSQL (the group commit writes on its own connection), and a session's set-up and close cost more
    Python than the rest of such a request."""
    cp = req.checkpoint
    engine = sessions.kw["bind"]
    states = _STATES.get(engine)
    if states is None:
        states = _STATES.setdefault(engine, {})
    cached = states.get(cp.origin)
    if cached is not None and req.old_size == cached.size and _check(req, cached) is None:
        try:
            if engine.dialect.name == "postgresql":
                done = _record(engine, None, signer, req, cached)
            else:
                with sessions() as session:
                    done = _record(engine, session, signer, req, cached)
        except DBAPIError as exc:  # a connection that died (a server restart): answer from a fresh read
            if not exc.connection_invalidated:
                raise
            done = None
        if done is not None:
            states[cp.origin] = _advanced(cached, cp.tree_size, cp.root_hash)
            return done
    with sessions() as session:
        return _from_fresh_read(engine, session, signer, req, states)


def _from_fresh_read(engine: Engine, session: Session, signer: CosignatureSigner, req: AddCheckpoint,
                     states: dict[str, repo.WitnessState]) -> Cosigned:
    """Every refusal, and every request not built on the remembered state, is decided on a fresh read."""
    cp = req.checkpoint
    repo.autocommit(session)
    try:
        state = repo.witness_state(session, cp.origin)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        session.rollback()
        repo.autocommit(session)
        state = repo.witness_state(session, cp.origin)
    states.pop(cp.origin, None)
    if state is None or state.status != "active":
        raise WitnessRefused(404, ErrorCode.UNKNOWN_ORIGIN, "this witness does not know the checkpoint's origin")
    refusal = _check(req, state)
    if refusal is not None:
        if refusal.code is ErrorCode.UNTRUSTED_SIGNATURE:
            raise WitnessRefused(refusal.status, refusal.code, refusal.message)
        if refusal.code is ErrorCode.STALE_OLD_SIZE and cp.tree_size < state.size:
            earlier = repo.cosigned_root(session, state.clinic_id, cp.tree_size)
            if earlier is not None and earlier != cp.root_hash:  # we cosigned another root at this very size: a fork
                refusal = _Refusal(409, ErrorCode.COSIGNED_ROOT_CONFLICT, refusal.message, refusal.size)
        _refuse(session, req, state, refusal.status, refusal.code, refusal.message, size=refusal.size)
    done = _record(engine, session, signer, req, state)
    if done is None:
        session.rollback()
        current = repo.witness_state(session, cp.origin)
        size = current.size if current is not None else state.size
        _refuse(session, req, state, 409, ErrorCode.CONCURRENT_UPDATE,
                f"another submission advanced this log to {size} first", size=size)
    states[cp.origin] = _advanced(state, cp.tree_size, cp.root_hash)
    return done


def _check(req: AddCheckpoint, state: repo.WitnessState) -> _Refusal | None:
    """The spec's checks of ``req`` against ``state``, in the spec's order (no database access)."""
    cp = req.checkpoint
    try:
        signed = verify_ed25519(req.note, cp.origin, state.public_key)
    except CheckpointError:
        signed = None
    if not signed:
        return _Refusal(403, ErrorCode.UNTRUSTED_SIGNATURE, "no signature by the origin's registered key verifies")
    if req.old_size > cp.tree_size:
        return _Refusal(400, ErrorCode.OLD_SIZE_ABOVE_CHECKPOINT,
                        f"old size {req.old_size} is above the checkpoint size {cp.tree_size}")
    if req.old_size != state.size:
        return _Refusal(409, ErrorCode.STALE_OLD_SIZE, f"the latest cosigned size is {state.size}, not {req.old_size}",
                        state.size)
    if req.old_size == cp.tree_size:
        if cp.root_hash != state.root:
            return _Refusal(409, ErrorCode.ROOT_CONFLICT,
                            f"size {cp.tree_size} was cosigned with a different root hash", state.size)
        if req.proof:
            return _Refusal(422, ErrorCode.BAD_PROOF, "a proof between equal sizes must be empty")
        return None
    try:
        verify_consistency(state.size, cp.tree_size, state.root, cp.root_hash, req.proof)
    except ProofError as exc:
        return _Refusal(422, ErrorCode.BAD_PROOF, f"the consistency proof does not verify: {exc}")
    return None


def _record(engine: Engine, session: Session | None, signer: CosignatureSigner, req: AddCheckpoint,
            state: repo.WitnessState) -> Cosigned | None:
    """Cosign, compare-and-swap and commit; None (nothing written) when the state is no longer ``state``.
    PostgreSQL: the group commit's own statement and connection (``session``, if any, is closed first: its
    pooled connection goes back before the wait); SQLite: ``session``'s transaction."""
    cp = req.checkpoint
    now = utcnow()
    timestamp = int(time.time())
    line = signer.cosign(req.note.text, timestamp)
    new = repo.NewCosignature(
        clinic_id=state.clinic_id, old_size=state.size, old_root=state.root, tree_size=cp.tree_size,
        root_hash=cp.root_hash, note=req.note_text, cosignature=line, timestamp=timestamp, at=now,
        action={"clinic_id": state.clinic_id, "old_size": req.old_size, "tree_size": cp.tree_size,
                "root_hash": base64.b64encode(cp.root_hash).decode(), "timestamp": timestamp},
        public_key=state.public_key,
    )
    if engine.dialect.name == "postgresql":
        if session is not None:
            session.close()
        recorded = group_commit.record(engine, new)
    else:
        assert session is not None
        recorded = repo.record_cosignature(session, new)
        if recorded:
            session.commit()
    return Cosigned(line, cp.tree_size) if recorded else None


def _advanced(state: repo.WitnessState, size: int, root: bytes) -> repo.WitnessState:
    return repo.WitnessState(state.clinic_id, state.status, state.public_key, size, root)


def _refuse(session: Session, req: AddCheckpoint, state: repo.WitnessState, status: int, reason: ErrorCode,
            message: str, *, size: int | None = None) -> NoReturn:
    """Record a validly signed refused submission (and alert when it proves misbehaviour), then refuse."""
    cp = req.checkpoint
    session.rollback()
    refusal = HubRefusal(
        clinic_id=state.clinic_id, received_at=utcnow(), status_code=status, reason=reason,
        old_size=req.old_size, tree_size=cp.tree_size, root_hash=cp.root_hash, witness_size=state.size,
        witness_root=state.root, body=_body_text(req),
    )
    repo.add_refusal(session, refusal)
    audit.record(session, "witness.refused", {
        "clinic_id": state.clinic_id, "refusal_id": refusal.id, "status": status, "reason": reason,
        "old_size": req.old_size, "tree_size": cp.tree_size,
    })
    if reason in _ALERTING:
        root = base64.b64encode(cp.root_hash).decode()
        alerts.raise_alert(
            session, "checkpoint_refused", key=f"{state.clinic_id}:{cp.tree_size}:{cp.root_hash.hex()[:32]}",
            clinic_id=state.clinic_id,
            summary={"reason": reason, "tree_size": cp.tree_size, "root_hash": root,
                     "cosigned_size": state.size, "cosigned_root": base64.b64encode(state.root).decode()},
            evidence=[{"type": "refusal", "refusal_id": refusal.id, "clinic_id": state.clinic_id,
                       "tree_size": cp.tree_size, "cosigned_size": state.size}],
        )
        log.warning("witness.inconsistent_checkpoint", clinic_id=state.clinic_id, reason=reason,
                    tree_size=cp.tree_size, cosigned_size=state.size)
    session.commit()
    raise WitnessRefused(status, reason, message, size=size)


def _body_text(req: AddCheckpoint) -> str:
    proof = "".join(base64.b64encode(h).decode() + "\n" for h in req.proof)
    return f"old {req.old_size}\n{proof}\n{req.note_text}"
