"""Browser-test fixtures: a real daemon on a free port (uvicorn in a thread, temp data dir, demo accounts from
``bootstrap_demo``), Debian's chromium driven by Playwright, and a request log per page that fails the test when a
URL carries personal data.

Chromium is ``/usr/bin/chromium`` (``apt-get install chromium``); Playwright's own browser download is never used.
Tests skip with the reason shown when either is missing. Screenshots go to ``test-artifacts/web/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ..servers import free_port, served

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"
WORKSTATION = "ws-web"
OTHER_WORKSTATION = "ws-other"
# A made-up patient identity, stored encrypted like a real one. The UI must never show it or put it in a URL.
PATIENT_IDENTITY = {"name": "测试患者甲", "document_number": "11010519491231002X", "address": "北京市测试路1号"}
STAGES = ("egg_retrieval", "sperm_retrieval", "embryo_transfer")
DECISIONS = ("accept", "reject", "retry")
SEEDED_HERE = 30  # more than one page (25) so paging shows
SEEDED_ELSEWHERE = 4
# (stage, decision, workstation) of each seeded verification, newest first
SEEDED = [
    (STAGES[i % len(STAGES)], DECISIONS[i % 3], WORKSTATION if i < SEEDED_HERE else OTHER_WORKSTATION)
    for i in range(SEEDED_HERE + SEEDED_ELSEWHERE)
]


# the reasons of each seeded decision, as a check stores them (reason codes with parameters)
SEEDED_REASONS: dict[str, list[dict[str, object]]] = {
    "accept": [{"code": "identity_confirmed", "params": {}}],
    "reject": [{"code": "face_mismatch", "params": {"score": 0.41, "threshold": 0.6}},
               {"code": "liveness_failed", "params": {"factor": "face", "cause": {"code": "pad_spoof_suspected",
                                                                                    "params": {}}}}],
    "retry": [{"code": "finger_position_failed", "params": {"position": "right_index",
                                                            "cause": {"code": "finger_quality_low", "params": {}}}}],
}


@dataclass
class LiveDaemon:
    base_url: str
    app: Any
    passwords: dict[str, str]
    private_strings: set[str] = field(default_factory=set)  # must never appear in a URL
    cycles: dict[str, str] = field(default_factory=dict)  # "ivf"/"fet" (open), "closed", "other" -> cycle id


def _seed(app: Any) -> dict[str, str]:
    """Verifications at this workstation and another one, for one encrypted patient; two open cycles and a
    closed one for her couple, and one open cycle of another couple. Returns the cycle ids."""
    from idverify.store.base import new_id, utcnow
    from idverify.store.models import Couple, Cycle, Patient, Verification

    ctx = app.state.ctx

    def sealed_patient(sex: str, number: str, identity: dict[str, str]) -> Patient:
        # sealed as the patient service seals identities (AAD "patient:<id>"), so the API can open it
        patient_id = new_id()
        return Patient(id=patient_id, sex=sex, document_type="cn_resident_id",
                       document_lookup=ctx.keys.lookup.digest(number),
                       identity=ctx.keys.ring.encrypt(json.dumps(identity).encode(), f"patient:{patient_id}"),
                       kek_id=ctx.keys.ring.active_id)

    with ctx.session_factory() as db:
        patient = sealed_patient("F", PATIENT_IDENTITY["document_number"], PATIENT_IDENTITY)
        db.add(patient)
        db.flush()
        couple = Couple(female_patient_id=patient.id)
        db.add(couple)
        db.flush()
        cycle = Cycle(couple_id=couple.id, kind="ivf", stages=list(STAGES))
        fet = Cycle(couple_id=couple.id, kind="fet", stages=["frozen_embryo_transfer"])
        closed = Cycle(couple_id=couple.id, kind="iui", stages=["iui_insemination"], status="closed",
                       closed_at=utcnow())
        other_patient = sealed_patient("M", "OTHER0000000001", {"name": "测试患者丙"})
        db.add(other_patient)
        db.flush()
        other_couple = Couple(male_patient_id=other_patient.id)
        db.add(other_couple)
        db.flush()
        other = Cycle(couple_id=other_couple.id, kind="iui", stages=["sperm_retrieval", "iui_insemination"])
        db.add_all([cycle, fet, closed, other])
        db.flush()
        ids = {"ivf": cycle.id, "fet": fet.id, "closed": closed.id, "other": other.id}
        now = utcnow()
        for i, (stage, decision, workstation) in enumerate(SEEDED):
            when = now - timedelta(hours=i)
            db.add(Verification(
                cycle_id=cycle.id, patient_id=patient.id, stage=stage, decision=decision,
                reasons=SEEDED_REASONS[decision],
                factors={"face": {"score": 0.91 - i / 100, "threshold": 0.6}, "fingerprint": {"score": 0.8}},
                workstation_id=workstation,
                started_at=when, decided_at=when,
            ))
        db.commit()
        return ids


@pytest.fixture(scope="session")
def live_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    from idverify.app import create_app
    from idverify.config import load_settings
    from idverify.runtime import bootstrap_demo, demo_accounts_file

    data_dir = tmp_path_factory.mktemp("web-daemon")
    port = free_port()
    settings = load_settings(data_dir=data_dir, workstation_id=WORKSTATION, host="127.0.0.1", port=port,
                             clinic_name="测试生殖医学中心")
    bootstrap_demo(settings)
    accounts = json.loads(demo_accounts_file(data_dir).read_text())
    app = create_app(settings)
    cycles = _seed(app)
    passwords = {a["username"]: a["password"] for a in accounts}
    with served(app, port) as base_url:
        yield LiveDaemon(base_url=base_url, app=app, passwords=passwords,
                         private_strings={*passwords.values(), *PATIENT_IDENTITY.values()}, cycles=cycles)


@pytest.fixture(scope="module")
def sim_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """:func:`simulated_daemon`, one per test module."""
    with simulated_daemon(tmp_path_factory) as daemon:
        yield daemon


@contextlib.contextmanager
def simulated_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """The demo daemon as ``make run`` starts it: every device simulated, with the simulated people
    (``hardware_fixtures.personas``), its own data dir and nothing seeded. Differences, for speed only: the
    fingerprint link at 115200 baud and no virtual passport (pcscd start-up is slow and the journey reads Chinese
    ID cards). Needs the public face and finger samples (../shared/data); skips visibly without them."""
    from hardware_fixtures.wiring import SimulationAssets

    from idverify.app import create_app
    from idverify.config import load_settings
    from idverify.runtime import bootstrap_demo, demo_accounts_file

    shared = Path(os.environ.get("IDVERIFY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not ((shared / "face" / "asian_dev").is_dir() and (shared / "fingerprint" / "FVC2002_DB1_B").is_dir()):
        pytest.skip(f"the simulated people need the public samples in {shared} (face/asian_dev, FVC2002_DB1_B)")
    from hardware_fixtures.ga467 import load_cards
    from hardware_fixtures.personas import IMPOSTOR_CARD

    data_dir = tmp_path_factory.mktemp("journey-daemon")
    port = free_port()
    settings = load_settings(data_dir=data_dir, workstation_id="ws-journey", host="127.0.0.1", port=port,
                             clinic_name="旅程测试生殖中心", simulate=True, fingerprint_baud=115200)
    bootstrap_demo(settings)
    accounts = json.loads(demo_accounts_file(data_dir).read_text())
    app = create_app(settings)
    app.state.ctx.devices.wiring.assets = SimulationAssets(emrtd=False)
    passwords = {a["username"]: a["password"] for a in accounts}
    private = {*passwords.values()}
    for card in [*load_cards(), IMPOSTOR_CARD]:
        private.update(v for k, v in card.items() if k in ("name", "id_number", "address", "english_name"))
    with served(app, port) as base_url:
        yield LiveDaemon(base_url=base_url, app=app, passwords=passwords, private_strings=private)


@pytest.fixture
def page(browser: Any, live_daemon: LiveDaemon) -> Iterator[Any]:
    """A fresh browser context (own cookies) at 1280x800 in English. After the test: no URL it requested may
    contain a password, an API secret or the patient's identity; no script may have thrown; the Content Security
    Policy must not have blocked anything (that would mean an inline script/style or a foreign origin).

    Every test starts with a fresh password throttle: all tests share the daemon and come from one address, so
    a test's deliberate wrong passwords would otherwise count against the next test (a 429 where it expects 401)."""
    from idverify.auth.throttle import LoginThrottle

    live_daemon.app.state.ctx.login_throttle = LoginThrottle()
    with checked_page(browser, live_daemon) as tab:
        yield tab


