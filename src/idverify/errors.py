"""Domain errors with stable machine-readable codes, and the one catalogue of those codes.

Every failure that can reach a user — over HTTP, the CLI's ``--json`` output or a log line — is an
:class:`IdverifyError` carrying a stable ``code`` (``device_unavailable``, ``card_removed`` …), a message a
person can act on, and the HTTP status it maps to. The API layer renders them as the one error envelope
``{"error": {"code", "message", "message_key", "details"}}``; nothing here knows about HTTP frameworks.

Every code is a member of :class:`ErrorCode`: its value is the wire string clients match on (never rename one),
it carries the HTTP status it answers with and the key of its user-facing text (``error.<code>``) in the web UI's
catalogues. ``docs/errors.md`` is generated from this enumeration (``python -m idverify.web.error_catalogue``).

Messages must never contain personal data (names, document numbers, biometric values): they end up in logs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every error code idverify and its hub answer with, with its HTTP status.

    A raise site may give a more precise status for a device failure (502 for a garbled answer, 504 for a timeout,
    422 when the patient or the card can fix it); otherwise the status below is the one the API answers with.
    """

    status: int

    def __new__(cls, value: str, status: int) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        return member

    @property
    def message_key(self) -> str:
        """The key of the user-facing text in ``locales/*.json``."""
        return f"error.{self.value}"

    # --- general (the exception classes' codes and what the API layer answers by itself) -----------------------
    BAD_REQUEST = "bad_request", 400
    MALFORMED_JSON = "malformed_json", 400
    NOT_AUTHENTICATED = "not_authenticated", 401
    FORBIDDEN = "forbidden", 403
    NOT_FOUND = "not_found", 404
    METHOD_NOT_ALLOWED = "method_not_allowed", 405
    NOT_ACCEPTABLE = "not_acceptable", 406
    CONFLICT = "conflict", 409
    DELIVERY_IN_PROGRESS = "delivery_in_progress", 409  # a webhook delivery is being sent right now
    ENDPOINT_DISABLED = "endpoint_disabled", 409  # redelivery to a webhook endpoint IT disabled
    PAYLOAD_TOO_LARGE = "payload_too_large", 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415
    VALIDATION_ERROR = "validation_error", 422
    TOO_MANY_REQUESTS = "too_many_requests", 429
    HTTP_ERROR = "http_error", 400  # any other HTTP failure: answered with that failure's own status
    INTERNAL_ERROR = "internal_error", 500
    CONFIG_ERROR = "config_error", 500
    CRYPTO_ERROR = "crypto_error", 500
    IO_ERROR = "io_error", 500
    SERVICE_UNAVAILABLE = "service_unavailable", 503
    DATABASE_NOT_MIGRATED = "database_not_migrated", 503
    DATABASE_UNAVAILABLE = "database_unavailable", 503
    DATABASE_BUSY = "database_busy", 503
    DATABASE_ERROR = "database_error", 503
    BUSY = "busy", 503  # every check slot taken and the queue full: retry after Retry-After

    # --- staff, sessions, API keys ----------------------------------------------------------------------------
    INVALID_CREDENTIALS = "invalid_credentials", 401
    ACCOUNT_LOCKED = "account_locked", 401
    SESSION_EXPIRED = "session_expired", 401
    INVALID_TOKEN = "invalid_token", 401
    WORKSTATION_MISMATCH = "workstation_mismatch", 403  # a credential bound to another workstation's devices
    TOKEN_REVOKED = "token_revoked", 401
    TOKEN_EXPIRED = "token_expired", 401
    CSRF_FAILED = "csrf_failed", 403
    USERNAME_TAKEN = "username_taken", 409

    # --- devices and documents --------------------------------------------------------------------------------
    DEVICE_ERROR = "device_error", 503
    DEVICE_UNAVAILABLE = "device_unavailable", 503
    PHOTO_DECODER_ERROR = "photo_decoder_error", 503
    CHECKSUM_ERROR = "checksum_error", 502
    FRAME_TRUNCATED = "frame_truncated", 502
    CAPTURE_TIMEOUT = "capture_timeout", 504
    DEVICE_TIMEOUT = "device_timeout", 504
    NO_FRAME = "no_frame", 504
    NO_CARD = "no_card", 422
    CARD_REMOVED = "card_removed", 422
    CARD_DATA_INVALID = "card_data_invalid", 422
    CARD_AUTH_FAILED = "card_auth_failed", 422
    CARD_UNSUPPORTED = "card_unsupported", 422
    MRZ_REQUIRED = "mrz_required", 422
    BAC_FAILED = "bac_failed", 422
    CAPTURE_FAILED = "capture_failed", 422
    DEVICE_AUTH_FAILED = "device_auth_failed", 422

    # --- biometrics -------------------------------------------------------------------------------------------
    BIOMETRIC_QUALITY = "biometric_quality", 422
    IMAGE_UNREADABLE = "image_unreadable", 422

    # --- cycles, enrolment, checks, overrides, HIS import -----------------------------------------------------
    SEX_MISMATCH = "sex_mismatch", 422
    CYCLE_OPEN = "cycle_open", 409
    CYCLE_CLOSED = "cycle_closed", 409
    IDENTITY_CONFLICT = "identity_conflict", 409
    CONSENT_REQUIRED = "consent_required", 409
    NOT_ENROLLED = "not_enrolled", 409
    PARTNER_REQUIRED = "partner_required", 422
    NO_SUCH_PARTNER = "no_such_partner", 409
    WRONG_STAGE = "wrong_stage", 422
    CHALLENGE_NOT_REQUIRED = "challenge_not_required", 409
    CHALLENGE_UNKNOWN = "challenge_unknown", 422
    CHALLENGE_USED = "challenge_used", 409
    CHALLENGE_MISMATCH = "challenge_mismatch", 409
    CHALLENGE_EXPIRED = "challenge_expired", 409
    OVERRIDE_NOT_NEEDED = "override_not_needed", 409
    ALREADY_OVERRIDDEN = "already_overridden", 409
    NOTE_REQUIRED = "note_required", 422
    OVERRIDE_NEEDS_PERSON = "override_needs_person", 403
    WITNESS_SAME_PERSON = "witness_same_person", 403
    WITNESS_NOT_CLINICAL = "witness_not_clinical", 403
    INVALID_ACTIVE_LIVENESS = "invalid_active_liveness", 422
    INVALID_ALONE_TARGET_FMR = "invalid_alone_target_fmr", 422
    HL7_INVALID = "hl7_invalid", 422
    ID_NUMBER_INVALID = "id_number_invalid", 422  # GB 11643 check character, or birth date / sex contradicted
    HL7_UNSUPPORTED = "hl7_unsupported", 422
    HL7_NO_DOCUMENT = "hl7_no_document", 422
    FHIR_INVALID = "fhir_invalid", 422
    FHIR_NO_DOCUMENT = "fhir_no_document", 422
    # enrolment's document step: the card read is refused before anyone is registered
    DOCUMENT_CHECKSUM_FAILED = "document_checksum_failed", 422
    DOCUMENT_SIGNATURE_INVALID = "document_signature_invalid", 422
    DOCUMENT_NUMBER_UNREADABLE = "document_number_unreadable", 422
    DOCUMENT_INCOMPLETE = "document_incomplete", 422

    # --- reports, exports and the demo ------------------------------------------------------------------------
    BAD_FORMAT = "bad_format", 422
    REPORT_FONT_MISSING = "report_font_missing", 503
    BAD_MONTH = "bad_month", 422
    BAD_TIMEZONE = "bad_timezone", 422
    BAD_DATE = "bad_date", 422
    BAD_DATE_RANGE = "bad_date_range", 422
    FILTER_NOT_VERIFIABLE = "filter_not_verifiable", 422
    PHOTO_NOT_FOUND = "photo_not_found", 404
    UNKNOWN_PERSONA = "unknown_persona", 422
    SIMULATOR_CANNOT_ACT = "simulator_cannot_act", 409
    SAMPLE_DATA_MISSING = "sample_data_missing", 400
    SCENARIO_FAILED = "scenario_failed", 400
    DAEMON_FAILED = "daemon_failed", 500  # bench load: the daemon under measurement did not start or answer
    BENCH_FAILED = "bench_failed", 500  # a benchmark could not measure what it was asked to
    PORT_IN_USE = "port_in_use", 400

    # --- the audit ledger and its witness ---------------------------------------------------------------------
    NO_CHECKPOINT = "no_checkpoint", 404
    LEDGER_DAMAGED = "ledger_damaged", 409
    LEDGER_IMMUTABLE = "ledger_immutable", 409
    LEDGER_TAMPERED = "ledger_tampered", 422
    LEDGER_TRUNCATED = "ledger_truncated", 422
    INTEGRITY_FAILED = "integrity_failed", 422
    NOT_COSIGNED = "not_cosigned", 422
    HUB_UNAVAILABLE = "hub_unavailable", 503
    HUB_REFUSED = "hub_refused", 502

    # --- the regional hub: signed requests, feed, witness, clinics, alerts ------------------------------------
    UNSIGNED_REQUEST = "unsigned_request", 401
    CLOCK_SKEW = "clock_skew", 401
    BAD_SIGNATURE = "bad_signature", 401
    REPLAYED = "replayed", 409
    BAD_ENTRY = "bad_entry", 422
    PROOF_FAILED = "proof_failed", 422
    FEED_GAP = "feed_gap", 409
    FEED_CONFLICT = "feed_conflict", 409
    MALFORMED_REQUEST = "malformed_request", 400
    UNKNOWN_ORIGIN = "unknown_origin", 404
    UNTRUSTED_SIGNATURE = "untrusted_signature", 403
    OLD_SIZE_ABOVE_CHECKPOINT = "old_size_above_checkpoint", 400
    STALE_OLD_SIZE = "stale_old_size", 409
    ROOT_CONFLICT = "root_conflict", 409
    COSIGNED_ROOT_CONFLICT = "cosigned_root_conflict", 409
    BAD_PROOF = "bad_proof", 422
    CONCURRENT_UPDATE = "concurrent_update", 409
    ORIGIN_REGISTERED = "origin_registered", 409
    ALERT_STATUS = "alert_status", 409
    HUB_DEMO_FAILED = "hub_demo_failed", 400


