"""Couples and treatment cycles: who is treated together, and which stages a cycle will pass."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.errors import ConflictError, ErrorCode, NotFoundError, ValidationFailed
from idverify.store.base import utcnow
from idverify.store.keys import Keys
from idverify.store.models import Couple, Cycle
from idverify.workflow.patients import get_patient, identity_of
from idverify.workflow.repositories import cycles as repo
from idverify.workflow.repositories import patients as patients_repo
from idverify.workflow.stages import DEFAULT_STAGES, OPTIONAL_STAGES, CycleKind, Stage, needs_male_partner


def create_couple(db: Session, *, female_id: str | None, male_id: str | None, actor: Principal) -> Couple:
    if not female_id and not male_id:
        raise ValidationFailed("a couple needs at least one partner")
    if female_id and get_patient(db, female_id).sex != "F":
        raise ValidationFailed("the female partner's document says she is not female", code=ErrorCode.SEX_MISMATCH)
    if male_id and get_patient(db, male_id).sex != "M":
        raise ValidationFailed("the male partner's document says he is not male", code=ErrorCode.SEX_MISMATCH)
    if female_id and female_id == male_id:
        raise ValidationFailed("the two partners must be different people")
    couple = Couple(female_patient_id=female_id, male_patient_id=male_id, created_by=actor.staff_id)
    repo.add_couple(db, couple)
    db.flush()
    audit.record(db, actor, "couple.registered", subject={"couple_id": couple.id},
                 data={"female_patient_id": female_id, "male_patient_id": male_id})
    return couple


def get_couple(db: Session, couple_id: str) -> Couple:
    couple = repo.get_couple(db, couple_id)
    if couple is None:
        raise NotFoundError("no such couple")
    return couple


def open_cycle(db: Session, *, couple_id: str, kind: CycleKind, extra_stages: Sequence[Stage],
               actor: Principal) -> Cycle:
    couple = get_couple(db, couple_id)
    if couple.female_patient_id is None:
        raise ValidationFailed("every cycle type needs the female partner registered")
    if needs_male_partner(kind) and couple.male_patient_id is None:
        raise ValidationFailed(f"a {kind.value} cycle needs the male partner; use a donor-sperm cycle type")
    bad = [s for s in extra_stages if s not in OPTIONAL_STAGES]
    if bad:
        raise ValidationFailed(f"only {', '.join(OPTIONAL_STAGES)} can be added to a cycle")
    if repo.count_open(db, couple_id):
        raise ConflictError("this couple already has an open cycle; close it first", code=ErrorCode.CYCLE_OPEN)
    stages = [s.value for s in DEFAULT_STAGES[kind]] + [s.value for s in extra_stages]
    cycle = Cycle(couple_id=couple_id, kind=kind.value, stages=stages, created_by=actor.staff_id)
    repo.add_cycle(db, cycle)
    db.flush()
    audit.record(db, actor, "cycle.opened", subject={"couple_id": couple_id, "cycle_id": cycle.id},
                 data={"kind": kind.value, "stages": stages})
    return cycle


def get_cycle(db: Session, cycle_id: str) -> Cycle:
    cycle = repo.get_cycle(db, cycle_id)
    if cycle is None:
        raise NotFoundError("no such cycle")
    return cycle


def list_cycles(db: Session, *, status: str | None, offset: int, limit: int,
                patient_id: str | None = None) -> tuple[Sequence[Cycle], int]:
    """Newest first; ``patient_id``: the cycles of either partner's couples (the nurse scanned this patient's
    card)."""
    return repo.page(db, status=status, patient_id=patient_id, offset=offset, limit=limit)


def partner_names(db: Session, keys: Keys, cycles: Sequence[Cycle]) -> dict[str, dict[str, str | None]]:
    """Couple id -> {"female": name, "male": name} for these cycles, from the sealed identities: the nurse picks a
    cycle by the couple's names, not by a cycle number. Two queries whatever the number of cycles."""
    couples = repo.couples_by_id(db, [c.couple_id for c in cycles])
    ids = {pid for c in couples.values() for pid in (c.female_patient_id, c.male_patient_id) if pid}
    people = patients_repo.by_ids(db, ids)

    def name(patient_id: str | None) -> str | None:
        patient = people.get(patient_id) if patient_id else None
        if patient is None or patient.status != "active":
            return None
        value = identity_of(keys, patient).get("name")
        return str(value) if value else None

    return {cid: {"female": name(c.female_patient_id), "male": name(c.male_patient_id)} for cid, c in couples.items()}


def close_cycle(db: Session, cycle_id: str, *, actor: Principal) -> Cycle:
    cycle = get_cycle(db, cycle_id)
    if cycle.status != "open":
        raise ConflictError("cycle already closed", code=ErrorCode.CYCLE_CLOSED)
    cycle.status = "closed"
    cycle.closed_at = utcnow()
    db.flush()
    audit.record(db, actor, "cycle.closed", subject={"couple_id": cycle.couple_id, "cycle_id": cycle.id})
    return cycle
