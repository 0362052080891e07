"""The result screen's two pictures: the sealed enrolment photo and the in-memory live frame.

Who may see them (this workstation's nurses only), that nothing personal is in their URLs, that they are never
cached, and that the enrolment photo goes wherever the templates go (consent withdrawal, refusal of face,
patient deletion, retention)."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select, update

from idverify.biometrics.face import get_face_engine, load_image
from idverify.errors import BiometricError
from idverify.store.base import utcnow
from idverify.store.models import BiometricSample, Verification
from idverify.workflow import result_photos

FEMALE = {"document_type": "cn_resident_id", "document_number": "110101199003074565", "name": "照片测试",
          "sex": "F", "birth_date": "1990-03-07"}
DOC = {"document_type": FEMALE["document_type"], "document_number": FEMALE["document_number"]}


@pytest.fixture
def samples(shared_data: Path) -> dict[str, Path]:
    face, finger = shared_data / "face" / "asian_dev" / "cn_s10", shared_data / "fingerprint" / "FVC2002_DB1_B"
    if not (face.is_dir() and finger.is_dir()):
        pytest.skip("asian_dev faces or FVC2002_DB1_B fingerprints missing")
    return {"face": face, "finger": finger}


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


class Setup:
    def __init__(self, make_app: Any, samples: dict[str, Path], accepted: list[str]) -> None:
        self.daemon = make_app()
        self.samples = samples
        self.nurse, csrf = self.daemon.login("nurse1")
        self.h = {"X-CSRF-Token": csrf}
        patient = self.call("POST", "/patients", json=FEMALE)["patient"]
        self.patient_id: str = patient["id"]
        self.call("POST", f"/patients/{self.patient_id}/consent", json={"accepted": accepted})
        self.enrolment = self.enrol()
        couple = self.call("POST", "/couples", json={"female_patient_id": self.patient_id})
        cycle = self.call("POST", "/cycles", json={"couple_id": couple["id"], "kind": "donor_sperm_ivf"})
        self.cycle_id: str = cycle["id"]

    def enrol(self) -> dict[str, Any]:
        enrolled: dict[str, Any] = self.call("POST", f"/patients/{self.patient_id}/enrolment", json={
            "document": DOC,
            "face_images_base64": [_b64(self.samples["face"] / n) for n in ("10_12.jpg", "10_5.jpg", "10_9.jpg")],
            "fingerprints": [
                {"position": "right_index", "image_base64": _b64(self.samples["finger"] / "101_1.tif")},
                {"position": "left_index", "image_base64": _b64(self.samples["finger"] / "102_1.tif")}]})
        assert enrolled["status"] == "complete", enrolled["result"]
        return enrolled

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.nurse.request(method, "/api/v1" + path, headers=self.h, **kwargs)
        assert resp.status_code < 300, resp.text
        return resp.json()

    def check(self) -> dict[str, Any]:
        body: dict[str, Any] = self.call("POST", f"/cycles/{self.cycle_id}/checks", json={
            "stage": "egg_retrieval", "document": DOC,
            "face_images_base64": [_b64(self.samples["face"] / "0-LEyP4d.jpg")],
            "fingerprints": [{"position": "right_index", "image_base64": _b64(self.samples["finger"] / "101_3.tif")}]})
        return body

    def photo_rows(self) -> list[BiometricSample]:
        with self.daemon.app.state.ctx.session_factory() as db:
            return list(db.scalars(select(BiometricSample).where(BiometricSample.patient_id == self.patient_id)))


def _jpeg_shape(data: bytes) -> tuple[int, ...]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return tuple(image.shape)


def test_enrolment_keeps_one_small_sealed_face_photo_and_the_check_shows_both(
        make_app: Any, samples: dict[str, Path]) -> None:
    s = Setup(make_app, samples, ["face", "fingerprint"])
    assert s.enrolment["result"]["reference_photo"] is True
    rows = s.photo_rows()
    assert [r.kind for r in rows] == ["enrolment_photo"]
    assert b"\xff\xd8" not in rows[0].envelope[:64]  # sealed, not a JPEG on disk
    body = s.check()
    vid = body["verification"]["id"]
    assert body["images"] == {"enrolment": f"/api/v1/verifications/{vid}/photos/enrolment",
                              "live": f"/api/v1/verifications/{vid}/photos/live"}
    for kind, max_width in (("enrolment", result_photos.PHOTO_WIDTH), ("live", result_photos.LIVE_WIDTH)):
        resp = s.nurse.get(body["images"][kind])
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "image/jpeg"
        assert resp.headers["cache-control"] == "no-store"
        height, width, _ = _jpeg_shape(resp.content)
        assert 0 < width <= max_width and height > 0
    # a second enrolment replaces the photo instead of adding one
    s.enrol()
    assert len(s.photo_rows()) == 1


def test_only_this_workstations_nurses_see_the_photos(make_app: Any, samples: dict[str, Path]) -> None:
    s = Setup(make_app, samples, ["face", "fingerprint"])
    images = s.check()["images"]
    nurse2, _ = s.daemon.login("nurse2")
    assert nurse2.get(images["enrolment"]).status_code == 200  # any nurse of this workstation
    inspector, _ = s.daemon.login("inspector")
    admin, _ = s.daemon.login("admin")
    for client in (inspector, admin):
        assert client.get(images["enrolment"]).status_code == 403
        assert client.get(images["live"]).status_code == 403
    assert s.daemon.client().get(images["live"]).status_code == 401
    missing = s.nurse.get("/api/v1/verifications/00000000-0000-0000-0000-000000000000/photos/enrolment")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "photo_not_found"
    assert s.nurse.get(images["live"].replace("/live", "/other")).status_code == 422
    # a check of another workstation: same answer as a missing one
    with s.daemon.app.state.ctx.session_factory() as db:
        db.execute(update(Verification).values(workstation_id="ws-elsewhere"))
        db.commit()
    for url in images.values():
        assert s.nurse.get(url).status_code == 404


class CountingDetector:
    """The engine's own face detector, counting the images it is asked to look at (keyed by their pixels)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def detect(self, rgb: np.ndarray, **kwargs: Any) -> Any:
        self.calls[_pixels_key(rgb)] += 1
        return self.inner.detect(rgb, **kwargs)


