"""One ledger signing key per clinic: kept in the clinic's database, wrapped by the master key.

Several workstations of one clinic on one PostgreSQL database append to one ledger, so they must sign its
checkpoints with one key and one origin — otherwise each signs with its own key, the log has several origins, and
each daemon's integrity check flags the others' checkpoints. The database is the one place they all share, so the
key lives there (settings row ``ledger.signing_key``: the PKCS#8 key sealed with the master key, which
multi-workstation clinics already share to read each other's templates). :func:`sync_signing_key` runs at start-up
and before the CLI signs anything:

* database has the key → it is written to the local key file (``<data_dir>/keys/ledger.key``, 0600) that the
  rest of the code signs with; a *different* local key (a workstation that signed on its own before this
  version) is moved to ``keys/retired/`` and its public key recorded as retired, so the checkpoints it signed stay
  verifiable;
* database has no key → the local key file (created if absent) is stored in it: an existing single-workstation
  clinic keeps its origin. Two daemons starting at once race on the row's primary key; the loser adopts the
  winner's key.

``IDVERIFY_SIGNING_KEY_FILE`` set explicitly means the operator distributes one key file (e.g. from a
configuration-management secret): that file must then match the database's key, else start-up stops.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idverify.config import Settings
from idverify.errors import ConfigError
from idverify.ledger.checkpoint import CheckpointSigner, load_or_create_signing_key, public_key_bytes
from idverify.ledger.integrity import IntegrityReport, VerifiedPrefix, verify_new_entries, verify_stored_tree
from idverify.ledger.progress import SILENT, Meter
from idverify.store.crypto import KeyRing
from idverify.store.models import Setting

SETTING = "ledger.signing_key"
_AAD = "setting:" + SETTING

log = structlog.get_logger(__name__)


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):  # pragma: no cover - we only ever store Ed25519 keys
        raise ConfigError("the clinic's ledger signing key in the database is not an Ed25519 key")
    return key


def _write_file(path: Path, pem: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _row_key(row: Setting, ring: KeyRing) -> Ed25519PrivateKey:
    return _load(ring.decrypt(base64.b64decode(row.value["envelope"]), _AAD))


def sync_signing_key(settings: Settings, session: Session, ring: KeyRing) -> CheckpointSigner:
    """Make the local key file hold the clinic's shared key (see module doc); commits. Returns its signer."""
    path = settings.resolved_signing_key_file
    row = session.get(Setting, SETTING)
    if row is None:
        local = load_or_create_signing_key(path)
        try:
            session.add(Setting(key=SETTING, value={
                "envelope": base64.b64encode(ring.encrypt(_pem(local), _AAD)).decode(), "retired": [],
            }))
            session.commit()
            return CheckpointSigner(local)
        except IntegrityError:  # another daemon stored its key first: adopt it below
            session.rollback()
            row = session.get(Setting, SETTING)
            assert row is not None
    shared = _row_key(row, ring)
    shared_public = public_key_bytes(shared.public_key())
    if path.exists():
        local = load_or_create_signing_key(path)
        local_public = public_key_bytes(local.public_key())
        if local_public == shared_public:
            session.commit()
            return CheckpointSigner(local)
        if settings.signing_key_file is not None:
            raise ConfigError(
                "IDVERIFY_SIGNING_KEY_FILE holds a different ledger key from the one this clinic's database uses; "
                "give every workstation the same key file, or unset the setting to use the database's key"
            )
        retired_dir = path.parent / "retired"
        retired_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(path, retired_dir / f"ledger-{local_public.hex()[:16]}.key")
        retired = [*row.value.get("retired", []), base64.b64encode(local_public).decode()]
        row.value = {**row.value, "retired": sorted(set(retired))}
        log.warning("ledger.local_key_retired", key=local_public.hex()[:16])
    _write_file(path, _pem(shared))
    session.commit()
    return CheckpointSigner(shared)


def accepted_public_keys(session: Session, signer: CheckpointSigner) -> set[bytes]:
    """The clinic's key and the keys its workstations signed with before they shared one."""
    row = session.get(Setting, SETTING)
    retired = row.value.get("retired", []) if row is not None else []
    return {signer.public_key, *(base64.b64decode(k) for k in retired)}


def verify_clinic_tree(session: Session, signer: CheckpointSigner, *, since: VerifiedPrefix | None = None,
                       progress: Meter = SILENT) -> IntegrityReport:
    """The integrity check with every checkpoint required to be signed by the clinic's key or one it retired —
    never merely by the key stored beside it. ``since``: only what was appended after that passed check
    (:func:`~idverify.ledger.integrity.verify_new_entries`). ``progress``: the full check's meter."""
    accepted = accepted_public_keys(session, signer)
    if since is None:
        return verify_stored_tree(session, public_keys=accepted, progress=progress)
    return verify_new_entries(session, since, public_keys=accepted)
