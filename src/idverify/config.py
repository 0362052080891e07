"""Settings: environment variables ``IDVERIFY_*`` over an optional TOML file over defaults.

This is the only module that reads the environment. Everything else receives a :class:`Settings`
instance (the app factory stores it on ``app.state.settings``; the CLI builds one per command), so tests
can run several differently-configured apps in one process.

The settings file is ``$IDVERIFY_CONFIG_FILE`` if set, else ``./idverify.toml`` or ``/etc/idverify/idverify.toml``
when present; keys are the field names below without the prefix (``port = 8700``). A wrong value stops
start-up with a message naming the setting as the user would type it (``IDVERIFY_PORT``).
"""

from __future__ import annotations

import os
import socket
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from idverify.errors import ConfigError

ENV_PREFIX = "IDVERIFY_"
DEFAULT_CONFIG_FILES = (Path("idverify.toml"), Path("/etc/idverify/idverify.toml"))


def _config_file() -> Path | None:
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE: no such file: {path}")
        return path
    return next((p for p in DEFAULT_CONFIG_FILES if p.is_file()), None)


def proxy_networks(spec: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Parse a comma-separated list of addresses or CIDR networks (``10.0.0.5, 192.168.1.0/24``)."""
    networks = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def sample_data_root() -> Path:
    """The public sample sets (``face/``, ``fingerprint/``) for the demo's simulators and scenario:
    ``$IDVERIFY_SHARED_DATA``, else ``../shared/data`` beside the source checkout. Never inside the package (the
    samples are for tests and demos only); not a :class:`Settings` field because a deployed daemon never reads it."""
    env = os.environ.get("IDVERIFY_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "idverify"


class Settings(BaseSettings):
    """Every tunable of the daemon. Field docs double as the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # --- where things live
    data_dir: Path = Field(default_factory=_default_data_dir, description="Database, keys, exports, temp captures.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty = SQLite in the data dir. postgresql+psycopg://… supported."
    )
    # --- the daemon
    host: str = Field(default="127.0.0.1", description="Listen address.")
    port: int = Field(default=8700, ge=1, le=65535, description="Listen port.")
    workstation_id: str = Field(
        default_factory=socket.gethostname, min_length=1, max_length=64,
        description="Name of this workstation; scopes nurses' results.",
    )
    clinic_name: str = Field(default="idverify clinic", max_length=200, description="Shown in reports and the UI.")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=True, description="JSON log lines (false: human-readable console).")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="Largest accepted request body.")
    max_image_pixels: int = Field(
        default=4096 * 4096, ge=64 * 64, description="Largest uploaded image (width × height), read from its header "
        "before any decoding.")
    max_request_pixels: int = Field(
        default=50_000_000, ge=64 * 64, description="Most image pixels one request may upload in total (faces, "
        "challenge frames, fingerprints, document photo).")
    session_ttl_minutes: int = Field(default=12 * 60, ge=1, description="Web login lifetime.")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (enable behind HTTPS).")
    trusted_proxies: str = Field(
        default="", description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For is believed when throttling password guesses per client; empty = the socket's peer.")
    # --- HIS interface
    mllp_port: int = Field(
        default=0, ge=0, le=65535, description="HL7 v2 over MLLP listener port (ADT from the HIS interface "
        "engine, answered with ACKs); 0 = off. Conventionally 2575.")
    mllp_host: str = Field(default="127.0.0.1", description="MLLP listen address (MLLP has no encryption: expose it "
                           "only on the clinic network, through a VPN or TLS tunnel).")
    mllp_api_key_file: Path | None = Field(
        default=None, description="File with the API key (role nurse) the MLLP listener acts as; imports are "
        "attributed to it, and revoking it stops them. Required with mllp_port.")
    # --- keys
    key_file: Path | None = Field(
        default=None, description="Master key file (32 random bytes, base64) that wraps template keys; "
        "default <data_dir>/keys/master.key, created on first start."
    )
    master_key: str | None = Field(default=None, description="Master key as base64 (overrides key_file).")
    signing_key_file: Path | None = Field(
        default=None, description="Ed25519 key signing ledger checkpoints; default <data_dir>/keys/ledger.key, "
        "synced from the clinic's one key kept in the database (all workstations share it); set it only to "
        "distribute one key file yourself."
    )
    # --- devices
    simulate: bool = Field(default=False, description="Start the built-in device simulators (demo mode).")
    simulate_paced: bool = Field(
        default=False, description="Demo only: the simulated reader and sensor send at their baud rates, so a "
        "check waits as long as with real devices (a fingerprint image upload takes seconds).")
    demo_faces: Path | None = Field(
        default=None, description="Demo only: folder of face photos for the simulated people, one sub-folder per "
        "person (three at least); default: the public samples beside a source checkout, when present."
    )
    id_reader_port: str | None = Field(default=None, description="GA 467 ID-card reader serial device.")
    id_reader_baud: int = Field(default=115200, description="GA 467 reader baud rate.")
    wlt_library: Path | None = Field(
        default=None, description="Vendor WLT photo decoder shared library for GA 467 ID-card photos "
        "(see drivers/photo_decoder.md); without one the card photo is reported unavailable."
    )
    pcsc_reader: str | None = Field(default=None, description="PC/SC reader name or substring (eMRTD).")
    fingerprint_port: str | None = Field(default=None, description="ZhianTec/R30x sensor serial device.")
    fingerprint_baud: int = Field(default=57600, description="Fingerprint sensor baud rate (9600×N).")
    fingerprint_fast_baud: int = Field(
        default=115200, ge=0, le=115200, description="Switch a sensor found at a slower rate to this one (9600×N; "
        "halves the image upload at 115200); 0 keeps the configured rate."
    )
    fingerprint_password: int = Field(default=0, ge=0, le=0xFFFFFFFF, description="Sensor handshake password.")
    camera: str | None = Field(default=None, description="Camera: index, video/image file, folder of frames or URL.")
    camera_width: int = Field(default=640, ge=64, description="Requested frame width.")
    camera_height: int = Field(default=480, ge=48, description="Requested frame height.")
    camera_fps: int = Field(default=15, ge=1, le=120, description="Requested frame rate.")
    csca_dir: Path | None = Field(default=None, description="Trust anchors (CSCA certificates) for passive auth.")
    # --- biometrics and policy
    models_dir: Path | None = Field(
        default=None, description="Model files and calibrated thresholds (manifest.json with checksums); "
        "default: the models shipped in the package."
    )
    # --- reports
    report_font: Path | None = Field(
        default=None, description="TrueType CJK font (.ttf/.ttc) embedded in PDF reports; default: WenQuanYi Micro "
        "Hei from the Debian package fonts-wqy-microhei."
    )
    # --- ledger
    checkpoint_interval_s: int = Field(default=300, ge=1, description="Seconds between signed ledger checkpoints.")
    integrity_check_interval_s: int = Field(
        default=300, ge=10, description="Seconds between full ledger re-verifies (new entries are verified before "
        "every checkpoint).")
    # --- regional hub (the clinic side; see idverify/hub/README.md)
    hub_url: str | None = Field(
        default=None, description="Regional hub base URL (https://…); empty = no witness, no feed."
    )
    hub_witness_key: str | None = Field(
        default=None, description="The hub witness's verifier key (name+keyid+base64, from `idverify hub "
        "witness-key`); cosignatures are checked against it."
    )
    hub_sync_interval_s: int = Field(
        default=30, ge=1, description="Seconds between hub synchronisations (cosignature, then feed)."
    )
    region_key_file: Path | None = Field(
        default=None, description="Regional pseudonymisation key from the health commission (32+ random bytes, "
        "base64); empty = no regional pseudonyms."
    )
    # --- retention
    max_concurrent_checks: int = Field(
        default_factory=lambda: 2 * (os.cpu_count() or 1), ge=1, le=256,
        description="Checks and enrolments matched at once (default 2 × CPU cores); the rest wait in a queue.",
    )
    check_queue: int = Field(
        default=32, ge=0, le=10_000, description="Checks that may wait for a slot; beyond it: 503 busy + Retry-After."
    )
    check_queue_timeout_s: float = Field(
        default=60.0, gt=0, le=600, description="Longest wait for a check slot before a 503 busy + Retry-After."
    )
    raw_image_retention_hours: int = Field(
        default=0, ge=0, description="Keep raw captures this long; 0 = delete right after template extraction."
    )
    template_retention_days: int = Field(
        default=365, ge=0, description="Keep templates this many days after a cycle closes."
    )

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        proxy_networks(value)  # refuses a malformed entry at start, not at the first login
        return value

    @field_validator("fingerprint_baud", "fingerprint_fast_baud")
    @classmethod
    def _fingerprint_baud(cls, value: int, info: ValidationInfo) -> int:
        off = value == 0 and info.field_name == "fingerprint_fast_baud"  # 0: keep the configured rate
        if not off and (value % 9600 or not 9600 <= value <= 115200):
            raise ValueError("must be a multiple of 9600 between 9600 and 115200")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; plain URLs would select psycopg2.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """:attr:`trusted_proxies` parsed."""
        return proxy_networks(self.trusted_proxies)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # --- derived values (not settings themselves)
    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'idverify.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.keys_dir / "master.key"

    @property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.keys_dir / "ledger.key"

    @field_validator("hub_url")
    @classmethod
    def _hub_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// on a trusted network)")
        return value.rstrip("/") if value else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one :class:`ConfigError` that names each setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


HUB_ENV_PREFIX = "IDVERIFY_HUB_"


def _default_hub_data_dir() -> Path:
    return _default_data_dir().with_name("idverify-hub")


class HubSettings(BaseSettings):
    """Settings of the regional hub (``idverify hub …``): environment ``IDVERIFY_HUB_*`` over an optional TOML
    file (``$IDVERIFY_HUB_CONFIG_FILE``, else ``/etc/idverify/hub.toml``) over defaults."""

    model_config = SettingsConfigDict(env_prefix=HUB_ENV_PREFIX, extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=_default_hub_data_dir, description="Hub keys and SQLite database.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL of the hub's own database; empty = SQLite in the hub data dir."
    )
    host: str = Field(default="127.0.0.1", description="Hub listen address.")
    port: int = Field(default=8800, ge=1, le=65535, description="Hub listen port.")
    name: str = Field(
        default="", max_length=200, description="Witness key name (a schema-less URL such as "
        "hub.example-health.gov.cn/witness); empty = idverify-hub/<key hash>."
    )
    witness_key_file: Path | None = Field(
        default=None, description="Witness Ed25519 key; default <hub data dir>/keys/witness.key."
    )
    ledger_key_file: Path | None = Field(
        default=None, description="Key signing the hub's own ledger; default <hub data dir>/keys/hub-ledger.key."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=True, description="JSON log lines.")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Largest accepted request body.")
    session_ttl_minutes: int = Field(default=8 * 60, ge=1, description="Inspector login lifetime.")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (enable behind HTTPS).")
    request_skew_s: int = Field(
        default=300, ge=5, description="Largest clock difference accepted on a clinic's signed request."
    )
    feed_max_batch: int = Field(default=2000, ge=1, le=100_000, description="Most entries in one feed batch.")
    ledger_interval_s: int = Field(
        default=10, ge=1, description="Seconds between writes of pending hub actions to the hub ledger."
    )
    checkpoint_interval_s: int = Field(default=300, ge=1, description="Seconds between hub ledger checkpoints.")
    alert_interval_s: int = Field(default=300, ge=1, description="Seconds between region-wide alert sweeps.")
    silence_hours: float = Field(
        default=24.0, gt=0, description="A clinic with no cosigned checkpoint for this long is flagged silent."
    )
    egg_retrieval_limit: int = Field(
        default=3, ge=1, description="Most egg retrievals for one person within 12 months, across clinics."
    )
    rate_min_checks: int = Field(
        default=20, ge=1, description="Monthly checks a clinic or staff member needs before its rates are judged."
    )
    rate_factor: float = Field(default=2.0, ge=1.0, description="Rate must exceed the rest of the region × this.")
    rate_z: float = Field(default=3.0, ge=0.0, description="…and lie this many binomial standard errors above it.")
    pseudonym_min_patients: int = Field(
        default=30, ge=1, description="Patients a clinic must register in 30 days before its pseudonyms' match "
        "rate is judged (misconfigured regional key)."
    )
    region_key_ids: str = Field(
        default="", description="Accepted regional pseudonymisation key ids (comma-separated, printed by "
        "`idverify hub region-key`); empty = the key most clinics use. The hub never holds the key itself."
    )

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return Settings._log_level(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return Settings._database_url(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        explicit = os.environ.get(f"{HUB_ENV_PREFIX}CONFIG_FILE")
        path = Path(explicit) if explicit else Path("/etc/idverify/hub.toml")
        if explicit and not path.is_file():
            raise ConfigError(f"{HUB_ENV_PREFIX}CONFIG_FILE: no such file: {path}")
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hub.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def resolved_witness_key_file(self) -> Path:
        return self.witness_key_file or self.keys_dir / "witness.key"

    @property
    def resolved_ledger_key_file(self) -> Path:
        return self.ledger_key_file or self.keys_dir / "hub-ledger.key"

    @property
    def accepted_region_key_ids(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.region_key_ids.split(",") if k.strip())


def load_hub_settings(**overrides: Any) -> HubSettings:
    """Build hub settings; validation errors become one :class:`ConfigError` naming each ``IDVERIFY_HUB_*``."""
    try:
        return HubSettings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{HUB_ENV_PREFIX}{field.upper()}: {err['msg']}")
        raise ConfigError("invalid hub configuration: " + "; ".join(problems)) from None
