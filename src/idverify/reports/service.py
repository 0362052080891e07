"""What inspector requests do besides reading: record that data left the system, and sign the ledger head.

An export (and a downloaded monthly report) is itself an audited action, ``export.created``, recorded with the
caller's ids and the filters used; a fresh signed checkpoint is then made so the export covers that very event
and the PDF can print the root it was produced from. Both commit in the caller's transaction, before any byte
of the export is sent.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.orm import Session

from idverify import audit
from idverify.auth.roles import Principal
from idverify.config import Settings
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.models import LedgerCheckpoint
from idverify.ledger.proofs import create_checkpoint

log = structlog.get_logger(__name__)


def signer_for(settings: Settings) -> CheckpointSigner:
    """The clinic's checkpoint signer (the key file is created, mode 0600, on first use)."""
    return CheckpointSigner.from_file(settings.resolved_signing_key_file)


def sign_now(db: Session, settings: Settings) -> LedgerCheckpoint:
    """A signed checkpoint of the current tree (the latest one when nothing changed). Commits."""
    cp = create_checkpoint(db, signer_for(settings))
    db.commit()
    return cp


def record_export(db: Session, settings: Settings, principal: Principal | dict[str, str | None],
                  data: dict[str, Any]) -> LedgerCheckpoint:
    """Record ``export.created`` (by a caller or the CLI) and sign a checkpoint covering it; one commit."""
    index = audit.record(db, principal, "export.created", data={k: v for k, v in data.items() if v is not None})
    cp = sign_now(db, settings)
    log.info("export.created", ledger_index=index, format=data.get("format"), tree_size=int(cp.tree_size))
    return cp
