"""Realistic clinic activity for the inspector tests: patients, a couple and a cycle through REST (so their
audit events come from the workflow), then stage checks, enrolments and an override written through the ORM with
their ledger events via :func:`idverify.audit.record` — biometrics are not the point here, the records are.

October 2026 in Beijing time (Asia/Shanghai) is the reported month; three checks sit just around its edges.
Expected figures are derived from the ``CHECKS`` table below, not typed in separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from idverify import audit
from idverify.auth.roles import Principal, Role
from idverify.store.models import Enrollment, Override, Staff, Verification

MONTH = "2026-10"
IN_MONTH = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
FIRST_MINUTE = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)   # 1 Oct 00:30 Beijing: in the month
AFTER_MONTH = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)   # 1 Nov 00:30 Beijing: not in it
BEFORE_MONTH = datetime(2026, 9, 30, 15, 59, tzinfo=UTC)   # 30 Sep 23:59 Beijing: not in it

ZHANG = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "张三丽",
         "sex": "F", "birth_date": "1990-03-07"}
LI = {"document_type": "cn_resident_id", "document_number": "110101198805061235", "name": "李四", "sex": "M",
      "birth_date": "1988-05-06"}
WANG = {"document_type": "cn_resident_id", "document_number": "320102199201011229", "name": "王小红", "sex": "F",
        "birth_date": "1992-01-01"}


def factor(status: str, passed: bool | None = None, score: float | None = None) -> dict[str, Any]:
    """A factor record shaped like :func:`idverify.biometrics.fusion.decide` writes it."""
    if status == "ok" and score is None:
        score = 0.9 if passed else 0.1
    return {"required": True, "status": status, "score": score, "threshold": 0.5, "target_fmr": 0.001,
            "threshold_source": "test", "live": None, "model_version": "test", "passed": bool(passed),
            "normalised": None}


def doc(status: str, owner: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"document_type": "cn_resident_id", "status": status, "source": "reader"}
    if status == "mismatch":
        rec["card_owner_patient_id"] = owner
    return rec


@dataclass
class CheckSpec:
    key: str
    stage: str
    decision: str
    reasons: list[Any]  # {"code", "params"} objects; a bare string is a reason stored before reason codes
    face: dict[str, Any]
    finger: dict[str, Any]
    document: dict[str, Any]
    staff: str  # "nurse1" | "nurse2"
    when: datetime = IN_MONTH
    override: str | None = None  # reason code of a later two-person override

    @property
    def in_month(self) -> bool:
        return self.when not in (AFTER_MONTH, BEFORE_MONTH)


OK, FP_BAD = factor("ok", True), factor("ok", False)
OK_R = {"code": "identity_confirmed", "params": {}}
LIVENESS_FAILED = {"code": "liveness_failed", "params": {"factor": "face", "cause": {"code": "pad_spoof_suspected"}}}
FP_MISMATCH = {"code": "fingerprint_mismatch", "params": {"score": 21.5, "threshold": 40.0}}
CHECKS = [
    CheckSpec("c1", "sperm_retrieval", "accept", [OK_R], OK, OK, doc("ok"), "nurse1"),
    CheckSpec("c2", "sperm_retrieval", "accept", [OK_R], OK, OK, doc("ok"), "nurse1"),
    CheckSpec("c3", "egg_retrieval", "accept", [OK_R], OK, OK, doc("ok"), "nurse2"),
    CheckSpec("c4", "egg_retrieval", "reject", [FP_MISMATCH], OK, FP_BAD, doc("ok"), "nurse1",
              override="worn_fingerprints"),
    CheckSpec("c5", "egg_retrieval", "retry", [{"code": "finger_quality_low", "params": {}}, "read the card again"],
              OK, factor("quality_failed"), doc("bad"), "nurse2"),
    CheckSpec("c6", "embryo_transfer", "reject", [{"code": "card_of_another_patient", "params": {}}, FP_MISMATCH],
              factor("ok", True), FP_BAD, doc("mismatch", "OWNER"), "nurse2"),
    CheckSpec("c7", "embryo_transfer", "reject", [LIVENESS_FAILED], factor("ok", False), OK, doc("ok"), "nurse1"),
    CheckSpec("c8", "embryo_transfer", "accept", [OK_R], OK, OK, doc("ok"), "nurse2",
              when=FIRST_MINUTE),
    CheckSpec("c9", "sperm_retrieval", "accept", [OK_R], OK, OK, doc("ok"), "nurse1",
              when=AFTER_MONTH),
    CheckSpec("c10", "egg_retrieval", "accept", [OK_R], OK, OK, doc("ok"), "nurse2",
              when=BEFORE_MONTH),
]
ENROLMENTS = [("complete", "nurse1", "female"), ("complete", "nurse1", "male"),
              ("duplicate_suspected", "nurse2", "other"), ("retry", "nurse1", "female")]


@dataclass
class Seeded:
    daemon: Any
    staff: dict[str, str]  # username -> staff id
    patients: dict[str, str]  # female / male / other -> patient id
    cycle_id: str
    verifications: dict[str, str] = field(default_factory=dict)  # check key -> verification id
    alerts_now: int = 0


def _principal(staff_id: str) -> Principal:
    return Principal(role=Role.NURSE, workstation_id="ws-a", method="session", staff_id=staff_id,
                     credential_id="seed")


def seed(daemon: Any) -> Seeded:
    nurse, csrf = daemon.login("nurse1")
    h = {"X-CSRF-Token": csrf}
    ids = {}
    for key, body in (("female", ZHANG), ("male", LI), ("other", WANG)):
        resp = nurse.post("/api/v1/patients", json=body, headers=h)
        assert resp.status_code == 201, resp.text
        ids[key] = resp.json()["patient"]["id"]
    couple = nurse.post("/api/v1/couples", json={"female_patient_id": ids["female"], "male_patient_id": ids["male"]},
                        headers=h).json()
    cycle = nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "ivf"}, headers=h)
    assert cycle.status_code == 201, cycle.text
    cycle_id = cycle.json()["id"]
    from sqlalchemy import select

    with daemon.app.state.ctx.session_factory() as db:
        staff = {s.username: s.id for s in db.scalars(select(Staff))}
        seeded = Seeded(daemon, staff, ids, cycle_id)
        for spec in CHECKS:
            patient = ids["male"] if spec.stage == "sperm_retrieval" else ids["female"]
            document = dict(spec.document)
            if document.get("card_owner_patient_id") == "OWNER":
                document["card_owner_patient_id"] = ids["other"]
            v = Verification(cycle_id=cycle_id, patient_id=patient, stage=spec.stage, decision=spec.decision,
                             reasons=spec.reasons,
                             factors={"face": spec.face, "fingerprint": spec.finger, "document": document},
                             policy={}, devices={"face": "camera", "fingerprint": "sensor", "document": "reader"},
                             staff_id=staff[spec.staff], workstation_id="ws-a", started_at=spec.when,
                             decided_at=spec.when)
            db.add(v)
            db.flush()
            seeded.verifications[spec.key] = v.id
            actor = _principal(staff[spec.staff])
            audit.record(db, actor, "verification.completed",
                         subject={"patient_id": patient, "couple_id": couple["id"], "cycle_id": cycle_id},
                         data={"verification_id": v.id, "stage": spec.stage, "decision": spec.decision,
                               "reasons": spec.reasons})
            if spec.override:
                o = Override(verification_id=v.id, reason_code=spec.override, note=None,
                             requested_by=staff[spec.staff], witness_id=staff["nurse2"], workstation_id="ws-a",
                             created_at=spec.when)
                db.add(o)
                v.overridden = True
                db.flush()
                audit.record(db, actor, "override.recorded",
                             subject={"patient_id": patient, "cycle_id": cycle_id},
                             data={"override_id": o.id, "verification_id": v.id, "stage": spec.stage,
                                   "original_decision": spec.decision, "reason_code": spec.override,
                                   "witness_staff_id": staff["nurse2"], "has_note": False})
        for status, who, key in ENROLMENTS:
            e = Enrollment(patient_id=ids[key], status=status, result={}, staff_id=staff[who],
                           workstation_id="ws-a", created_at=IN_MONTH)
            db.add(e)
            db.flush()
            event = "enrollment.duplicate_suspected" if status == "duplicate_suspected" else f"enrollment.{status}"
            audit.record(db, _principal(staff[who]), event, subject={"patient_id": ids[key]},
                         data={"enrollment_id": e.id})
        audit.record(db, _principal(staff["nurse1"]), "alert.repeated_rejects",
                     subject={"patient_id": ids["female"], "cycle_id": cycle_id}, data={"rejects_24h": 3})
        seeded.alerts_now = 1
        db.commit()
    return seeded


def in_month() -> list[CheckSpec]:
    return [c for c in CHECKS if c.in_month]
