"""Malformed requests get a precise 4xx in the error envelope — never a 500."""

from __future__ import annotations

from typing import Any

import httpx

from idverify.i18n import catalogue, interpolate


def _code(resp: Any) -> str:
    code: str = resp.json()["error"]["code"]
    return code


def test_malformed_json_wrong_types_unknown_fields(make_app: Any) -> None:
    daemon = make_app()
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf, "content-type": "application/json"}
    resp = admin.post("/api/v1/staff", content=b'{"username": ', headers=h)
    assert resp.status_code == 400 and _code(resp) == "malformed_json"
    resp = admin.post("/api/v1/staff", json={"username": 5, "display_name": "x", "role": "nurse",
                                             "password": "long-enough-pw"}, headers=h)
    assert resp.status_code == 422 and _code(resp) == "validation_error"
    assert resp.json()["error"]["details"][0]["loc"] == ["body", "username"]
    resp = admin.post("/api/v1/staff", json={"username": "ok", "display_name": "x", "role": "nurse",
                                             "password": "long-enough-pw", "is_superuser": True}, headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["details"][0]["type"] == "extra_forbidden"
    resp = admin.post("/api/v1/staff", json={"username": "ok", "display_name": "x", "role": "god",
                                             "password": "long-enough-pw"}, headers=h)
    assert resp.status_code == 422


def test_validation_details_carry_the_type_a_screen_translates_and_the_schema_limits(make_app: Any) -> None:
    """Each problem names its pydantic ``type`` (``reason.validation.<type>`` in both catalogues) and the schema's
    numeric limits (``ctx``) — never the submitted value — so a Chinese screen says it in Chinese."""
    daemon = make_app()
    admin, csrf = daemon.login("admin")
    h = {"X-CSRF-Token": csrf}
    resp = admin.post("/api/v1/staff", json={"username": "x", "display_name": "x", "role": "nurse",
                                             "password": "long-enough-pw"}, headers=h)
    assert resp.status_code == 422
    (detail,) = resp.json()["error"]["details"]
    assert detail["type"] == "string_too_short" and detail["ctx"] == {"min_length": 2}
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert interpolate(zh["reason.validation.string_too_short"], detail["ctx"]) == "太短（至少 2 个字符）"
    assert "reason.validation.string_too_short" in en


def test_validation_errors_do_not_echo_input(make_app: Any) -> None:
    daemon = make_app()
    client = daemon.client()
    resp = client.post("/api/v1/auth/login", json={"username": "张三 110101199003074578", "password": "x"})
    assert resp.status_code == 422
    assert "110101199003074578" not in resp.text and "张三" not in resp.text


def test_oversize_bodies_are_refused(make_app: Any) -> None:
    daemon = make_app(max_body_bytes=2048)
    client = daemon.client()
    big = b'{"username": "' + b"a" * 5000 + b'", "password": "x"}'
    resp = client.post("/api/v1/auth/login", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and _code(resp) == "payload_too_large"

    async def chunks() -> Any:  # no Content-Length: the limit applies while streaming
        yield b'{"username": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'", "password": "x"}'

    transport = httpx.ASGITransport(app=daemon.app)

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
            return await ac.post("/api/v1/auth/login", content=chunks(),
                                 headers={"content-type": "application/json"})

    import asyncio

    resp = asyncio.run(send())
    assert resp.status_code == 413


def test_unknown_routes_and_methods(make_app: Any) -> None:
    client = make_app().client()
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and _code(resp) == "not_found"
    resp = client.delete("/healthz")
    assert resp.status_code == 405 and _code(resp) == "method_not_allowed"


def test_request_id_is_echoed_or_assigned(make_app: Any) -> None:
    client = make_app().client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc12345-given"}).headers["x-request-id"] == \
        "abc12345-given"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32
