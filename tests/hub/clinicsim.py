"""A simulated clinic for hub tests: writes the clinic's real event shapes into a :class:`MemoryLog`, then asks
the hub to cosign and feeds it, through the same client the daemon uses."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime
from typing import Any

from idverify.ledger.canonical import format_time
from idverify.ledger.witness_client import FEED_ENTRIES_PATH, HubClient
from idverify.store.region import RegionKey

from .memlog import MemoryLog

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


class SimClinic:
    def __init__(self, hub: Any, name: str, region: RegionKey | None) -> None:
        self.log = MemoryLog()
        self.clinic_id = hub.register(self.log, name)
        self.client = HubClient(http=hub.client())
        self.region = region
        self.cosigned = 0
        self.fed = 0

    def _add(self, etype: str, at: datetime, *, subject: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None, staff: str | None = "nurse-1") -> None:
        event = {"type": etype, "occurred_at": format_time(at),
                 "actor": {"staff_id": staff, "role": "nurse", "workstation": "ws-1"},
                 "subject": subject or {}, "data": data or {}}
        self.log.add_events([event], recorded_at=format_time(at))

    def patient(self, number: str, at: datetime, *, region: RegionKey | None = None) -> str:
        pid = _id("p")
        key = region or self.region
        data: dict[str, Any] = {"source": "card", "document_type": "cn_resident_id"}
        if key is not None:
            data |= {"region_pseudonym": key.pseudonym("cn_resident_id", number), "region_key_id": key.key_id}
        self._add("patient.registered", at, subject={"patient_id": pid}, data=data)
        return pid

    def assign(self, pid: str, number: str, at: datetime, region: RegionKey) -> None:
        self._add("patient.pseudonym_assigned", at, subject={"patient_id": pid}, staff=None,
                  data={"region_pseudonym": region.pseudonym("cn_resident_id", number), "region_key_id": region.key_id})

    def couple(self, female: str | None, male: str | None, at: datetime) -> str:
        cid = _id("k")
        self._add("couple.registered", at, subject={"couple_id": cid},
                  data={"female_patient_id": female, "male_patient_id": male})
        return cid

    def open_cycle(self, couple: str, at: datetime) -> str:
        cyc = _id("c")
        self._add("cycle.opened", at, subject={"couple_id": couple, "cycle_id": cyc}, data={"kind": "ivf"})
        return cyc

    def close_cycle(self, couple: str, cycle: str, at: datetime) -> None:
        self._add("cycle.closed", at, subject={"couple_id": couple, "cycle_id": cycle})

    def check(self, patient: str, cycle: str, stage: str, decision: str, at: datetime, staff: str = "nurse-1") -> None:
        self._add("verification.completed", at, staff=staff, subject={"patient_id": patient, "cycle_id": cycle},
                  data={"stage": stage, "decision": decision, "verification_id": _id("v")})

    def override(self, patient: str, cycle: str, stage: str, at: datetime, staff: str = "nurse-1") -> None:
        self._add("override.recorded", at, staff=staff, subject={"patient_id": patient, "cycle_id": cycle},
                  data={"stage": stage, "original_decision": "reject", "reason_code": "injury"})

    def sync(self, batch: int = 200) -> None:
        size = len(self.log.leaves)
        old = self.cosigned
        for _ in range(3):
            answer = self.client.add_checkpoint(old, self.log.consistency(old, size), self.log.note(size))
            if answer.status == 409 and answer.size is not None:
                old = answer.size
                continue
            assert answer.status == 200, answer
            break
        self.cosigned = size
        while self.fed < size:
            end = min(self.fed + batch, size)
            proof = [base64.b64encode(h).decode() for h in self.log.consistency(end, size)] if end < size else []
            resp = self.client.signed(self.log.signer, "POST", FEED_ENTRIES_PATH, {
                "start": self.fed, "checkpoint_size": size, "entries": self.log.texts[self.fed:end], "proof": proof})
            assert resp.status_code == 200, resp.text
            self.fed = resp.json()["feed_size"]


def now() -> datetime:
    return datetime.now(UTC)
