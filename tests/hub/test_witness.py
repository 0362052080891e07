"""The witness endpoint, by the C2SP tlog-witness rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from idverify.hub.models import HubAction, HubAlert, HubClinic, HubCosignature, HubRefusal
from idverify.ledger.cosignature import verify_cosignatures
from idverify.ledger.witness_protocol import add_checkpoint_body

from .conftest import MemoryLog

PATH = "/witness/add-checkpoint"


def _post(client: Any, body: bytes) -> Any:
    return client.post(PATH, content=body, headers={"content-type": "text/plain"})


def _state(hub: Any, origin: str) -> tuple[int, int, int, int]:
    with hub.session() as s:
        clinic = s.scalar(select(HubClinic).where(HubClinic.origin == origin))
        cos = s.scalar(select(func.count()).select_from(HubCosignature)) or 0
        ref = s.scalar(select(func.count()).select_from(HubRefusal)) or 0
        alerts = s.scalar(select(func.count()).select_from(HubAlert)) or 0
        return int(clinic.witness_size), cos, ref, alerts


def test_cosigns_a_consistent_history_and_answers_by_the_protocol(make_hub: Any, hub_db_url: str) -> None:
    hub = make_hub(hub_db_url)
    log = MemoryLog()
    hub.register(log)
    client = hub.client()
    witness_key = hub.ctx.witness.key

    log.grow(5)
    resp = _post(client, log.body(0))
    assert resp.status_code == 200, resp.text
    lines = resp.text
    assert lines.startswith("\u2014 ") and lines.endswith("\n")
    # the answer is a cosignature/v1 line that verifies on the checkpoint we sent
    found = verify_cosignatures(log.note(5) + lines, [witness_key])
    assert len(found) == 1
    assert _state(hub, log.origin)[:2] == (5, 1)

    log.grow(8)
    assert _post(client, log.body(5)).status_code == 200
    # the same size again with the same root is cosigned again (a re-submission), nothing rolls back
    assert _post(client, log.body(13, 13)).status_code == 200
    assert _state(hub, log.origin) == (13, 3, 0, 0)

    # stale old size: 409 with exactly text/x.tlog.size and the latest cosigned size
    stale = _post(client, log.body(5))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "text/x.tlog.size"
    assert stale.text == "13\n"
    # a client without state asks with old 0 and learns the size
    first = _post(client, log.body(0))
    assert (first.status_code, first.text) == (409, "13\n")
    # the stale submissions were recorded (valid signature) but raised no alert
    assert _state(hub, log.origin) == (13, 3, 2, 0)


def test_a_rewritten_history_is_refused_recorded_and_alerted(make_hub: Any, hub_db_url: str) -> None:
    hub = make_hub(hub_db_url)
    log = MemoryLog()
    hub.register(log, "Clinic B")
    client = hub.client()
    log.grow(10)
    assert _post(client, log.body(0)).status_code == 200
    # the clinic rewrites entry 3 and re-signs: its tree at 10 (and later) no longer extends the cosigned one
    forged = MemoryLog(signer=log.signer, leaves=list(log.leaves))  # notes signed afresh
    forged.leaves[3] = b"\x07" * 32
    forged.grow(4, tag="more")
    resp = _post(client, forged.body(10))
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "bad_proof"
    # same size, different root: 409 with the size body
    same = _post(client, forged.body(10, 10))
    assert (same.status_code, same.text, same.headers["content-type"]) == (409, "10\n", "text/x.tlog.size")
    size, cosigned, refused, alerts = _state(hub, log.origin)
    assert (size, cosigned, refused, alerts) == (10, 1, 2, 2)
    with hub.session() as s:
        refusal = s.scalars(select(HubRefusal).order_by(HubRefusal.id)).first()
        assert refusal.reason == "bad_proof" and refusal.tree_size == 14 and refusal.witness_size == 10
        assert refusal.body.startswith("old 10\n") and forged.origin in refusal.body  # the evidence, verbatim
        alert = s.scalars(select(HubAlert).order_by(HubAlert.id)).first()
        assert alert.kind == "checkpoint_refused" and alert.status == "open"
        assert alert.evidence[0]["refusal_id"] == refusal.id
    # the genuine log continues to be cosigned
    log.grow(2)
    assert _post(client, log.body(10)).status_code == 200


def test_bad_input_is_answered_4xx_and_changes_nothing(make_hub: Any, hub_db_url: str) -> None:
    hub = make_hub(hub_db_url)
    log = MemoryLog()
    hub.register(log)
    client = hub.client()
    log.grow(6)
    assert _post(client, log.body(0, 4)).status_code == 200
    before = _state(hub, log.origin)

    stranger = MemoryLog()
    stranger.grow(6)
    assert _post(client, stranger.body(0)).status_code == 404  # unknown origin

    impostor = MemoryLog(leaves=list(log.leaves))  # right origin line, wrong key
    note = impostor.note(6).replace(impostor.origin, log.origin)
    assert _post(client, add_checkpoint_body(4, log.consistency(4, 6), note)).status_code == 403

    good = log.note(6)
    tampered = good.replace(base64.b64encode(log.root(6)).decode(), base64.b64encode(b"\x01" * 32).decode())
    assert _post(client, add_checkpoint_body(4, log.consistency(4, 6), tampered)).status_code == 403

    assert _post(client, add_checkpoint_body(7, [], good)).status_code == 400  # old size above checkpoint size
    malformed = [
        b"",
        b"old 04\n\n" + good.encode(),
        b"old 4\n" + b"AAAA\n" * 2 + b"\n" + good.encode(),  # proof hash not 32 bytes
        b"old 4\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 64 + b"\n" + good.encode(),  # 64 proof lines
        b"old 4\n" + good.encode(),  # no blank line after the proof
        b"old 4\n\n" + good.replace("\n\n", "\n").encode(),  # checkpoint without signature block
        b"old 4\n\n\xff\xfe" + good.encode(),  # not UTF-8
        b"old 0\n" + base64.b64encode(b"\x00" * 32) + b"\n\n" + good.encode(),  # proof with old 0
    ]
    for body in malformed:
        resp = _post(client, body)
        assert resp.status_code == 400, body[:40]
        assert resp.json()["error"]["code"] == "malformed_request"
    bad_proof = _post(client, add_checkpoint_body(4, [b"\x00" * 32] * len(log.consistency(4, 6)), good))
    assert bad_proof.status_code == 422
    size, cosigned, _refused, _alerts = _state(hub, log.origin)
    assert (size, cosigned) == before[:2]  # nothing cosigned, state unchanged
    # only validly signed refusals are recorded: the 400 (old above size) and the 422; not 403/404/malformed
    with hub.session() as s:
        reasons = sorted(r.reason for r in s.scalars(select(HubRefusal)))
    assert reasons == ["bad_proof", "old_size_above_checkpoint"]


def test_every_witness_action_lands_in_the_hub_ledger(make_hub: Any, hub_db_url: str, tmp_path: Any) -> None:
    from idverify.hub.scheduler import drain_and_checkpoint
    from idverify.ledger.checkpoint import verifier_key
    from idverify.ledger.export import export_jsonl
    from idverify.ledger.verify import verify_export

    hub = make_hub(hub_db_url)
    log = MemoryLog()
    hub.register(log)
    client = hub.client()
    log.grow(3)
    assert _post(client, log.body(0)).status_code == 200
    assert _post(client, log.body(0)).status_code == 409
    moved = drain_and_checkpoint(hub.ctx.session_factory, hub.ctx.ledger_signer, checkpoint=True)
    assert moved == 3  # clinic.registered, witness.cosigned, witness.refused
    with hub.session() as s:
        assert s.scalar(select(func.count()).select_from(HubAction).where(HubAction.ledger_index.is_(None))) == 0
        out = tmp_path / "hub-ledger.jsonl"
        with out.open("w") as fh:
            export_jsonl(s, fh, clinic="hub")
    signer = hub.ctx.ledger_signer
    result = verify_export(out, verifier_key(signer.origin, signer.public_key))
    assert result.entries == 3
    types = [line for line in out.read_text().splitlines() if '"type":"entry"' in line]
    assert '"type":"hub.witness.cosigned"' in types[1] and '"type":"hub.witness.refused"' in types[2]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 100])
def test_consistency_from_every_earlier_size(make_hub: Any, size: int) -> None:
    hub = make_hub()
    log = MemoryLog()
    hub.register(log)
    client = hub.client()
    log.grow(size)
    assert _post(client, log.body(0)).status_code == 200
    log.grow(37)
    assert _post(client, log.body(size)).status_code == 200


def test_a_state_remembered_by_one_hub_process_never_changes_an_answer(make_hub: Any, hub_db_url: str) -> None:
    """Two hub processes on one database (two apps here, each with its engine and state cache): each answers
    from the state it last saw when it can, and from a fresh read whenever the other one moved the log, the
    clinic was suspended or its key replaced — never from a stale premise."""
    a = make_hub(hub_db_url)
    b = make_hub(hub_db_url)
    log = MemoryLog()
    clinic_id = a.register(log)
    ca, cb = a.client(), b.client()

    log.grow(4)
    assert _post(ca, log.body(0)).status_code == 200  # A remembers size 4
    log.grow(4)
    assert _post(cb, log.body(4)).status_code == 200  # B moves the log to 8 behind A's back
    stale = _post(ca, log.body(4, 8))  # A's remembered premise is gone: a fresh read says 8
    assert (stale.status_code, stale.text) == (409, "8\n")
    log.grow(2)
    assert _post(ca, log.body(8)).status_code == 200  # built on the real state: cosigned
    assert _state(a, log.origin)[:2] == (10, 3)

    # B remembers size 8 only; A remembers 10. Suspend the clinic: neither may cosign from memory.
    with a.session() as s:
        s.get(HubClinic, clinic_id).status = "suspended"
        s.commit()
    log.grow(2)
    assert _post(ca, log.body(10)).status_code == 404
    with a.session() as s:
        s.get(HubClinic, clinic_id).status = "active"
        s.commit()
    assert _post(ca, log.body(10)).status_code == 200  # A remembers 12 now
    # the key is replaced (say, after a compromise): a checkpoint signed by the old key is refused
    other = MemoryLog()
    with a.session() as s:
        s.get(HubClinic, clinic_id).public_key = other.signer.public_key
        s.commit()
    log.grow(2)
    assert _post(ca, log.body(12)).status_code == 403
    assert _state(a, log.origin)[:2] == (12, 4)
    with a.session() as s:
        rows = s.execute(select(HubCosignature.old_size, HubCosignature.tree_size)
                         .order_by(HubCosignature.id)).all()
    assert [tuple(r) for r in rows] == [(0, 4), (4, 8), (8, 10), (10, 12)]


def test_a_connection_that_died_in_the_pool_costs_no_answer(make_hub: Any, pg_schema_url: str) -> None:
    """The hub's engine does not ping a pooled connection before each request (a round trip each): when
    PostgreSQL closed it meanwhile (a restart, an idle timeout), the witness repeats its first statement on a
    new connection — whether that statement is the compare-and-swap (a remembered state) or the state read."""
    from sqlalchemy import create_engine, text

    name = f"idverify-test-{uuid.uuid4().hex[:12]}"  # PostgreSQL only: SQLite has no server closing connections
    hub_db_url = f"{pg_schema_url}{'&' if '?' in pg_schema_url else '?'}application_name={name}"
    hub = make_hub(hub_db_url)
    log = MemoryLog()
    hub.register(log)
    client = hub.client()
    admin = create_engine(pg_schema_url)  # not under the hub's application name: it must survive the kills

    def kill_pooled() -> None:  # every connection of this hub: its pool's and the group commit's own
        with admin.begin() as conn:
            killed = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE application_name = :name"), {"name": name})
        assert killed

    try:
        log.grow(3)
        assert _post(client, log.body(0)).status_code == 200
        kill_pooled()
        log.grow(3)
        assert _post(client, log.body(3)).status_code == 200  # remembered state: the CAS is the first statement
        kill_pooled()
        stale = _post(client, log.body(3))  # not the remembered size: the state read is the first statement
        assert (stale.status_code, stale.text) == (409, "6\n")
        assert _state(hub, log.origin)[:2] == (6, 2)
    finally:
        admin.dispose()


def test_concurrent_submissions_share_commits_and_a_bad_one_fails_alone(
        make_hub: Any, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's group commit: twelve clinics submitting at once from twelve threads are all cosigned, each
    with its history and outbox row; a submission whose row the database refuses (a NUL in the note, which
    PostgreSQL text cannot hold) fails alone — the rows written with it are written again one by one."""
    import threading

    from idverify.hub import repository as repo
    from idverify.hub import witness
    from idverify.ledger.witness_protocol import parse_add_checkpoint

    hub = make_hub(pg_schema_url)
    logs = [MemoryLog() for _ in range(12)]
    client = hub.client()
    for i, log in enumerate(logs):
        hub.register(log, f"Clinic {i}")
        log.grow(4)
        assert _post(client, log.body(0)).status_code == 200  # remembered: the next one takes the group commit
        log.grow(3)
    bad = logs[5]
    bad_note = parse_add_checkpoint(bad.body(4)).note_text
    batches: list[int] = []
    record, new_row = repo.record_cosignatures, repo.NewCosignature

    def counted(engine: Any, driver: Any, batch: Any) -> set[str]:
        batches.append(len(batch))
        return record(engine, driver, batch)

    def poisoned(**fields: Any) -> Any:
        if fields["note"] == bad_note:
            fields["note"] += "\x00"
        return new_row(**fields)

    monkeypatch.setattr(repo, "record_cosignatures", counted)
    monkeypatch.setattr(repo, "NewCosignature", poisoned)
    start = threading.Barrier(len(logs))
    outcomes: dict[int, Any] = {}

    def submit(i: int) -> None:
        req = parse_add_checkpoint(logs[i].body(4))
        start.wait()
        try:
            outcomes[i] = witness.add_checkpoint(hub.ctx.session_factory, hub.ctx.witness, req).tree_size
        except Exception as exc:  # asserted below
            outcomes[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(logs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [outcomes[i] for i in range(len(logs)) if logs[i] is not bad] == [7] * 11
    assert isinstance(outcomes[5], Exception) and "NUL" in str(outcomes[5])
    assert sum(batches) >= len(logs)  # every row was written: in its batch, or alone after a batch it failed
    with hub.session() as s:
        assert s.scalar(select(func.count()).select_from(HubCosignature)) == 12 + 11
        assert s.scalar(select(func.count()).select_from(HubAction)
                        .where(HubAction.kind == "witness.cosigned")) == 12 + 11
        witnessed = {origin: size for origin, size in s.execute(select(HubClinic.origin, HubClinic.witness_size))}
    assert witnessed == {log.origin: 4 if log is bad else 7 for log in logs}
