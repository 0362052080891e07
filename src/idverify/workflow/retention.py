"""Retention: biometric data is deleted when the rules say so, by a job, not by hand.

- Raw samples (face frames, finger images, document photos) are never written unless
  ``IDVERIFY_RAW_IMAGE_RETENTION_HOURS`` > 0; those that were are deleted once their ``delete_after`` passed.
- Templates are kept while a patient has an open cycle, and for ``IDVERIFY_TEMPLATE_RETENTION_DAYS`` after the
  last of their cycles closed; then they are deleted. A patient without any cycle keeps templates for the same
  period after enrolment (so a registered-but-never-treated person does not stay enrolled for ever).
Each purge writes one audit event with the counts (ids only). The ledger keeps its events: they hold no
biometric data, so the audit trail survives the deletion of what it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from idverify import audit
from idverify.config import Settings
from idverify.periodic import PeriodicJob
from idverify.store.base import utcnow
from idverify.store.db import reclaim_deleted
from idverify.store.models import BiometricSample, BiometricTemplate, Couple, Cycle


@dataclass(frozen=True)
class PurgeReport:
    samples: int
    templates: int
    patients: int


def _patients_past_retention(db: Session, cutoff: datetime) -> list[str]:
    enrolled = set(db.scalars(select(BiometricTemplate.patient_id).distinct()))
    if not enrolled:
        return []
    due: list[str] = []
    for patient_id in enrolled:
        cycles = db.execute(
            select(Cycle.status, Cycle.closed_at).join(Couple, Couple.id == Cycle.couple_id).where(
                or_(Couple.female_patient_id == patient_id, Couple.male_patient_id == patient_id))).all()
        if any(c.status == "open" for c in cycles):
            continue
        if cycles:
            last_closed = max(c.closed_at for c in cycles if c.closed_at is not None)
            if last_closed < cutoff:
                due.append(patient_id)
        else:
            newest = db.scalar(select(func.max(BiometricTemplate.created_at))
                               .where(BiometricTemplate.patient_id == patient_id))
            if newest is not None and newest < cutoff:
                due.append(patient_id)
    return due


def purge(db: Session, settings: Settings, *, now: datetime | None = None) -> PurgeReport:
    now = now or utcnow()
    samples = db.execute(delete(BiometricSample).where(BiometricSample.delete_after.is_not(None),
                                                       BiometricSample.delete_after <= now)).rowcount or 0  # type: ignore[attr-defined]
    due = _patients_past_retention(db, now - timedelta(days=settings.template_retention_days))
    templates = 0
    for patient_id in due:
        removed = db.execute(delete(BiometricTemplate).where(BiometricTemplate.patient_id == patient_id))
        templates += removed.rowcount or 0  # type: ignore[attr-defined]
        # the enrolment photo (a sample without delete_after) lives exactly as long as the templates
        photos = db.execute(delete(BiometricSample).where(BiometricSample.patient_id == patient_id))
        samples += photos.rowcount or 0  # type: ignore[attr-defined]
    report = PurgeReport(samples=int(samples), templates=int(templates), patients=len(due))
    if samples or templates:
        audit.record(db, audit.system_actor(settings.workstation_id), "retention.purged",
                     data={"samples": report.samples, "templates": report.templates, "patients": due,
                           "template_retention_days": settings.template_retention_days})
    return report


class RetentionJob(PeriodicJob):
    """Runs :func:`purge` at start and then hourly."""

    name = "retention"

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings, interval_s: float = 3600) -> None:
        super().__init__(interval_s)
        self._factory = session_factory
        self._settings = settings
        self.last: PurgeReport | None = None

    def run_once(self) -> PurgeReport:
        with self._factory() as db:
            report = purge(db, self._settings)
            db.commit()
            engine = db.get_bind()
        if report.samples or report.templates:
            reclaim_deleted(engine, ("biometric_templates", "biometric_samples"))  # type: ignore[arg-type]
        self.last = report
        return report
