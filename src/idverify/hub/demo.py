"""``idverify hub demo [--scenario]``: a regional hub and two clinic daemons, each on a free local port.

Everything is real except the people: the hub (witness, feed, alerts, UI) and two complete clinic daemons
(SQLite, no devices) that register patients, couples and cycles through their own REST APIs, sign checkpoints
every second, get them cosigned by the hub and feed it their entries — over HTTP, as deployed. One woman and her
husband are registered and treated at both clinics at once (the cross-clinic alert). Then clinic B does what a
clinic with database superuser rights could do: it rewrites an entry its witness has already cosigned — the
woman's registration, to hide her regional pseudonym — recomputes its tree and signs a checkpoint of the rewritten
history with the clinic's key file (its own daemon's integrity check caught the rewrite and signs nothing more).
The witness refuses it, keeps the signed submission as evidence and raises an alert.

With ``--scenario`` the last line of stdout is::

    {"clinics": 2, "cosigned": {origin: size}, "alerts": [{"kind", "clinic", ...}],
     "rewrite_detected": true, "verify_with_witness": true}

where ``verify_with_witness`` is the offline check of clinic A's export (anchored on a cosigned checkpoint) with
the clinic's key and the hub's witness key. Without it, the three services keep running (accounts printed) so the
regional UI can be explored.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from idverify.documents.cn_id import id_check_char
from idverify.errors import ErrorCode, IdverifyError
from idverify.ports import free_port


def _number(first17: str) -> str:
    """A made-up resident ID number that the clinic accepts: right check character, birth date and sex digit."""
    return first17 + id_check_char(first17)


WOMAN = {"document_type": "cn_resident_id", "document_number": _number("11010519911231002"), "name": "演示患者甲",
         "sex": "F", "birth_date": "1991-12-31"}
HUSBAND = {"document_type": "cn_resident_id", "document_number": _number("11010519880101123"), "name": "演示患者乙",
           "sex": "M", "birth_date": "1988-01-01"}
OTHERS = [
    ({"document_type": "cn_resident_id", "document_number": _number(f"3201021990{i:02d}010{i}2"), "name": f"演示女{i}",
      "sex": "F", "birth_date": f"1990-{i:02d}-01"},
     {"document_type": "cn_resident_id", "document_number": _number(f"3201021985{i:02d}010{i}3"), "name": f"演示男{i}",
      "sex": "M", "birth_date": f"1985-{i:02d}-01"})
    for i in range(1, 5)
]
DEADLINE_S = 60.0


class DemoError(IdverifyError):
    code = ErrorCode.HUB_DEMO_FAILED


@dataclass
class Service:
    name: str
    app: Any
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    accounts: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _serve(name: str, app: Any) -> Service:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, name=f"hub-demo-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise DemoError(f"{name} did not start")
        time.sleep(0.05)
    return Service(name, app, f"http://127.0.0.1:{port}", server, thread)


def _wait(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        time.sleep(0.2)


class _Nurse:
    def __init__(self, clinic: Service) -> None:
        self.http = httpx.Client(base_url=clinic.url + "/api/v1", timeout=30)
        resp = self.http.post("/auth/login", json={"username": "nurse1", "password": clinic.accounts["nurse1"]})
        if resp.status_code != 200:
            raise DemoError(f"{clinic.name}: nurse login failed ({resp.status_code})")
        self.csrf = resp.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf})
        if resp.status_code >= 400:
            raise DemoError(f"POST {path}: {resp.status_code} {resp.text[:200]}")
        result: dict[str, Any] = resp.json()
        return result

    def patient(self, identity: dict[str, str]) -> str:
        return str(self.post("/patients", identity)["patient"]["id"])

    def couple_in_cycle(self, female: dict[str, str], male: dict[str, str] | None) -> tuple[str, str]:
        f = self.patient(female)
        m = self.patient(male) if male else None
        couple = self.post("/couples", {"female_patient_id": f, "male_patient_id": m})["id"]
        cycle = self.post("/cycles", {"couple_id": couple, "kind": "ivf" if m else "donor_sperm_ivf"})["id"]
        return str(couple), str(cycle)

    def close(self) -> None:
        self.http.close()


def start(workdir: Path) -> tuple[Service, list[Service]]:
    """The hub and two clinic daemons, connected (registered, witness key, shared regional key)."""
    from idverify.app import create_app
    from idverify.config import load_hub_settings, load_settings
    from idverify.hub.app import create_hub_app
    from idverify.hub.clinics import add_clinic
    from idverify.hub.db import upgrade_hub_database
    from idverify.hub.users import create_user
    from idverify.ledger.checkpoint import verifier_key
    from idverify.runtime import bootstrap_demo
    from idverify.store.region import create_region_key

    hub_settings = load_hub_settings(data_dir=workdir / "hub", checkpoint_interval_s=5, ledger_interval_s=1,
                                     log_json=False)
    hub_settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_hub_database(hub_settings.resolved_database_url)
    hub_app = create_hub_app(hub_settings)
    hub_accounts = {"inspector": "inspector-" + _token(), "hubadmin": "hubadmin-" + _token()}
    with hub_app.state.hub.session_factory() as s:
        for username, role in (("inspector", "regional_inspector"), ("hubadmin", "hub_admin")):
            create_user(s, username=username, display_name=username, role=role, password=hub_accounts[username])
        s.commit()
    hub = _serve("hub", hub_app)
    hub.accounts = hub_accounts
    region_key = workdir / "region.key"
    create_region_key(region_key)
    witness = hub_app.state.hub.witness.key.vkey
    clinics: list[Service] = []
    for name in ("Clinic A", "Clinic B"):
        port = free_port()
        settings = load_settings(
            data_dir=workdir / name.lower().replace(" ", "-"), clinic_name=name, workstation_id=f"{name[-1]}-ws1",
            host="127.0.0.1", port=port, hub_url=hub.url, hub_witness_key=witness, hub_sync_interval_s=1,
            checkpoint_interval_s=1, region_key_file=region_key, log_json=False)
        accounts = {a.username: a.password for a in bootstrap_demo(settings)}
        app = create_app(settings)
        signer = app.state.ctx.subsystem("ledger").signer
        with hub_app.state.hub.session_factory() as s:
            add_clinic(s, name=name, verifier=verifier_key(signer.origin, signer.public_key), role="demo")
            s.commit()
        service = _serve(name, app)
        service.accounts = accounts
        clinics.append(service)
    return hub, clinics


def _token() -> str:
    import secrets

    return secrets.token_urlsafe(9)


def _tree_size(clinic: Service) -> int:
    from idverify.ledger import proofs as ledger

    with clinic.app.state.ctx.session_factory() as s:
        return int(ledger.tree_size(s))


def _hub_state(hub: Service) -> dict[str, tuple[int, int, str]]:
    from idverify.hub.models import HubClinic

    with hub.app.state.hub.session_factory() as s:
        return {c.name: (int(c.witness_size), int(c.feed_size), c.origin) for c in s.scalars(select(HubClinic))}


def _caught_up(hub: Service, clinics: list[Service]) -> bool:
    state = _hub_state(hub)
    return all(state.get(c.name, (0, 0, ""))[1] >= _tree_size(c) for c in clinics)


def rewrite_history(clinic: Service, pseudonym: str) -> int:
    """What a clinic with database superuser rights could do: change an entry already cosigned — here the
    registration that carries ``pseudonym``, to hide that person from cross-clinic checks — recompute every hash
    of its tree (then :func:`sign_as_the_clinic`). Returns the rewritten index."""
    from idverify.ledger.canonical import canonical_bytes
    from idverify.ledger.merkle import CompactRange, leaf_hash

    engine = clinic.app.state.ctx.engine
    with engine.begin() as conn:
        for trigger in ("ledger_entries_no_update", "ledger_nodes_no_update", "ledger_nodes_no_delete"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        rows = conn.exec_driver_sql("SELECT idx, canonical FROM ledger_entries ORDER BY idx").all()
        target = next(int(i) for i, text in rows
                      if json.loads(text)["event"]["data"].get("region_pseudonym") == pseudonym)
        leaves: list[bytes] = []
        for idx, stored in rows:
            text = stored
            if int(idx) == target:
                doc = json.loads(stored)
                doc["event"]["data"]["region_pseudonym"] = "0" * 64
                text = canonical_bytes(doc).decode()
                conn.exec_driver_sql("UPDATE ledger_entries SET canonical = ?, leaf_hash = ? WHERE idx = ?",
                                     (text, leaf_hash(text.encode()), target))
            leaves.append(leaf_hash(text.encode()))
        conn.exec_driver_sql("DELETE FROM ledger_nodes")
        frontier = CompactRange()
        nodes = [node for leaf in leaves for node in frontier.append(leaf)]
        conn.exec_driver_sql("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)",
                             [(level, i, h) for (level, i), h in nodes])
    return target


def sign_as_the_clinic(clinic: Service) -> None:
    """The rewriter signs the current tree with the clinic's key file itself: the daemon signs nothing once its
    integrity check has caught the rewrite."""
    from idverify.ledger.proofs import create_checkpoint

    with clinic.app.state.ctx.session_factory() as session:
        create_checkpoint(session, clinic.app.state.ctx.subsystem("ledger").signer)
        session.commit()


def run_scenario(workdir: Path) -> dict[str, Any]:
    from idverify.hub.models import HubAlert, HubRefusal
    from idverify.hub.sweep import sweep

    hub, clinics = start(workdir)
    try:
        a, b = clinics
        nurses = {c.name: _Nurse(c) for c in clinics}
        for clinic, (female, male) in zip(clinics * 2, OTHERS, strict=True):  # ordinary couples at each clinic
            nurses[clinic.name].couple_in_cycle(female, male)
        nurses[a.name].couple_in_cycle(WOMAN, HUSBAND)  # the same couple, in open cycles at both clinics
        nurses[b.name].couple_in_cycle(WOMAN, HUSBAND)
        _wait("the hub to hold every entry", lambda: _caught_up(hub, clinics))
        region = b.app.state.ctx.keys.region
        assert region is not None
        rewritten = rewrite_history(b, region.pseudonym(WOMAN["document_type"], WOMAN["document_number"]))
        nurses[b.name].patient(OTHERS[0][0])  # audited writes go on at B, its daemon signs nothing more
        sign_as_the_clinic(b)
        _wait("the hub to refuse clinic B's rewritten history",
              lambda: _refusals(hub, HubRefusal) > 0)
        with hub.app.state.hub.session_factory() as s:
            sweep(s, hub.app.state.hub.settings)
            s.commit()
            names = {c_origin: name for name, (_w, _f, c_origin) in _hub_state(hub).items()}
            ids = _clinic_names(s)
            alerts = [{"kind": al.kind, "clinic": ids.get(al.clinic_id or "", None), "status": al.status,
                       **({"reason": al.summary["reason"]} if "reason" in al.summary else {}),
                       **({"clinics": sorted(ids.get(c, c) for c in al.summary["clinics"])}
                          if "clinics" in al.summary else {})}
                      for al in s.scalars(select(HubAlert).order_by(HubAlert.id))]
        rewrite_detected = any(al["kind"] == "checkpoint_refused" and al["clinic"] == b.name for al in alerts)
        state = _hub_state(hub)
        return {
            "clinics": len(clinics),
            "cosigned": {origin: size for _name, (size, _fed, origin) in state.items()},
            "alerts": alerts,
            "rewrite_detected": rewrite_detected,
            "rewritten_index": rewritten,
            "verify_with_witness": _verify_with_witness(a, hub),
            "hub": hub.url,
            "origins": names,
        }
    finally:
        for service in [*clinics, hub]:
            service.stop()


def _refusals(hub: Service, model: Any) -> int:
    from sqlalchemy import func

    with hub.app.state.hub.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _clinic_names(session: Any) -> dict[str, str]:
    from idverify.hub.models import HubClinic

    return {str(c.id): c.name for c in session.scalars(select(HubClinic))}


def _verify_with_witness(clinic: Service, hub: Service) -> bool:
    """Clinic A's export anchored on a cosigned checkpoint, verified offline with both keys."""
    from idverify.ledger import repository
    from idverify.ledger.export import export_jsonl
    from idverify.ledger.verify import ExportInvalid, verify_export

    ctx = clinic.app.state.ctx
    out = Path(tempfile.mkdtemp(prefix="idverify-hub-demo-")) / "clinic-a.jsonl"
    with ctx.session_factory() as s, out.open("w", encoding="utf-8") as fh:
        anchor = repository.latest_cosigned(s)
        if anchor is None:
            return False
        export_jsonl(s, fh, clinic=clinic.name, checkpoint=anchor)
    try:
        verify_export(out, ctx.subsystem("ledger").signer.public_key, witnesses=[hub.app.state.hub.witness.key])
    except ExportInvalid:
        return False
    return True
