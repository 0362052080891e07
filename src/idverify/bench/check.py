"""``idverify bench check``: time a whole stage-check decision with the captures in hand.

What is timed is :func:`idverify.workflow.checks.run_check` plus its commit — policy, template decryption, face
analysis + passive PAD + comparison, fingerprint extraction + matching, document rule, fusion, the verification
row and its ledger entry (durable commit) — on a scratch SQLite database in a temp dir, after one warm-up check
that loads the models. Captures come from the public sample sets (face: asian_dev cn_s10, finger: FVC2002 101).
``--fusion`` adds the decision's error rates — every factor, fingerprint missing, face missing — on every public
face and fingerprint set (:mod:`idverify.bench.fusion_rates`, a few minutes).
"""

from __future__ import annotations

import functools
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from idverify.console import emit_json, fail
from idverify.errors import ErrorCode, IdverifyError


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _given(captures: Any, _listener: Any) -> Any:
    """The captures of one timed check, all given at once (no device: nothing to match early)."""
    return captures


def run_check_bench(data: Path, checks: int) -> dict[str, Any]:
    import cv2

    from idverify.auth import service as auth_service
    from idverify.auth.roles import Principal, Role
    from idverify.biometrics.face import load_image
    from idverify.config import load_settings
    from idverify.documents.model import DocumentChecks, IdentityDocument
    from idverify.store.db import make_engine, make_session_factory, upgrade_database
    from idverify.store.keys import open_keys
    from idverify.workflow import checks as check_service
    from idverify.workflow import consent, cycles, enrolment, patients
    from idverify.workflow.captures import Captures
    from idverify.workflow.galleries import Galleries
    from idverify.workflow.stages import CycleKind, Stage

    faces = data / "face" / "asian_dev" / "cn_s10"
    fingers = data / "fingerprint" / "FVC2002_DB1_B"
    if not faces.is_dir() or not fingers.is_dir():
        raise IdverifyError(f"sample data not found under {data}", code=ErrorCode.SAMPLE_DATA_MISSING)

    def finger(name: str) -> Any:
        return cv2.imread(str(fingers / f"{name}.tif"), cv2.IMREAD_GRAYSCALE)

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), workstation_id="bench")
        upgrade_database(settings.resolved_database_url)
        engine = make_engine(settings.resolved_database_url)
        factory = make_session_factory(engine)
        with factory() as db:
            keys = open_keys(settings, db)
            staff = auth_service.create_staff(db, username="bench", display_name="bench", role=Role.NURSE,
                                              password=secrets.token_urlsafe(16))
            actor = Principal(role=Role.NURSE, workstation_id="bench", method="session", staff_id=staff.id,
                              credential_id="bench")
            identity = patients.PatientIdentity(document_type="cn_resident_id", document_number="110101199003074565",
                                                name="bench", sex="F")
            patient, _ = patients.register(db, keys, identity, source="manual", actor=actor)
            consent.record_consent(db, keys, patient_id=patient.id, accepted=["face", "fingerprint"], refused=[],
                                   retention_days=1, signature_png=None, actor=actor)
            document = IdentityDocument(document_type="cn_resident_id", document_number="110101199003074565",
                                        checks=DocumentChecks(checksum=True, expired=False), source="bench")
            enrol_caps = Captures(face_frames=[load_image(faces / f) for f in ("10_12.jpg", "10_5.jpg", "10_9.jpg")],
                                  fingerprints=[("right_index", finger("101_1")), ("left_index", finger("102_1"))],
                                  document=document)
            outcome = enrolment.enrol(db, keys, Galleries(), patient_id=patient.id, captures=enrol_caps, actor=actor)
            if outcome.enrollment.status != "complete":
                raise IdverifyError(f"bench enrolment ended {outcome.enrollment.status}")
            couple = cycles.create_couple(db, female_id=patient.id, male_id=None, actor=actor)
            cycle = cycles.open_cycle(db, couple_id=couple.id, kind=CycleKind.DONOR_SPERM_IVF, extra_stages=[],
                                      actor=actor)
            db.commit()
            probe_face = load_image(faces / "0-LEyP4d.jpg")
            times: list[float] = []
            decisions: dict[str, int] = {}
            for i in range(checks + 1):
                caps = Captures(face_frames=[probe_face], fingerprints=[("right_index", finger(f"101_{2 + i % 7}"))],
                                document=document)
                start = time.perf_counter()
                result = check_service.run_check(db, keys, cycle_id=cycle.id, stage=Stage.EGG_RETRIEVAL,
                                                 capture=functools.partial(_given, caps), actor=actor)
                db.commit()
                elapsed = (time.perf_counter() - start) * 1000
                if i:  # the first check loads the models
                    times.append(elapsed)
                    decisions[result.verification.decision] = decisions.get(result.verification.decision, 0) + 1
        engine.dispose()
    return {"benchmark": "stage_check", "checks": len(times), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(_percentile(times, 0.95), 1), "max_ms": round(max(times), 1), "decisions": decisions,
            "factors": ["document", "face+passive PAD", "fingerprint"], "backend": "sqlite"}


def bench_check(
    dataset: Annotated[Path, typer.Option(help="The shared data folder (with face/ and fingerprint/).")] = Path(
        "../shared/data"),
    checks: Annotated[int, typer.Option(min=5, max=1000, help="Timed checks (after one warm-up).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on the last line.")] = False,
    fusion: Annotated[bool, typer.Option(
        "--fusion", help="Also the decision's FMR/FNMR with every factor and with one missing (minutes).")] = False,
) -> None:
    """Time a stage-check decision end to end (captures in hand, all factors, durable commit)."""
    try:
        result = run_check_bench(dataset, checks)
        if fusion:
            from idverify.bench.fusion_rates import run_fusion_rates

            result["fusion"] = run_fusion_rates(dataset)
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"stage check: median {result['median_ms']} ms, p95 {result['p95_ms']} ms over "
               f"{result['checks']} checks ({result['decisions']})")
    for group in ("fingerprint_seen", "fingerprint_unseen"):
        rates = result.get("fusion", {}).get(group)
        if rates is not None:
            typer.echo(f"decision on {group.replace('_', ' ')} sets ({', '.join(rates['sets'])}): " + "; ".join(
                f"{name.replace('_', ' ')} FMR {r['fmr']:.2e} FNMR {r['fnmr']:.2%}" for name, r in rates.items()
                if name in ("every_factor", "fingerprint_missing", "face_missing")))