@contextlib.contextmanager
def checked_page(browser: Any, daemon: LiveDaemon, timeout_ms: int = 10_000, locale: str = "en-US") -> Iterator[Any]:
    """The ``page`` fixture's context and after-checks, for any daemon (the journey opens one per person)."""
    context = browser.new_context(base_url=daemon.base_url, viewport={"width": 1280, "height": 800},
                                  locale=locale, accept_downloads=True)
    context.set_default_timeout(timeout_ms)
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    script_errors: list[str] = []
    csp_violations: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: script_errors.append(str(exc)))
    tab.on("console", lambda msg: csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield tab
    finally:
        context.close()
    assert script_errors == []
    assert csp_violations == []
    from urllib.parse import unquote

    leaked = [u for u in urls for s in daemon.private_strings if s in unquote(u)]
    assert not leaked, f"personal data or secrets in {len(leaked)} URL(s)"


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def _sessions() -> dict[str, list[Any]]:
    return {}


@pytest.fixture
def login(live_daemon: LiveDaemon, _sessions: dict[str, list[Any]]) -> Callable[..., None]:
    """Log ``page`` in as a demo account and wait for the role's home page.

    The first login of each account goes through the login form; later tests reuse its session cookie (argon2
    makes each real login cost about a second). ``fresh=True`` always uses the form, with a session of its own.
    """
    from idverify.auth.roles import Role
    from idverify.web.pages import HOME

    roles = {"nurse1": Role.NURSE, "nurse2": Role.NURSE, "itadmin": Role.IT_ADMIN, "inspector": Role.INSPECTOR}

    def do_login(page: Any, username: str, *, fresh: bool = False) -> None:
        home = HOME[roles[username]]
        if not fresh and username in _sessions:
            page.context.add_cookies(_sessions[username])
            page.goto(home)
            page.wait_for_url(f"**{home}")
            return
        page.goto("/login")
        page.fill("#login-username", username)
        page.fill("#login-password", live_daemon.passwords[username])
        page.click("#login-submit")
        page.wait_for_url(f"**{home}")
        if not fresh:  # the session only: a language chosen by this test must not follow the account elsewhere
            _sessions[username] = [c for c in page.context.cookies() if c["name"] != "idverify_locale"]

    return do_login
