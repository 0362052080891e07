"""The feed: signed, resumable, idempotent batches, accepted only when they verify against the witnessed tree."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from idverify.hub.models import HubClinic, HubEntry
from idverify.ledger.witness_client import FEED_ENTRIES_PATH, FEED_STATE_PATH, HubClient

from .conftest import Hub, MemoryLog


def _event(i: int) -> dict[str, Any]:
    return {"type": "verification.completed", "occurred_at": "2026-12-01T08:00:00+08:00",
            "actor": {"staff_id": f"s{i % 3}", "role": "nurse", "workstation": "ws-1"},
            "subject": {"patient_id": f"p{i}", "cycle_id": f"c{i}"},
            "data": {"stage": "egg_retrieval", "decision": "accept", "n": i}}


def _setup(hub: Hub, n: int = 20, cosign: int | None = None) -> tuple[MemoryLog, HubClient]:
    log = MemoryLog()
    log.add_events([_event(i) for i in range(n)])
    hub.register(log)
    client = HubClient(http=hub.client())
    answer = client.add_checkpoint(0, [], log.note(cosign or n))
    assert answer.status == 200
    return log, client


def _batch(log: MemoryLog, start: int, end: int, size: int) -> dict[str, Any]:
    proof = log.consistency(end, size) if end < size else []
    return {"start": start, "checkpoint_size": size, "entries": log.texts[start:end],
            "proof": [base64.b64encode(h).decode() for h in proof]}


def _held(hub: Hub, log: MemoryLog) -> tuple[int, int]:
    with hub.session() as s:
        clinic = s.scalar(select(HubClinic).where(HubClinic.origin == log.origin))
        count = s.scalar(select(func.count()).select_from(HubEntry).where(HubEntry.clinic_id == clinic.id)) or 0
        return int(clinic.feed_size), int(count)


def test_batches_verify_resume_and_repeat_without_change(make_hub: Any, hub_db_url: str) -> None:
    hub = make_hub(hub_db_url)
    log, client = _setup(hub, 20)
    state = client.signed(log.signer, "GET", FEED_STATE_PATH)
    assert state.json() == {"origin": log.origin, "feed_size": 0, "cosigned_size": 20}

    first = client.signed(log.signer, "POST", FEED_ENTRIES_PATH, _batch(log, 0, 7, 20))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 7, "feed_size": 7}
    # a repeated batch (new nonce) changes nothing
    again = client.signed(log.signer, "POST", FEED_ENTRIES_PATH, _batch(log, 0, 7, 20))
    assert again.json() == {"accepted": 0, "feed_size": 7}
    # out of order: a batch after a gap is refused with the size to resume from
    gap = client.signed(log.signer, "POST", FEED_ENTRIES_PATH, _batch(log, 10, 20, 20))
    assert gap.status_code == 409
    assert gap.json()["error"]["code"] == "feed_gap" and gap.json()["error"]["details"] == {"feed_size": 7}
    # an overlapping batch adds only its new tail
    overlap = client.signed(log.signer, "POST", FEED_ENTRIES_PATH, _batch(log, 5, 20, 20))
    assert overlap.json() == {"accepted": 13, "feed_size": 20}
    assert _held(hub, log) == (20, 20)
    with hub.session() as s:
        stored = [e.canonical for e in s.scalars(select(HubEntry).order_by(HubEntry.index))]
    assert stored == log.texts  # the leaf bytes, exactly


def test_refusals_change_nothing(make_hub: Any, hub_db_url: str) -> None:
    hub = make_hub(hub_db_url)
    log, client = _setup(hub, 12, cosign=10)
    log_http = hub.client()

    def post(payload: dict[str, Any], signer: Any = log.signer) -> Any:
        return client.signed(signer, "POST", FEED_ENTRIES_PATH, payload)

    # not a size the witness cosigned
    assert post(_batch(log, 0, 12, 12)).json()["error"]["code"] == "not_cosigned"
    # an entry changed after the fact (valid JSON, right index): the proof fails
    tampered = _batch(log, 0, 5, 10)
    tampered["entries"][3] = tampered["entries"][3].replace('"accept"', '"reject"')
    resp = post(tampered)
    assert (resp.status_code, resp.json()["error"]["code"]) == (422, "proof_failed")
    # a wrong proof
    wrong = _batch(log, 0, 5, 10)
    wrong["proof"] = [base64.b64encode(b"\x00" * 32).decode()] * len(wrong["proof"])
    assert post(wrong).json()["error"]["code"] == "proof_failed"
    # an entry claiming another index
    moved = _batch(log, 0, 5, 10)
    moved["entries"][0], moved["entries"][1] = moved["entries"][1], moved["entries"][0]
    assert post(moved).json()["error"]["code"] in {"bad_entry", "proof_failed"}
    # malformed bodies
    assert post({"start": 0}).status_code == 422
    oversized = _batch(log, 0, 10, 10)
    oversized["proof"] = [base64.b64encode(b"\x00" * 32).decode()] * 64
    assert post(oversized).status_code == 422
    raw = log_http.post(FEED_ENTRIES_PATH, content=b"{not json", headers={"content-type": "application/json"})
    assert raw.status_code == 401  # unsigned first
    # a stranger's key, an unsigned request, a stale timestamp
    stranger = MemoryLog()
    assert post(_batch(log, 0, 5, 10), signer=stranger.signer).status_code == 401
    assert log_http.post(FEED_ENTRIES_PATH, json=_batch(log, 0, 5, 10)).status_code == 401
    assert _held(hub, log) == (0, 0)

    good = post(_batch(log, 0, 4, 10))
    assert good.status_code == 200
    # an overlapping batch whose held part differs is refused
    other = _batch(log, 2, 6, 10)
    other["entries"][0] = log.texts[3]
    conflict = post(other)
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "feed_conflict")
    assert _held(hub, log) == (4, 4)


def test_a_replayed_request_is_refused(make_hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = make_hub()
    log, _client = _setup(hub, 6)
    sent: list[Any] = []
    http = hub.client()
    original = http.request

    def spy(method: str, url: str, **kwargs: Any) -> Any:
        sent.append((method, url, kwargs))
        return original(method, url, **kwargs)

    monkeypatch.setattr(http, "request", spy)
    recording = HubClient(http=http)
    assert recording.signed(log.signer, "POST", FEED_ENTRIES_PATH, _batch(log, 0, 6, 6)).status_code == 200
    method, url, kwargs = sent[-1]
    replay = original(method, url, **kwargs)
    assert (replay.status_code, replay.json()["error"]["code"]) == (409, "replayed")
    # a captured request re-signed at another time is a new request; a stale one fails the clock check
    headers = dict(kwargs["headers"])
    headers["x-idverify-timestamp"] = str(int(headers["x-idverify-timestamp"]) - 3600)
    stale = original(method, url, content=kwargs["content"], headers=headers)
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "clock_skew")
    body = json.loads(kwargs["content"])
    body["start"] = 1
    forged = original(method, url, content=json.dumps(body).encode(), headers=dict(kwargs["headers"]))
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "bad_signature")


def test_monthly_counts_add_up_batch_after_batch(make_hub: Any, hub_db_url: str) -> None:
    """The feed adds each batch's counts to the month's row (one upsert per batch, no read): two batches of the
    same clinic, month and staff member sum up, and a new staff member gets a row of their own."""
    from idverify.hub import projection_repository
    from idverify.hub.models import HubMonthly

    hub = make_hub(hub_db_url)
    clinic_id = hub.register(MemoryLog())
    with hub.session() as s:
        projection_repository.add_monthly(s, {(clinic_id, "2026-11", ""): {"checks": 3, "rejects": 1},
                                              (clinic_id, "2026-11", "n1"): {"checks": 3}})
        s.commit()
        projection_repository.add_monthly(s, {(clinic_id, "2026-11", ""): {"checks": 2, "overrides": 1},
                                              (clinic_id, "2026-11", "n2"): {"checks": 2, "accepts": 2}})
        s.commit()
        rows = {r.staff_id: (r.checks, r.accepts, r.rejects, r.overrides)
                for r in s.scalars(select(HubMonthly).where(HubMonthly.clinic_id == clinic_id))}
    assert rows == {"": (5, 0, 1, 1), "n1": (3, 0, 0, 0), "n2": (2, 2, 0, 0)}
