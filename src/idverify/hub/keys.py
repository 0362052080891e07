"""The hub's two Ed25519 keys, each in its own 0600 file created on first use:

* the **witness key** (``keys/witness.key``) signs cosignatures. Its verifier key (``idverify hub witness-key``)
  is what clinics set as ``IDVERIFY_HUB_WITNESS_KEY`` and inspectors pass to ``audit verify --witness-key``.
  cosignature/v1 does not commit to the witness name, so this key is never used for anything else.
* the **hub ledger key** (``keys/hub-ledger.key``) signs checkpoints of the hub's own ledger.

The witness name is ``IDVERIFY_HUB_NAME``, or ``idverify-hub/<first 16 hex of SHA-256(public key)>``.
"""

from __future__ import annotations

import hashlib

from idverify.config import HubSettings
from idverify.ledger.checkpoint import CheckpointSigner, load_or_create_signing_key, public_key_bytes
from idverify.ledger.cosignature import CosignatureSigner


def default_witness_name(public_key: bytes) -> str:
    return "idverify-hub/" + hashlib.sha256(public_key).hexdigest()[:16]


def witness_signer(settings: HubSettings) -> CosignatureSigner:
    key = load_or_create_signing_key(settings.resolved_witness_key_file)
    name = settings.name or default_witness_name(public_key_bytes(key.public_key()))
    return CosignatureSigner(name, key)


def ledger_signer(settings: HubSettings) -> CheckpointSigner:
    return CheckpointSigner.from_file(settings.resolved_ledger_key_file)
