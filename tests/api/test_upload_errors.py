"""Base64 uploads are decoded at the HTTP edge: a field that is not base64, or not an image, is a 422 naming that
field (message and details.loc), before any patient, cycle or device is looked at — and the value is not echoed."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np
import pytest

from idverify.api.uploads import MAX_IMAGE_PIXELS, decode_image, field_name
from idverify.errors import ValidationFailed

NOT_B64 = "this is not base64 at all!"
NOT_IMAGE = base64.b64encode(b"plain text, certainly not a JPEG or PNG").decode()


def _png(shape: tuple[int, ...]) -> str:
    ok, buf = cv2.imencode(".png", np.zeros(shape, np.uint8))
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def _error(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 422, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["code"] == "validation_error"
    return error


CASES: list[tuple[dict[str, Any], list[str], str]] = [
    ({"face_images_base64": [_png((8, 8, 3)), NOT_B64]}, ["body", "face_images_base64", "1"], "base64_invalid"),
    ({"face_images_base64": [NOT_IMAGE]}, ["body", "face_images_base64", "0"], "image_invalid"),
    ({"fingerprints": [{"position": "right_index", "image_base64": NOT_B64}]},
     ["body", "fingerprints", "0", "image_base64"], "base64_invalid"),
    ({"fingerprints": [{"position": "left_index", "image_base64": _png((8, 8))},
                       {"position": "right_index", "image_base64": NOT_IMAGE}]},
     ["body", "fingerprints", "1", "image_base64"], "image_invalid"),
    ({"document": {"document_type": "passport", "document_number": "E12345678", "photo_base64": NOT_B64}},
     ["body", "document", "photo_base64"], "base64_invalid"),
]


def test_enrolment_upload_errors_name_the_field(make_app: Any) -> None:
    daemon = make_app()
    nurse, csrf = daemon.login("nurse1")
    for body, loc, kind in CASES:
        error = _error(nurse.post("/api/v1/patients/no-such-patient/enrolment", json=body,
                                  headers={"X-CSRF-Token": csrf}))
        assert error["details"] == [{"loc": loc, "msg": error["details"][0]["msg"], "type": kind}], loc
        assert error["message"].startswith(field_name(tuple(int(p) if p.isdigit() else p for p in loc[1:])) + ": ")
        assert NOT_B64 not in str(error) and NOT_IMAGE not in str(error)


def test_check_challenge_frames_and_consent_signature(make_app: Any) -> None:
    daemon = make_app()
    nurse, csrf = daemon.login("nurse1")
    h = {"X-CSRF-Token": csrf}
    error = _error(nurse.post("/api/v1/cycles/no-such-cycle/checks", headers=h, json={
        "stage": "egg_retrieval", "challenge_frames_base64": [_png((8, 8, 3)), _png((8, 8, 3)), NOT_IMAGE]}))
    assert error["message"] == "challenge_frames_base64[2]: not a decodable image"
    assert error["details"][0]["loc"] == ["body", "challenge_frames_base64", "2"]
    error = _error(nurse.post("/api/v1/patients/no-such-patient/consent", headers=h, json={
        "accepted": ["face"], "signature_png_base64": NOT_B64}))
    assert error["message"] == "signature_png_base64: not valid base64"
    assert error["details"][0] == {"loc": ["body", "signature_png_base64"], "msg": "not valid base64",
                                   "type": "base64_invalid"}


def test_decode_image_sizes_and_names() -> None:
    assert field_name(("fingerprints", 3, "image_base64")) == "fingerprints[3].image_base64"
    assert field_name(("document", "photo_base64")) == "document.photo_base64"
    grey = decode_image(_png((6, 5)), ("f",), grey=True)
    assert grey.shape == (6, 5) and grey.dtype == np.uint8
    assert decode_image(_png((6, 5)), ("f",)).shape == (6, 5, 3)  # colour images come back RGB
    side = int(MAX_IMAGE_PIXELS ** 0.5) + 1
    with pytest.raises(ValidationFailed) as exc:
        decode_image(_png((side, side)), ("fingerprints", 0, "image_base64"), grey=True)
    assert exc.value.details[0]["type"] == "image_too_large"
    assert exc.value.message.startswith("fingerprints[0].image_base64: image larger than")
