"""Regional pseudonyms: one keyed hash per person, the same at every clinic of a region, reversible by nobody.

The health commission generates one regional pseudonymisation key (``idverify hub region-key --out FILE``) and
hands it to its clinics (``IDVERIFY_REGION_KEY_FILE``); the hub never holds it. At registration a clinic computes

    pseudonym = HMAC-SHA256(region key, "idverify-region/v1\\n" ‖ document type ‖ "\\n" ‖ normalised number)

and records it in the ``patient.registered`` event, so the same person registered at two clinics carries the
same pseudonym in both clinics' feeds, while neither the hub nor an inspector can compute it for a given ID number
(no key) or invert it. Normalisation: Unicode NFKC (full-width digits and letters become ASCII), spaces, hyphens
and dots removed, upper case — so ``11010519491231002x`` and ``１１０１０５…２Ｘ`` are one person. A pseudonym is tied
to its key by a public key id (``HMAC(key, "idverify-region-key-id")``, 16 hex digits), which lets the hub notice a
clinic that uses another key without ever seeing either key.

Rotation: the commission issues a new key with a new id; each clinic installs it and the daemon assigns every
active patient a pseudonym under the new key (``patient.pseudonym_assigned`` events); the hub matches pseudonyms
within one key id and flags clinics still on the old one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from idverify.errors import ConfigError

_DOMAIN = b"idverify-region/v1\n"
_KEY_ID_LABEL = b"idverify-region-key-id"
MIN_KEY_BYTES = 32
_DROP = str.maketrans("", "", " -.\u3000")


def normalise_document_number(number: str) -> str:
    return unicodedata.normalize("NFKC", number).translate(_DROP).upper()


@dataclass(frozen=True)
class RegionKey:
    key: bytes

    @property
    def key_id(self) -> str:
        return hmac.new(self.key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, document_type: str, document_number: str) -> str:
        message = _DOMAIN + document_type.strip().lower().encode() + b"\n" + \
            normalise_document_number(document_number).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()


def load_region_key(path: Path) -> RegionKey:
    try:
        raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except (OSError, UnicodeDecodeError, ValueError, binascii.Error):
        raise ConfigError(f"IDVERIFY_REGION_KEY_FILE: cannot read a base64 key from {path}") from None
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(f"IDVERIFY_REGION_KEY_FILE: the key must have at least {MIN_KEY_BYTES} bytes")
    return RegionKey(raw)


def create_region_key(path: Path) -> RegionKey:
    """Write a new random key (base64, mode 0600); refuses to overwrite."""
    key = RegionKey(secrets.token_bytes(MIN_KEY_BYTES))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key.key).decode() + "\n")
    return key