class IdverifyError(Exception):
    """Base of every expected failure. Subclasses fix the default code; the status follows the code.

    The status is the ``status_code`` argument when given, else the status of the ``code`` argument, else the
    class's ``status_code`` (which is its code's status unless the class says otherwise).
    """

    code: ErrorCode = ErrorCode.BAD_REQUEST
    status_code: int = 400

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "status_code" not in cls.__dict__:
            cls.status_code = cls.code.status

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        status_code: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        elif code is not None:
            self.status_code = code.status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error envelope of the API and of ``--json`` output."""
        return {"error": {"code": self.code, "message": self.message, "message_key": self.code.message_key,
                          "details": self.details}}


class ConfigError(IdverifyError):
    """A setting has a wrong value; the message names the setting."""

    code = ErrorCode.CONFIG_ERROR


class NotFoundError(IdverifyError):
    code = ErrorCode.NOT_FOUND


class ConflictError(IdverifyError):
    code = ErrorCode.CONFLICT


class ValidationFailed(IdverifyError):
    code = ErrorCode.VALIDATION_ERROR


class AuthenticationError(IdverifyError):
    code = ErrorCode.NOT_AUTHENTICATED


class PermissionDenied(IdverifyError):
    code = ErrorCode.FORBIDDEN


class DatabaseNotMigrated(IdverifyError):
    code = ErrorCode.DATABASE_NOT_MIGRATED


class CryptoError(IdverifyError):
    """Encryption key missing, wrong or data tampered with. Never return garbage instead."""

    code = ErrorCode.CRYPTO_ERROR


class DeviceError(IdverifyError):
    """A hardware failure. ``code`` is one of the device codes, e.g. ``device_unavailable``,
    ``card_removed``, ``checksum_error``, ``capture_timeout``, ``bac_failed``, ``no_card``.
    Status 503 for a missing device, 504 for timeouts, 422 for what the patient or card can fix."""

    code = ErrorCode.DEVICE_ERROR


class DeviceUnavailable(DeviceError):
    code = ErrorCode.DEVICE_UNAVAILABLE


class DeviceTimeout(DeviceError):
    code = ErrorCode.CAPTURE_TIMEOUT


class BiometricError(IdverifyError):
    """A capture cannot be used (no face, two faces, low quality …); the message says what to do."""

    code = ErrorCode.BIOMETRIC_QUALITY


class ServiceBusy(IdverifyError):
    """More work than the daemon can take now (every check slot taken and the queue full, or the database busy):
    answered 503 with ``Retry-After``, so a client waits and retries instead of seeing a failure."""

    code = ErrorCode.BUSY

    def __init__(self, message: str, *, retry_after_s: int = 2, code: ErrorCode | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s
