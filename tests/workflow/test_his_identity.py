"""Identity data from the nurse and the HIS: ID numbers checked (GB 11643 check character, birth date, sex), the
national resident-ID identifier OID, and the legal name preferred over an alias (issue 16.7–16.9)."""

from __future__ import annotations

from typing import Any

import pytest

from idverify.documents.cn_id import id_number_problems
from idverify.workflow import his

NUMBER = "320102199201011229"  # born 1992-01-01, female (17th digit even), right check character
A04 = ("MSH|^~\\&|HIS|CLINIC|IDV|CLINIC|20261123101500||ADT^A04^ADT_A01|MSG0002|P|2.5\r"
       "PID|1||{number}^^^CHN^NNCHN||{name}||{birth}|{sex}\r")


def _a04(number: str = NUMBER, name: str = "王^小红", birth: str = "19920101", sex: str = "F") -> str:
    return A04.format(number=number, name=name, birth=birth, sex=sex)


def _fhir(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient", "gender": "female", "birthDate": "1992-01-01",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": NUMBER}],
        "name": [{"family": "王", "given": ["小红"]}],
    }
    return {**resource, **changes}


@pytest.mark.parametrize(("number", "birth", "sex", "problems"), [
    (NUMBER, "1992-01-01", "F", []),
    (NUMBER, None, "X", []),
    ("320102199201011228", "1992-01-01", "F", ["number_check_character"]),
    (NUMBER, "1992-01-02", "F", ["birth_date_mismatch"]),
    (NUMBER, "1992-01-01", "M", ["sex_mismatch"]),
])
def test_id_number_rules(number: str, birth: str | None, sex: str, problems: list[str]) -> None:
    from datetime import date

    assert id_number_problems(number, birth_date=date.fromisoformat(birth) if birth else None, sex=sex) == problems


def _nurse(daemon: Any) -> tuple[Any, dict[str, str]]:
    client, csrf = daemon.login("nurse1")
    return client, {"X-CSRF-Token": csrf}


def _ledger_types(daemon: Any) -> list[str]:
    from sqlalchemy import select

    from idverify.ledger.models import LedgerEntry

    with daemon.app.state.ctx.session_factory() as db:
        return [e.event_type for e in db.scalars(select(LedgerEntry)) if not e.event_type.startswith("staff.")]


def test_wrong_or_contradicted_id_numbers_are_refused_not_registered(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, h = _nurse(daemon)
    manual = {"document_type": "cn_resident_id", "document_number": "320102199201011228", "name": "王小红",
              "sex": "F", "birth_date": "1992-01-01"}
    resp = nurse.post("/api/v1/patients", json=manual, headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "id_number_invalid"
    assert resp.json()["error"]["details"] == {"problems": ["number_check_character"]}
    assert "320102199201011228" not in resp.text
    for message, problem in ((_a04(birth="19920102"), "birth_date_mismatch"), (_a04(sex="M"), "sex_mismatch"),
                             (_a04(number="320102199201011228"), "number_check_character")):
        resp = nurse.post("/api/v1/patients/import/hl7v2", json={"message": message}, headers=h)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "id_number_invalid"
        assert resp.json()["error"]["details"]["problems"] == [problem]
    resp = nurse.post("/api/v1/patients/import/fhir", json=_fhir(gender="male"), headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["details"]["problems"] == ["sex_mismatch"]
    assert _ledger_types(daemon) == []
    ok = nurse.post("/api/v1/patients/import/hl7v2", json={"message": _a04()}, headers=h)
    assert ok.status_code == 201 and _ledger_types(daemon) == ["patient.registered"]


def test_resident_id_oid_without_type_coding_is_a_resident_id() -> None:
    parsed = his.from_fhir(_fhir())
    assert parsed.identity.document_type == "cn_resident_id" and parsed.identity.document_number == NUMBER
    typed = his.from_fhir(_fhir(identifier=[{"type": {"coding": [{"code": "NNCHN"}]}, "value": NUMBER}]))
    assert typed.identity.document_type == "cn_resident_id"
    # another national OID (a health record number, not an ID number) is not taken for one
    other = _fhir(identifier=[{"system": "urn:oid:2.16.156.10011.1.1", "value": NUMBER}])
    with pytest.raises(Exception, match="no identity document"):
        his.from_fhir(other)


def test_legal_name_wins_over_the_alias() -> None:
    assert his.from_hl7v2(_a04(name="LI^NA^^^^^A~李^娜^^^^^L")).identity.name == "李娜"
    assert his.from_hl7v2(_a04(name="李^娜^^^^^L~LI^NA^^^^^A")).identity.name == "李娜"
    assert his.from_hl7v2(_a04(name="LI^NA")).identity.name == "NA LI"  # only one name: that one
    names = [{"use": "usual", "family": "Li", "given": ["Na"]}, {"use": "official", "family": "李", "given": ["娜"]}]
    assert his.from_fhir(_fhir(name=names)).identity.name == "李娜"
    assert his.from_fhir(_fhir(name=[names[0]])).identity.name == "Na Li"
