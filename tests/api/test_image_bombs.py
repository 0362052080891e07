"""Decompression bombs at the HTTP edge: a 380 KiB PNG that declares 20000×20000 pixels, sent as a face, a
challenge frame, a fingerprint or a document photo, is refused as ``image_too_large`` from its header — no decoder
is ever called — and so are images that are each acceptable but together exceed the request's pixel budget."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import cv2
import pytest

import idverify.biometrics.face


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _bomb(side: int = 20000) -> bytes:
    """A complete, valid PNG of side×side black pixels: 100 identical full-flush deflate blocks of 200 rows."""
    rows = b"\x00" * (side + 1) * (side // 100)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(rows) + raw.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no history: repeatable
    adler = 1
    for _ in range(100):
        adler = zlib.adler32(rows, adler)
    stream = b"\x78\xda" + block * 100 + b"\x03\x00" + struct.pack(">I", adler)
    return _png(side, side, stream)


@pytest.fixture(scope="module")
def bomb() -> str:
    data = _bomb()
    assert len(data) < 400 * 1024
    return base64.b64encode(data).decode()


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any image decoder runs."""
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(cv2, "imdecode", refuse)
    monkeypatch.setattr(idverify.biometrics.face, "load_image", refuse)


def _fields(image: str) -> list[tuple[str, dict[str, Any], list[str]]]:
    return [
        ("face", {"face_images_base64": [image]}, ["body", "face_images_base64", "0"]),
        ("fingerprint", {"fingerprints": [{"position": "right_index", "image_base64": image}]},
         ["body", "fingerprints", "0", "image_base64"]),
        # the schema caps a document photo at 500,000 characters: the same declared size in a header-only PNG
        ("document photo", {"document": {"document_type": "passport", "document_number": "E12345678",
                                         "photo_base64": base64.b64encode(_png(20000, 20000, b"")).decode()}},
         ["body", "document", "photo_base64"]),
    ]


def test_a_bomb_is_refused_from_its_header_in_every_image_field(make_app: Any, bomb: str, no_decoding: None) -> None:
    daemon = make_app()
    nurse, csrf = daemon.login("nurse1")
    h = {"X-CSRF-Token": csrf}
    for what, body, loc in _fields(bomb):
        resp = nurse.post("/api/v1/patients/no-such-patient/enrolment", json=body, headers=h)
        assert resp.status_code == 422, (what, resp.text)
        detail = resp.json()["error"]["details"][0]
        assert detail["type"] == "image_too_large" and detail["loc"] == loc, what
        assert detail["msg"].startswith("image larger than")
    frames = nurse.post("/api/v1/cycles/no-such-cycle/checks", headers=h,
                        json={"stage": "egg_retrieval", "challenge_frames_base64": [bomb]})
    assert frames.status_code == 422
    assert frames.json()["error"]["details"][0]["loc"] == ["body", "challenge_frames_base64", "0"]


def test_the_request_pixel_budget_is_checked_before_anything_is_decoded(make_app: Any, no_decoding: None) -> None:
    daemon = make_app(max_request_pixels=40_000_000)
    nurse, csrf = daemon.login("nurse1")
    each = base64.b64encode(_png(3000, 3000, b"")).decode()  # 9 Mpx: fine alone, header only
    resp = nurse.post("/api/v1/patients/no-such-patient/enrolment", headers={"X-CSRF-Token": csrf},
                      json={"face_images_base64": [each] * 5})
    assert resp.status_code == 422
    detail = resp.json()["error"]["details"][0]
    assert detail["loc"] == ["body", "face_images_base64", "4"] and detail["type"] == "image_too_large"
    assert "40000000 pixels in total" in detail["msg"]


def test_the_per_image_limit_is_a_setting(make_app: Any, no_decoding: None) -> None:
    daemon = make_app(max_image_pixels=1000 * 1000)
    nurse, csrf = daemon.login("nurse1")
    image = base64.b64encode(_png(1001, 1000, b"")).decode()
    resp = nurse.post("/api/v1/patients/no-such-patient/enrolment", headers={"X-CSRF-Token": csrf},
                      json={"fingerprints": [{"position": "left_index", "image_base64": image}]})
    assert resp.status_code == 422 and resp.json()["error"]["details"][0]["type"] == "image_too_large"
