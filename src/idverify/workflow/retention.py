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

from sqlalchemy.orm import Session, sessionmaker

from idverify import audit
from idverify.config import Settings
from idverify.periodic import PeriodicJob
from idverify.store.base import utcnow
from idverify.store.db import reclaim_deleted
from idverify.workflow.repositories import cycles, samples, templates


@dataclass(frozen=True)
class PurgeReport:
    samples: int
    templates: int
    patients: int


def _patients_past_retention(db: Session, cutoff: datetime) -> list[str]:
    enrolled = templates.enrolled_patient_ids(db)
    if not enrolled:
        return []
    due: list[str] = []
    for patient_id in enrolled:
        states = cycles.states_of_patient(db, patient_id)
        if any(status == "open" for status, _ in states):
            continue
        if states:
            last_closed = max(closed for _, closed in states if closed is not None)
            if last_closed < cutoff:
                due.append(patient_id)
        else:
            newest = templates.newest_created_at(db, patient_id)
            if newest is not None and newest < cutoff:
                due.append(patient_id)
    return due


def purge(db: Session, settings: Settings, *, now: datetime | None = None) -> PurgeReport:
    now = now or utcnow()
    removed_samples = samples.delete_expired(db, now)
    due = _patients_past_retention(db, now - timedelta(days=settings.template_retention_days))
    removed_templates = 0
    for patient_id in due:
        removed_templates += templates.delete_of_patient(db, patient_id)
        # the enrolment photo (a sample without delete_after) lives exactly as long as the templates
        removed_samples += samples.delete_of_patient(db, patient_id)
    report = PurgeReport(samples=removed_samples, templates=removed_templates, patients=len(due))
    if removed_samples or removed_templates:
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
