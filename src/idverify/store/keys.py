"""Opening the key ring against a database, and master-key rotation.

The lookup secret (for document-number hashes) is stored in the ``settings`` table wrapped by the master key.
It doubles as a canary: if it exists but the loaded master key cannot open it, start-up fails with a clear
message instead of writing new data under a key that does not match the old data. A fresh master key is only
ever created for a database that holds no encrypted data yet.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from idverify.config import Settings
from idverify.store.crypto import KeyRing, LookupHasher, generate_key, key_id, load_keyring, write_key_file
from idverify.store.models import BiometricSample, BiometricTemplate, ConsentRecord, Patient, Setting
from idverify.store.region import RegionKey, load_region_key

LOOKUP_SETTING = "crypto.lookup_secret"
_LOOKUP_AAD = "setting:" + LOOKUP_SETTING


@dataclass(frozen=True)
class Keys:
    ring: KeyRing
    lookup: LookupHasher
    region: RegionKey | None = None  # the regional pseudonymisation key, when the commission issued one


def open_keys(settings: Settings, db: Session) -> Keys:
    row = db.get(Setting, LOOKUP_SETTING)
    ring = load_keyring(settings.resolved_key_file, settings.master_key, create=row is None)
    if row is None:
        secret = secrets.token_bytes(32)
        envelope = ring.encrypt(secret, _LOOKUP_AAD)
        db.add(Setting(key=LOOKUP_SETTING, value={"envelope": base64.b64encode(envelope).decode()}))
        db.commit()
    else:
        secret = ring.decrypt(base64.b64decode(row.value["envelope"]), _LOOKUP_AAD)
    region = load_region_key(settings.region_key_file) if settings.region_key_file else None
    return Keys(ring=ring, lookup=LookupHasher(secret), region=region)


@dataclass(frozen=True)
class RotationReport:
    old_key_id: str
    new_key_id: str
    rewrapped: int


def rotate_master_key(settings: Settings, db: Session) -> RotationReport:
    """Make a new master key active and re-wrap every data key under it, in one transaction.

    The old key moves to ``keys/retired/<id>.key`` (still able to open anything missed, e.g. a backup restored
    later); delete it once backups made before the rotation have expired. Only file-based keys rotate here: with
    ``IDVERIFY_MASTER_KEY`` set, the operator supplies the new key through the environment.
    """
    if settings.master_key:
        raise ValueError("IDVERIFY_MASTER_KEY is set: rotate by setting a new key and moving the old one to "
                         "<key dir>/retired/ as a key file, then run `idverify keys rotate` without the variable")
    key_file = settings.resolved_key_file
    ring = load_keyring(key_file, None, create=False)
    old = ring.active
    new = generate_key()
    ring.retired[key_id(old)] = old
    ring.active = new
    count = 0
    encrypted: list[BiometricTemplate | BiometricSample] = [
        *db.scalars(select(BiometricTemplate)),
        *db.scalars(select(BiometricSample)),
    ]
    for obj in encrypted:
        obj.envelope = ring.rewrap(obj.envelope)
        obj.kek_id = ring.active_id
        count += 1
    for patient in db.scalars(select(Patient)):
        patient.identity = ring.rewrap(patient.identity)
        patient.kek_id = ring.active_id
        count += 1
    for consent in db.scalars(select(ConsentRecord).where(ConsentRecord.signature.is_not(None))):
        assert consent.signature is not None
        consent.signature = ring.rewrap(consent.signature)
        count += 1
    for row in db.scalars(select(Setting)):  # the lookup secret, the ledger signing key, …
        if isinstance(row.value, dict) and isinstance(row.value.get("envelope"), str):
            rewrapped = ring.rewrap(base64.b64decode(row.value["envelope"]))
            row.value = {**row.value, "envelope": base64.b64encode(rewrapped).decode()}
            count += 1
    # Key files change only once the new wrapping is durable: retire the old key, then install the new one.
    db.flush()
    retired = key_file.parent / "retired" / f"{key_id(old)}.key"
    if not retired.exists():
        write_key_file(retired, old)
    tmp = key_file.with_suffix(".new")
    if tmp.exists():
        tmp.unlink()
    write_key_file(tmp, new)
    db.commit()
    os.replace(tmp, key_file)
    return RotationReport(old_key_id=key_id(old), new_key_id=key_id(new), rewrapped=count)


def retired_key_files(key_file: Path) -> list[Path]:
    return sorted((key_file.parent / "retired").glob("*.key"))
