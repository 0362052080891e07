"""Throttling password guesses, per client and per account, without letting a stranger lock a nurse out.

Owns: :class:`LoginThrottle`, the in-memory sliding windows of failed password checks (web login and the override
witness), and :class:`TooManyAttempts` (429 with ``Retry-After``). Must not touch: the database or the answer to a
password check — a refused guess is refused *before* any password is compared, and every answer that does reach
the password check is the same ``invalid_credentials`` for an unknown name, a disabled account or a wrong password.

Two limits, tuned so the per-client one trips first:

* **per client** (the socket's peer address, or behind a configured trusted reverse proxy the address it forwards,
  see :func:`forwarded_client`): more than
  :attr:`client_limit` failures within :attr:`client_window_s` and that client waits until the oldest leaves the
  window. A burst from one machine is stopped after a handful of guesses and never reaches the account limit.
* **per account** (the username as typed, known or not, so the throttle reveals nothing about which names exist):
  from :attr:`account_limit` failures within :attr:`account_window_s`, each further attempt waits an exponentially
  growing delay after the last failure (1 s, 2 s, 4 s … capped at :attr:`max_delay_s`). This is a soft delay, not
  a lock, and a client the account logged in from successfully within :attr:`known_ttl_s` (her own workstation) is
  not delayed at all: guesses spread over many machines slow down, the nurse at her desk logs in at once.

When an account or a client crosses its limit, :meth:`LoginThrottle.failed` says so once per window, and the caller
writes an ``auth.repeated_failures`` audit event. State is per process and lost on restart — a restart gives an
attacker at most one more window of guesses, and never locks anyone out.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Literal

from idverify.errors import ErrorCode, IdverifyError

MAX_TRACKED = 10_000  # clients and accounts remembered at most; the oldest are forgotten first


class TooManyAttempts(IdverifyError):
    """Too many failed password checks: wait ``retry_after`` seconds (sent as ``Retry-After``)."""

    code = ErrorCode.TOO_MANY_REQUESTS

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after} s",
                         details={"retry_after": retry_after})
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Alert:
    """A limit crossed: ``scope`` says which, ``failures`` how many within ``window_s``."""

    scope: Literal["client", "account"]
    failures: int
    window_s: float


@dataclass
class _Window:
    failures: deque[float] = field(default_factory=deque)
    alerted_at: float | None = None  # when the last alert for this key was raised

    def prune(self, now: float, window_s: float) -> None:
        while self.failures and self.failures[0] <= now - window_s:
            self.failures.popleft()


class LoginThrottle:
    """Sliding windows of failed password checks. Thread-safe (login routes run in the worker pool)."""

    def __init__(self, *, client_limit: int = 5, client_window_s: float = 60.0, account_limit: int = 10,
                 account_window_s: float = 900.0, max_delay_s: float = 60.0, known_ttl_s: float = 30 * 86400.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client_limit, self.client_window_s = client_limit, client_window_s
        self.account_limit, self.account_window_s = account_limit, account_window_s
        self.max_delay_s, self.known_ttl_s = max_delay_s, known_ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, _Window] = {}
        self._accounts: dict[str, _Window] = {}
        self._known: dict[tuple[str, str], float] = {}  # (account, client) → last successful login

    @staticmethod
    def _account(username: str) -> str:
        return username.strip().casefold()

    def check(self, client: str, username: str) -> None:
        """Raise :class:`TooManyAttempts` when this attempt must wait; call before comparing any password."""
        now = self.clock()
        account = self._account(username)
        with self._lock:
            window = self._clients.get(client)
            if window is not None:
                window.prune(now, self.client_window_s)
                if len(window.failures) >= self.client_limit:
                    raise TooManyAttempts(max(1, math.ceil(window.failures[0] + self.client_window_s - now)))
            known = self._known.get((account, client))
            if known is not None and now - known < self.known_ttl_s:
                return
            window = self._accounts.get(account)
            if window is None:
                return
            window.prune(now, self.account_window_s)
            excess = len(window.failures) - self.account_limit
            if excess >= 0:
                wait = window.failures[-1] + min(self.max_delay_s, 2.0 ** excess) - now
                if wait > 0:
                    raise TooManyAttempts(max(1, math.ceil(wait)))

    def failed(self, client: str, username: str) -> list[Alert]:
        """Count a failed password check; returns the limits this failure crossed (each once per window)."""
        now = self.clock()
        alerts: list[Alert] = []
        limits: tuple[tuple[Literal["client", "account"], dict[str, _Window], str, int, float], ...] = (
            ("client", self._clients, client, self.client_limit, self.client_window_s),
            ("account", self._accounts, self._account(username), self.account_limit, self.account_window_s),
        )
        with self._lock:
            for scope, table, key, limit, window_s in limits:
                window = table.pop(key, None) or _Window()
                table[key] = window  # re-inserted: most recently used last, so trimming drops the oldest
                window.prune(now, window_s)
                window.failures.append(now)
                if len(window.failures) >= limit and (window.alerted_at is None or now - window.alerted_at >= window_s):
                    window.alerted_at = now
                    alerts.append(Alert(scope, len(window.failures), window_s))
                while len(table) > MAX_TRACKED:
                    del table[next(iter(table))]
        return alerts

    def succeeded(self, client: str, username: str) -> None:
        """Remember that this client logged in to this account (it is not delayed by the account's failures)."""
        with self._lock:
            key = (self._account(username), client)
            self._known.pop(key, None)
            self._known[key] = self.clock()
            while len(self._known) > MAX_TRACKED:
                del self._known[next(iter(self._known))]


def forwarded_client(peer: str, forwarded_for: Sequence[str],
                     trusted: Iterable[IPv4Network | IPv6Network]) -> str:
    """The address of the client behind a chain of trusted reverse proxies.

    ``X-Forwarded-For`` lists hops left to right, each proxy appending the address it received from; only the
    entries appended by proxies we trust are believed. So walk from the right, starting at the socket's peer, and
    stop at the first address that is not a trusted proxy: that is the client. A peer that is not a trusted proxy is
    the client itself, whatever headers it sent (otherwise a guesser would rotate fake addresses to escape the
    per-client limit). A malformed entry ends the walk at the last trusted hop's view, never at a forged value.
    """
    networks = tuple(trusted)

    def is_trusted(address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in networks)

    if not networks or not is_trusted(peer):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            return client
        client = hop
        if not is_trusted(hop):
            return hop
    return client
