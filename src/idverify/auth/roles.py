"""The three roles (nurse, IT administrator, inspector: the README's *API overview* says what each may do) and
what an authenticated caller looks like to the rest of the code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    NURSE = "nurse"  # enrol, verify, read own workstation's results
    IT_ADMIN = "it_admin"  # devices, staff, keys, configuration; no biometric data
    INSPECTOR = "inspector"  # read-only audit, reports and exports; no raw biometrics


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a logged-in staff member or an API key acting in a role at a workstation."""

    role: Role
    workstation_id: str
    method: Literal["session", "api_key"]
    staff_id: str | None  # the staff member; for API keys, the key's creator (accountability)
    credential_id: str  # session id or API key id, for the audit trail
    csrf_token: str | None = None

    @property
    def actor(self) -> dict[str, str | None]:
        """What the audit trail records about the caller (ids only)."""
        return {"staff_id": self.staff_id, "role": self.role.value, "workstation": self.workstation_id}

    @property
    def credential(self) -> str:
        """Which login or API key acted, e.g. ``api_key:<id>`` (recorded in audit event data)."""
        return f"{self.method}:{self.credential_id}"
