"""``GET /cycles/{id}/stages/{stage}/subject`` names the fingers the stage's subject enrolled, so the check screen
can ask for one of them: positions only (nothing biometric), first-enrolled first, empty before any enrolment,
and nurses only like the rest of the route.

Template rows are written directly (their envelopes are never opened by this route), with one shared timestamp as
one enrolment's flush can give them: the order must come from the enrolment, not from the clock."""

from __future__ import annotations

from typing import Any

from idverify.store.base import utcnow
from idverify.store.models import BiometricTemplate, Enrollment

FEMALE = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "测试女", "sex": "F"}
MALE = {"document_type": "cn_resident_id", "document_number": "110101198805061235", "name": "测试男", "sex": "M"}


def _enrolled_with(daemon: Any, patient_id: str, positions: list[str]) -> None:
    """A completed enrolment that accepted ``positions`` in this order, and its fingerprint (and face) rows."""
    ctx = daemon.app.state.ctx
    when = utcnow()
    with ctx.session_factory() as db:
        db.add(Enrollment(patient_id=patient_id, status="complete", workstation_id="ws-a", completed_at=when,
                          result={"fingers": {"accepted": positions}}))
        db.add(BiometricTemplate(patient_id=patient_id, modality="face", algorithm_version="t", envelope=b"x",
                                 kek_id=ctx.keys.ring.active_id, created_at=when))
        for position in reversed(positions):  # inserted against enrolment order, at the same instant
            db.add(BiometricTemplate(patient_id=patient_id, modality="fingerprint", position=position,
                                     algorithm_version="t", envelope=b"x", kek_id=ctx.keys.ring.active_id,
                                     created_at=when))
        db.commit()


def test_subject_lists_enrolled_finger_positions_in_enrolment_order(make_app: Any) -> None:
    daemon = make_app()
    nurse, csrf = daemon.login("nurse1")
    h = {"X-CSRF-Token": csrf}
    ids = {key: nurse.post("/api/v1/patients", json=person, headers=h).json()["patient"]["id"]
           for key, person in (("f", FEMALE), ("m", MALE))}
    couple = nurse.post("/api/v1/couples", json={"female_patient_id": ids["f"], "male_patient_id": ids["m"]},
                        headers=h).json()
    cycle = nurse.post("/api/v1/cycles", json={"couple_id": couple["id"], "kind": "ivf"}, headers=h).json()
    url = f"/api/v1/cycles/{cycle['id']}/stages/{{stage}}/subject"

    # not enrolled yet: no fingers to ask for
    before = nurse.get(url.format(stage="egg_retrieval"))
    assert before.status_code == 200
    assert before.json()["people"] == [{"partner": "female", "patient_id": ids["f"], "name": FEMALE["name"],
                                        "enrolled": False, "films_face": True, "challenge": False, "fingers": []}]

    _enrolled_with(daemon, ids["f"], ["left_middle", "right_thumb"])
    person = nurse.get(url.format(stage="egg_retrieval")).json()["people"][0]
    assert person["enrolled"] is True
    assert person["fingers"] == ["left_middle", "right_thumb"]
    # nothing biometric
    assert set(person) == {"partner", "patient_id", "name", "enrolled", "films_face", "challenge", "fingers"}

    # the male partner at sperm retrieval: his own (still empty) list, not hers
    him = nurse.get(url.format(stage="sperm_retrieval")).json()["people"]
    assert [(p["partner"], p["fingers"]) for p in him] == [("male", [])]

    # other roles: 403 as for the rest of the route
    for username in ("admin", "inspector"):
        other, _ = daemon.login(username)
        refused = other.get(url.format(stage="egg_retrieval"))
        assert refused.status_code == 403
        assert "fingers" not in refused.text
