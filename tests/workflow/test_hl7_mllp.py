"""HL7 v2 over MLLP (issue 16.10): a real TCP socket to the daemon's listener, framed as an interface engine frames
it, ACKs parsed back with hl7apy. Both databases: the import writes patients and audit events."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from hl7apy.parser import parse_message

from idverify.api import mllp
from idverify.api.mllp import END, START, frame
from idverify.auth import service
from idverify.auth.roles import Role
from idverify.errors import IdverifyError

from ..servers import free_port

A04 = ("MSH|^~\\&|HIS|CLINIC|IDV|CLINIC|20261123101500||ADT^A04^ADT_A01|{control}|P|2.5{charset}\r"
       "EVN|A04|20261123101500\r"
       "PID|1||MRN{control}^^^HIS^MR~{number}^^^CHN^NNCHN||{name}||19920101|F\r")
NUMBER = "320102199201011229"  # valid check character, female


def _message(control: str, number: str = NUMBER, name: str = "李^娜^^^^^L", charset: str = "") -> str:
    tail = f"||||||{charset}" if charset else ""  # MSH-13..17 empty, MSH-18 the character set
    return A04.format(control=control, number=number, name=name, charset=tail)


def _ack(sock: socket.socket) -> tuple[str, str, str | None]:
    data = b""
    while not data.endswith(END + b"\r"):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the ACK ended: {data!r}"
        data += chunk
    assert data.startswith(START)
    ack = parse_message(data[1:-2].decode("utf-8"), find_groups=False)
    assert ack.msh.msh_9.msh_9_1.to_er7() == "ACK" and ack.msh.msh_5.to_er7() == "HIS"
    err = ack.err.err_5.to_er7() if ack.children.get("ERR") else None
    return ack.msa.msa_1.to_er7(), ack.msa.msa_2.to_er7(), err


def _daemon(make_app: Any, db_url: str | None, tmp_path: Path, *, role: Role = Role.NURSE) -> tuple[Any, Any, str]:
    key_file = tmp_path / "mllp.key"
    port = free_port()
    daemon = make_app(db_url, mllp_port=port, mllp_api_key_file=key_file)
    with daemon.app.state.ctx.session_factory() as db:
        issued = service.create_api_key(db, name="HIS interface engine", role=role, created_by=None,
                                        workstation_id=None, expires_in_days=None)
        db.commit()
        key_id = issued.key.id
    key_file.write_text(issued.token + "\n")
    return daemon, port, key_id


def test_mllp_imports_acknowledges_and_attributes(db_url: str, make_app: Any, tmp_path: Path) -> None:
    daemon, port, key_id = _daemon(make_app, db_url, tmp_path)
    with daemon.client() as client, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # two messages on one connection, a keep-alive newline between them: each answered, in order
        sock.sendall(frame(_message("C1")) + b"\r\n" + frame(_message("C2")))
        assert _ack(sock) == ("AA", "C1", None)
        assert _ack(sock) == ("AA", "C2", None)
        # GB 18030 as MSH-18 declares it (a Chinese HIS's usual encoding)
        gb = START + _message("C3", charset="GB 18030-2000").encode("gb18030") + END + b"\r"
        sock.sendall(gb)
        assert _ack(sock) == ("AA", "C3", None)
        # content refused: AE with our code; the connection stays usable
        sock.sendall(frame(_message("C4", number="320102199201011228")))
        assert _ack(sock) == ("AE", "C4", "id_number_invalid^^idverify")
        sock.sendall(frame(_message("C5").replace("ADT^A04^ADT_A01", "ORU^R01^ORU_R01")))
        assert _ack(sock)[:2] == ("AR", "C5")

        nurse, csrf = daemon.login("nurse1")
        found = nurse.post("/api/v1/patients/lookup", headers={"X-CSRF-Token": csrf},
                           json={"document_type": "cn_resident_id", "document_number": NUMBER})
        assert found.status_code == 200 and found.json()["identity"]["name"] == "李娜"
        inspector, _ = daemon.login("inspector")
        events = inspector.get("/api/v1/audit/events", params={"type": "patient.registered"}).json()
        registered = [e for e in events["items"] if e["type"] == "patient.registered"]
        assert len(registered) == 1  # C2 and C3 were the same person again: no second registration
        actor, data = registered[0]["actor"], registered[0]["data"]
        assert actor.get("api_key_id") == key_id and actor.get("staff_id") is None, actor
        assert data.get("integration") == "HIS interface engine", data
        health = client.get("/healthz").json()
        listener = next(c for c in health["components"] if c["kind"] == "interface")
        counts = (listener["received"], listener["accepted"], listener["refused"])
        assert listener["status"] == "ok" and counts == (5, 3, 2)


def test_mllp_refuses_broken_frames_and_revoked_keys(make_app: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mllp, "FRAME_TIMEOUT_S", 0.5)
    daemon, port, key_id = _daemon(make_app, None, tmp_path)
    with daemon.client() as client:
        # a frame begun and never finished (a slow or stuck sender): AR once the frame time is up, then closed
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(START + _message("SLOW").encode()[:75])
            assert _ack(sock) == ("AR", "SLOW", "hl7_invalid^^idverify")
            assert sock.recv(10) == b""
        # a frame longer than the limit: AR with the sender's control id, then the connection is closed
        huge = _message("BIG").replace("EVN|A04|", "EVN|A04|" + "x" * 300_000)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(frame(huge))
            assert _ack(sock) == ("AR", "BIG", "hl7_invalid^^idverify")
            assert sock.recv(10) == b""
        # a sender that leaves mid-frame takes nothing with it; the listener serves the next connection
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(START + _message("HALF").encode()[:40])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(frame(_message("OK1")))
            assert _ack(sock) == ("AA", "OK1", None)
            # the key is revoked by IT: the next message is rejected with the reason, nothing is registered
            with daemon.app.state.ctx.session_factory() as db:
                service.revoke_api_key(db, key_id)
                db.commit()
            sock.sendall(frame(_message("OK2", number="110101199003074565")))
            assert _ack(sock) == ("AR", "OK2", "token_revoked^^idverify")
        nurse, csrf = daemon.login("nurse1")
        missing = nurse.post("/api/v1/patients/lookup", headers={"X-CSRF-Token": csrf},
                             json={"document_type": "cn_resident_id", "document_number": "110101199003074565"})
        assert missing.status_code == 404
        listener = next(c for c in client.get("/healthz").json()["components"] if c["kind"] == "interface")
        assert listener["status"] == "degraded" and "token_revoked" in listener["detail"]


def test_mllp_without_a_key_file_stops_the_daemon(make_app: Any, tmp_path: Path) -> None:
    daemon = make_app(None, mllp_port=free_port())
    with pytest.raises(IdverifyError, match="IDVERIFY_MLLP_API_KEY_FILE"), daemon.client():
        pass
