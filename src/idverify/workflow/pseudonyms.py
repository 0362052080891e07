"""Assign regional pseudonyms to patients registered before the regional key was installed, or under an older
key (after the commission rotated it): a ``patient.pseudonym_assigned`` event per patient, carrying the pseudonym
and the key id, in the patient's own transaction. Runs at start and hourly while ``IDVERIFY_REGION_KEY_FILE`` is
set; each round handles a bounded batch so a large clinic catches up without a long lock.

The document number is read from the sealed identity (never logged); only the keyed hash leaves this module.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from idverify import audit
from idverify.config import Settings
from idverify.periodic import PeriodicJob
from idverify.store.keys import Keys
from idverify.workflow.patients import identity_of
from idverify.workflow.repositories import patients as repo

BATCH = 200


def assign_pseudonyms(db: Session, keys: Keys, workstation: str, *, limit: int = BATCH) -> int:
    """Record pseudonyms under the current regional key for up to ``limit`` patients lacking one; commits."""
    region = keys.region
    if region is None:
        return 0
    patients = repo.without_region_pseudonym(db, region.key_id, limit=limit)
    for patient in patients:
        number = identity_of(keys, patient).get("document_number")
        if not number:
            continue
        patient.region_key_id = region.key_id
        audit.record(db, audit.system_actor(workstation), "patient.pseudonym_assigned",
                     subject={"patient_id": patient.id},
                     data={"region_pseudonym": region.pseudonym(patient.document_type, str(number)),
                           "region_key_id": region.key_id})
    db.commit()
    return len(patients)


class PseudonymBackfill(PeriodicJob):
    name = "pseudonyms"

    def __init__(self, factory: sessionmaker[Session], keys: Keys, settings: Settings) -> None:
        super().__init__(interval_s=3600)
        self._factory = factory
        self._keys = keys
        self._workstation = settings.workstation_id

    def run_once(self) -> int:
        total = 0
        while True:
            with self._factory() as db:
                done = assign_pseudonyms(db, self._keys, self._workstation)
            total += done
            if done < BATCH:
                return total
