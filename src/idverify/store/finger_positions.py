"""Which fingers a patient has on file: finger positions only, read from the template rows' plain columns.

The stage check names these fingers to the patient ("place the left index finger"), because a captured finger is
compared only with the enrolled template of the same position. Nothing here opens an envelope: no template, no
score, no quality leaves this module.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idverify.store.models import BiometricTemplate, Enrollment


def enrolled_finger_positions(db: Session, patient_id: str) -> list[str]:
    """The positions of the patient's fingerprint templates, each once, in the order the latest completed
    enrolment accepted them (its first finger is the one to ask for first). Template rows of one enrolment share
    a flush and may share a timestamp, so the enrolment's own list gives the order; positions it does not list
    (e.g. from an older enrolment) follow by age. A template stored without a position counts as ``unknown``."""
    stored = db.scalars(select(BiometricTemplate.position)
                        .where(BiometricTemplate.patient_id == patient_id, BiometricTemplate.modality == "fingerprint")
                        .order_by(BiometricTemplate.created_at)).all()
    positions = list(dict.fromkeys(p or "unknown" for p in stored))
    latest = db.scalar(select(Enrollment.result)
                       .where(Enrollment.patient_id == patient_id, Enrollment.status == "complete")
                       .order_by(Enrollment.completed_at.desc(), Enrollment.created_at.desc()).limit(1))
    accepted = (latest or {}).get("fingers", {}).get("accepted", [])
    order = {p: i for i, p in enumerate(dict.fromkeys(a for a in accepted if isinstance(a, str)))}
    return sorted(positions, key=lambda p: order.get(p, len(order)))
