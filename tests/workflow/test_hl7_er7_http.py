"""HL7 v2 as raw ER7 over HTTP, answered with an HL7 ACK (MSA AA/AE/AR with the sender's control id), beside the
JSON wrapper (issue 16.10). The ACKs are parsed back with hl7apy, as an interface engine would."""

from __future__ import annotations

from typing import Any

from hl7apy.parser import parse_message

ER7 = "x-application/hl7-v2+er7"
A04 = ("MSH|^~\\&|HIS|CLINIC|IDV|CLINIC|20261123101500||ADT^A04^ADT_A01|{control}|P|2.5\r"
       "EVN|A04|20261123101500\r"
       "PID|1||MRN901^^^HIS^MR~{number}^^^CHN^NNCHN||LI^NA^^^^^A~李^娜^^^^^L||19920101|F\r")
NUMBER = "320102199201011229"


def _msa(resp: Any) -> tuple[str, str, str | None]:
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(ER7), resp.text
    ack = parse_message(resp.text, find_groups=False)
    assert ack.msh.msh_9.msh_9_1.to_er7() == "ACK" and ack.msh.msh_5.to_er7() == "HIS"
    err = ack.err.err_5.to_er7() if ack.children.get("ERR") else None
    return ack.msa.msa_1.to_er7(), ack.msa.msa_2.to_er7(), err


def test_raw_er7_is_imported_and_acknowledged(db_url: str, make_app: Any) -> None:
    daemon = make_app(db_url)
    nurse, csrf = daemon.login("nurse1")
    h = {"X-CSRF-Token": csrf}
    resp = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": ER7},
                      content=A04.format(control="CTL-1", number=NUMBER).encode())
    assert _msa(resp) == ("AA", "CTL-1", None)
    found = nurse.post("/api/v1/patients/lookup", headers=h,
                       json={"document_type": "cn_resident_id", "document_number": NUMBER}).json()
    assert found["identity"]["name"] == "李娜" and found["external_id"] == "MRN901"
    # text/plain and another charset; the same patient again is idempotent and accepted
    gb = A04.format(control="CTL-2", number=NUMBER).encode("gb18030")
    resp = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": "text/plain; charset=GB18030"},
                      content=gb)
    assert _msa(resp) == ("AA", "CTL-2", None)
    # content refused: AE with the reason; nothing registered
    bad = A04.format(control="CTL-3", number="320102199201011228")
    resp = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": ER7}, content=bad.encode())
    assert _msa(resp) == ("AE", "CTL-3", "id_number_invalid^^idverify")
    # the message itself rejected: AR, still with its control id when there is one
    adt = A04.format(control="CTL-4", number=NUMBER).replace("ADT^A04^ADT_A01", "ORU^R01^ORU_R01")
    resp = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": ER7}, content=adt.encode())
    assert _msa(resp)[:2] == ("AR", "CTL-4")
    garbage = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": "text/plain"},
                         content=b"\xff\xfe not hl7")
    assert garbage.status_code == 200 and "MSA|AR|" in garbage.text
    # the JSON wrapper is unchanged; another media type is refused
    wrapped = nurse.post("/api/v1/patients/import/hl7v2", headers=h,
                         json={"message": A04.format(control="CTL-5", number=NUMBER)})
    assert wrapped.status_code == 201 and wrapped.json()["created"] is False
    xml = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": "application/xml"}, content=b"<x/>")
    assert xml.status_code == 415 and xml.json()["error"]["code"] == "unsupported_media_type"
    broken = nurse.post("/api/v1/patients/import/hl7v2", headers={**h, "Content-Type": "application/json"},
                        content=b"{not json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
