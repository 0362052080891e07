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
    """The caller of a request: a logged-in staff member or an API key acting in a role at a workstation.

    An API key is an integration, not a person: its actions are attributed to the key (``credential_id``, its
    ``key_name``), never to the administrator who issued it — that administrator did not act. Who issued the key
    is kept as a separate fact (``key_created_by``) for accountability."""

    role: Role
    workstation_id: str
    method: Literal["session", "api_key"]
    staff_id: str | None  # the logged-in staff member; None for API keys
    credential_id: str  # session id or API key id, for the audit trail
    csrf_token: str | None = None
    key_name: str | None = None  # API keys: the integration's name, as IT named the key
    key_created_by: str | None = None  # API keys: the staff member who issued the key

    @property
    def actor(self) -> dict[str, str | None]:
        """What the audit trail records about the caller (ids only): the staff member, or the API key."""
        actor: dict[str, str | None] = {"staff_id": self.staff_id, "role": self.role.value,
                                        "workstation": self.workstation_id}
        if self.method == "api_key":
            actor["api_key_id"] = self.credential_id
        return actor

    @property
    def credential(self) -> str:
        """Which login or API key acted, e.g. ``api_key:<id>`` (recorded in audit event data)."""
        return f"{self.method}:{self.credential_id}"

    @property
    def holder(self) -> str:
        """Who holds what this caller is given (e.g. a liveness challenge): the staff member across her sessions,
        or the one API key."""
        return f"staff:{self.staff_id}" if self.method == "session" else self.credential

    @property
    def claimant(self) -> str:
        """Who vouches for data this caller uploads: ``api_key:<id> (<integration>)`` or ``session:<id>``."""
        return f"{self.credential} ({self.key_name})" if self.method == "api_key" and self.key_name else \
            self.credential

    def attribution(self) -> dict[str, str]:
        """The audit event data naming the caller: the credential, and for an API key the integration's name and
        the key's issuer (a separate fact: the issuer did not act)."""
        out = {"credential": self.credential}
        if self.method == "api_key":
            if self.key_name:
                out["integration"] = self.key_name
            if self.key_created_by:
                out["key_created_by"] = self.key_created_by
        return out
