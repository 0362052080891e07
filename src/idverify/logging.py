"""Structured logs (structlog) that cannot carry personal data.

A processor drops the value of any key that names personal or secret data (names, document numbers, addresses,
birth dates, images, templates, passwords, tokens) before rendering, so a careless ``log.info(..., name=x)``
prints ``"[redacted]"`` instead of the name. Log ids (patient id, request id), never identities.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
SENSITIVE_KEYS = frozenset({
    "name", "full_name", "display_name", "document_number", "id_number", "address", "birth_date", "dob",
    "photo", "image", "frame", "template", "encoding", "minutiae", "fingerprint", "face", "password", "token",
    "api_key", "secret", "authorization", "cookie", "mrz", "signature", "identity",
})


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Resolve sys.stderr at each use: it can be replaced (test capture, daemonisers) after configuration.
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    # Libraries that use stdlib logging (uvicorn, alembic) go to stderr at WARNING and above; request logging
    # is ours (see api/middleware.py), so uvicorn's access log, which would print query strings, stays off.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").disabled = True
