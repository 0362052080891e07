"""Domain errors with stable machine-readable codes.

Every failure that can reach a user — over HTTP, the CLI's ``--json`` output or a log line — is an
:class:`IdverifyError` carrying a stable ``code`` (``device_unavailable``, ``card_removed`` …), a message a
person can act on, and the HTTP status it maps to. The API layer renders them as the one error envelope
``{"error": {"code", "message", "details"}}``; nothing here knows about HTTP frameworks.

Messages must never contain personal data (names, document numbers, biometric values): they end up in logs.
"""

from __future__ import annotations

from typing import Any


class IdverifyError(Exception):
    """Base of every expected failure. Subclasses fix the default status and code."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error envelope of the API and of ``--json`` output."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigError(IdverifyError):
    """A setting has a wrong value; the message names the setting."""

    code = "config_error"
    status_code = 500


class NotFoundError(IdverifyError):
    code = "not_found"
    status_code = 404


class ConflictError(IdverifyError):
    code = "conflict"
    status_code = 409


class ValidationFailed(IdverifyError):
    code = "validation_error"
    status_code = 422


class AuthenticationError(IdverifyError):
    code = "not_authenticated"
    status_code = 401


class PermissionDenied(IdverifyError):
    code = "forbidden"
    status_code = 403


class DatabaseNotMigrated(IdverifyError):
    code = "database_not_migrated"
    status_code = 503


class CryptoError(IdverifyError):
    """Encryption key missing, wrong or data tampered with. Never return garbage instead."""

    code = "crypto_error"
    status_code = 500


class DeviceError(IdverifyError):
    """A hardware failure. ``code`` is one of the device codes, e.g. ``device_unavailable``,
    ``card_removed``, ``checksum_error``, ``capture_timeout``, ``bac_failed``, ``no_card``, ``no_finger``.
    Status 503 for a missing device, 504 for timeouts, 422 for what the patient or card can fix."""

    code = "device_error"
    status_code = 503


class DeviceUnavailable(DeviceError):
    code = "device_unavailable"
    status_code = 503


class DeviceTimeout(DeviceError):
    code = "capture_timeout"
    status_code = 504


class BiometricError(IdverifyError):
    """A capture cannot be used (no face, two faces, low quality …); the message says what to do."""

    code = "biometric_quality"
    status_code = 422


class ServiceBusy(IdverifyError):
    """More work than the daemon can take now (every check slot taken and the queue full, or the database busy):
    answered 503 with ``Retry-After``, so a client waits and retries instead of seeing a failure."""

    code = "busy"
    status_code = 503

    def __init__(self, message: str, *, retry_after_s: int = 2, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s
