"""The face-alone operating point in the resolved stage policy: a patient who refused fingerprints is verified at
the stricter face-alone threshold the policy names, and the decision says it rests on the face alone; the same
face score passes beside a fingerprint."""

from __future__ import annotations

from typing import Any

from idverify.biometrics.fusion import FACE_ALONE, FACE_ALONE_MISMATCH, FactorResult, decide
from idverify.biometrics.operating_points import load_operating_points
from idverify.store.models import ConsentRecord
from idverify.workflow.policy import FACE_ALONE_TARGET_FMR, resolve
from idverify.workflow.stages import Stage


def _face(score: float) -> FactorResult:
    return FactorResult("face", "ok", score, live=True)


def test_fingerprint_refused_uses_the_face_alone_point(make_app: Any) -> None:
    daemon = make_app()
    points = load_operating_points()
    beside, alone = points.point("face", 0.001).threshold, points.point("face", FACE_ALONE_TARGET_FMR).threshold
    between = round((beside + alone) / 2, 4)
    assert beside < between < alone
    no_finger = ConsentRecord(modalities=["face", "document_photo"], refused=["fingerprint"])
    with daemon.app.state.ctx.session_factory() as db:
        full = resolve(db, Stage.EMBRYO_TRANSFER, None)
        refused = resolve(db, Stage.EMBRYO_TRANSFER, no_finger)
    face_policy = refused.as_dict()["biometric"]["factors"]["face"]
    assert (face_policy["target_fmr"], face_policy["alone_target_fmr"]) == (0.001, FACE_ALONE_TARGET_FMR)
    assert face_policy["alone_threshold"] == alone and "fingerprint" not in refused.biometric.factors
    # the record says which factor the consent took out, as codes (tests/web/test_it_inspector_screens.py shows it)
    assert refused.adapted_for == [{"factor": "fingerprint", "why": "not_consented"}] and full.adapted_for == []

    on_face = decide(refused.biometric, [_face(between)])
    assert on_face.outcome == "reject" and on_face.codes[:2] == [FACE_ALONE_MISMATCH, FACE_ALONE]
    assert on_face.factors["face"]["target_fmr"] == FACE_ALONE_TARGET_FMR
    with_finger = decide(full.biometric, [_face(between), FactorResult("fingerprint", "ok", 1.0)])
    assert with_finger.outcome == "accept" and FACE_ALONE not in with_finger.codes
    sure = decide(refused.biometric, [_face(min(alone + 0.001, 1.0))])
    assert sure.outcome == "accept" and sure.face_alone and FACE_ALONE in sure.codes


def test_clinic_sets_the_face_alone_fmr(make_app: Any) -> None:
    daemon = make_app()
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf}
    looser = {"iui_insemination": {"factors": {"face": {"target_fmr": 0.001, "alone_target_fmr": 0.01}}}}
    bad = admin.put("/api/v1/settings/policy", json={"stages": looser}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_alone_target_fmr", bad.json()
    on_finger = {"iui_insemination": {"factors": {"fingerprint": {"alone_target_fmr": 0.0001}}}}
    assert admin.put("/api/v1/settings/policy", json={"stages": on_finger}, headers=h).status_code == 422
    same = {"iui_insemination": {"factors": {"face": {"alone_target_fmr": 0.001}}}}
    assert admin.put("/api/v1/settings/policy", json={"stages": same}, headers=h).status_code == 200
    with daemon.app.state.ctx.session_factory() as db:
        face = resolve(db, Stage.IUI_INSEMINATION, None).biometric.factors["face"]
    assert face.alone_target_fmr == 0.001 and face.alone_threshold == face.threshold
