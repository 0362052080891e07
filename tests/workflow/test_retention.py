"""Retention deletes templates after the cycle closes + the configured period, and expired raw samples."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from idverify.ledger.models import LedgerEntry
from idverify.store.base import utcnow
from idverify.store.models import BiometricSample, BiometricTemplate, Couple, Cycle, Patient
from idverify.workflow.retention import purge


def _patient(db: Any, keys: Any, n: int) -> str:
    p = Patient(sex="F", document_type="passport", document_lookup=keys.lookup.digest(f"E{n}"),
                identity=keys.ring.encrypt(b"{}", "patient:x"), kek_id=keys.ring.active_id)
    db.add(p)
    db.flush()
    db.add(BiometricTemplate(patient_id=p.id, modality="fingerprint", algorithm_version="t",
                             envelope=b"x" * 64, kek_id="k"))
    return p.id


def test_purge_follows_the_rules(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url, template_retention_days=30)
    ctx = daemon.app.state.ctx
    now = utcnow()
    with ctx.session_factory() as db:
        closed_long_ago = _patient(db, ctx.keys, 1)
        closed_recently = _patient(db, ctx.keys, 2)
        still_treated = _patient(db, ctx.keys, 3)
        for pid, status, closed in ((closed_long_ago, "closed", now - timedelta(days=31)),
                                    (closed_recently, "closed", now - timedelta(days=5)),
                                    (still_treated, "open", None)):
            couple = Couple(female_patient_id=pid)
            db.add(couple)
            db.flush()
            db.add(Cycle(couple_id=couple.id, kind="fet", stages=["frozen_embryo_transfer"], status=status,
                         closed_at=closed))
        db.add(BiometricSample(patient_id=still_treated, kind="face_frame", media_type="image/jpeg",
                               envelope=b"y" * 64, kek_id="k", delete_after=now - timedelta(minutes=1)))
        db.add(BiometricSample(patient_id=still_treated, kind="face_frame", media_type="image/jpeg",
                               envelope=b"z" * 64, kek_id="k", delete_after=now + timedelta(hours=1)))
        db.commit()
        report = purge(db, daemon.settings)
        db.commit()
        assert (report.templates, report.patients, report.samples) == (1, 1, 1)
        left = set(db.scalars(select(BiometricTemplate.patient_id)))
        assert left == {closed_recently, still_treated}
        assert db.scalar(select(func.count()).select_from(BiometricSample)) == 1
        event = db.scalars(select(LedgerEntry).where(LedgerEntry.event_type == "retention.purged")).one()
        assert closed_long_ago in event.canonical
        again = purge(db, daemon.settings)
        assert (again.templates, again.samples) == (0, 0)
