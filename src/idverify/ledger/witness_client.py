"""The clinic's HTTP client of the regional hub (the ledger's outside interface: it has its checkpoints witnessed
and its entries fed): add-checkpoint (tlog-witness) and the signed feed requests.

Transport failures and 5xx answers raise :class:`HubUnavailable` (the sync backs off and retries); protocol
answers (200, 409 …) come back as values. The client never retries by itself and never blocks a clinic request:
only the background sync (:mod:`idverify.ledger.hub_sync`) and the export command use it.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from idverify.errors import ErrorCode, IdverifyError
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.witness_protocol import (
    NONCE_HEADER,
    ORIGIN_HEADER,
    SIGNATURE_HEADER,
    SIZE_CONTENT_TYPE,
    TIMESTAMP_HEADER,
    WITNESS_PATH,
    WitnessRequestError,
    add_checkpoint_body,
    parse_size_body,
    request_message,
)

FEED_STATE_PATH = "/feed/state"
FEED_ENTRIES_PATH = "/feed/entries"


class HubUnavailable(IdverifyError):
    code = ErrorCode.HUB_UNAVAILABLE
    status_code = 503


class HubProtocolError(IdverifyError):
    """The hub answered something this client cannot act on (a refusal, or a malformed answer)."""

    code = ErrorCode.HUB_REFUSED
    status_code = 502


@dataclass(frozen=True)
class WitnessAnswer:
    status: int
    lines: str | None = None  # 200: cosignature lines
    size: int | None = None  # 409: the witness's latest cosigned size
    error: str | None = None  # anything else: the hub's error code and message


class HubClient:
    def __init__(self, base_url: str | None = None, *, http: httpx.Client | None = None,
                 timeout_s: float = 10.0) -> None:
        if http is None:
            if not base_url:
                raise ValueError("a base URL or an httpx client is needed")
            http = httpx.Client(base_url=base_url, timeout=timeout_s)
        self._http = http

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            response = self._http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise HubUnavailable(f"the regional hub is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise HubUnavailable(f"the regional hub answered {response.status_code}")
        return response

    def add_checkpoint(self, old_size: int, proof: list[bytes], note: str) -> WitnessAnswer:
        body = add_checkpoint_body(old_size, proof, note)
        resp = self._send("POST", WITNESS_PATH, content=body, headers={"content-type": "text/plain"})
        if resp.status_code == 200:
            return WitnessAnswer(200, lines=resp.text)
        if resp.status_code == 409 and resp.headers.get("content-type", "").startswith(SIZE_CONTENT_TYPE):
            try:
                return WitnessAnswer(409, size=parse_size_body(resp.text))
            except WitnessRequestError:
                raise HubProtocolError("the hub's 409 answer carries no valid tree size") from None
        return WitnessAnswer(resp.status_code, error=_error_text(resp))

    def signed(self, signer: CheckpointSigner, method: str, path: str, payload: dict[str, Any] | None = None
               ) -> httpx.Response:
        """A request signed with the clinic's ledger key (:func:`~idverify.ledger.witness_protocol.request_message`)."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        timestamp = int(time.time())
        nonce = secrets.token_urlsafe(18)
        message = request_message(method, path, signer.origin, timestamp, nonce, body)
        headers = {
            ORIGIN_HEADER: signer.origin,
            TIMESTAMP_HEADER: str(timestamp),
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: base64.b64encode(signer.private_key.sign(message)).decode(),
        }
        if payload is not None:
            headers["content-type"] = "application/json"
        return self._send(method, path, content=body, headers=headers)


def _error_text(resp: httpx.Response) -> str:
    try:
        err = resp.json()["error"]
        return f"{resp.status_code} {err['code']}: {err['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{resp.status_code}"