def _pixels_key(rgb: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()


def test_the_photo_is_cut_from_the_first_frame_with_a_face_even_an_unusable_one(
        make_app: Any, samples: dict[str, Path]) -> None:
    """The first enrolment frame has a face too small for a template; the photo still comes from it, as the
    detection the analysis made (and keeps when the analysis fails) is what the crop uses."""
    engine = get_face_engine()
    first = load_image(samples["face"] / "10_12.jpg")
    with pytest.raises(BiometricError):
        engine.analyse(first)
    expected = result_photos.face_crop(first, engine.detector.detect(first)[0])
    assert expected is not None
    s = Setup(make_app, samples, ["face", "fingerprint"])
    resp = s.nurse.get(s.check()["images"]["enrolment"])
    assert resp.status_code == 200
    assert resp.content == result_photos._jpeg(expected, result_photos.PHOTO_WIDTH)


def test_enrolment_detects_each_face_frame_as_often_as_the_others(
        make_app: Any, samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The photo frame (the first) is not detected once more for its crop than the frames not photographed."""
    engine = get_face_engine()
    counter = CountingDetector(engine.detector)
    monkeypatch.setattr(engine, "detector", counter)
    s = Setup(make_app, samples, ["face", "fingerprint"])
    assert s.enrolment["result"]["reference_photo"] is True
    frames = [_pixels_key(load_image(samples["face"] / n)) for n in ("10_12.jpg", "10_5.jpg", "10_9.jpg")]
    counts = [counter.calls[key] for key in frames]
    assert counts[0] >= 1 and counts == [counts[0]] * 3, counts


@pytest.mark.parametrize("how", ["withdrawal", "deletion", "refuse_face", "retention"])
def test_the_enrolment_photo_goes_with_the_templates(make_app: Any, samples: dict[str, Path], how: str) -> None:
    s = Setup(make_app, samples, ["face", "fingerprint"])
    images = s.check()["images"]
    assert len(s.photo_rows()) == 1
    if how == "withdrawal":
        s.call("POST", f"/patients/{s.patient_id}/consent/withdrawal")
    elif how == "deletion":
        s.call("POST", f"/patients/{s.patient_id}/deletion", json={"reason": "patient request"})
    elif how == "refuse_face":
        s.call("POST", f"/patients/{s.patient_id}/consent", json={"accepted": ["fingerprint"], "refused": ["face"]})
    else:
        from idverify.workflow.retention import purge

        s.call("POST", f"/cycles/{s.cycle_id}/close")
        ctx = s.daemon.app.state.ctx
        with ctx.session_factory() as db:
            later = utcnow() + timedelta(days=ctx.settings.template_retention_days + 1)
            report = purge(db, ctx.settings, now=later)
            db.commit()
        assert report.samples == 1
    assert s.photo_rows() == []
    assert s.nurse.get(images["enrolment"]).status_code == 404


def test_no_face_consent_no_photo(make_app: Any, samples: dict[str, Path]) -> None:
    s = Setup(make_app, samples, ["fingerprint"])
    assert s.enrolment["result"]["reference_photo"] is False
    assert s.photo_rows() == []
    assert "enrolment" not in s.check()["images"]


def test_live_frames_expire_and_stay_bounded() -> None:
    now = [0.0]
    frames = result_photos.LiveFrames(ttl_s=300, max_entries=2, clock=lambda: now[0])
    image = np.zeros((480, 640, 3), np.uint8)
    frames.put("v1", "ws-a", image)
    assert frames.get("v1", "ws-b") is None  # another workstation
    jpeg = frames.get("v1", "ws-a")
    assert jpeg is not None and _jpeg_shape(jpeg)[1] == result_photos.LIVE_WIDTH
    now[0] = 301
    assert frames.get("v1", "ws-a") is None and "v1" not in frames
    for vid in ("v2", "v3", "v4"):
        frames.put(vid, "ws-a", image)
    assert "v2" not in frames and "v3" in frames and "v4" in frames
