"""Progress of long ledger passes (export, offline verify, stored-tree check) for a person watching a terminal.

Owns: the :class:`Meter` protocol the ledger's loops report to (``start(total)`` once, then ``update(done)`` with
the absolute count — cheap to call, so hot loops call it every few thousand entries) and :func:`progress_bar`,
which draws a ``rich`` bar on **stderr** only when stderr is a terminal and the command was not asked for
``--json``: stdout stays the command's answer, and a script, a pipe or a cron job sees no bar at all.
Must not touch: the database, the ledger's rules — the loops own what they count.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Meter(Protocol):
    """Where a long pass reports how far it got."""

    def start(self, total: int) -> None: ...

    def update(self, done: int) -> None: ...


class _Silent:
    """The meter of every pass nobody watches."""

    def start(self, total: int) -> None:
        pass

    def update(self, done: int) -> None:
        pass


SILENT: Meter = _Silent()


class _Bar:
    """A meter drawing one rich task."""

    def __init__(self, bar: Any, label: str) -> None:
        self.bar = bar
        self.task = bar.add_task(label, total=None)

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total, completed=0)

    def update(self, done: int) -> None:
        self.bar.update(self.task, completed=done)


def wanted(*, as_json: bool, force: bool | None = None) -> bool:
    """A bar is drawn for a person: never with ``--json``; else when forced, or when stderr is a terminal."""
    if as_json:
        return False
    return sys.stderr.isatty() if force is None else force


@contextmanager
def progress_bar(label: str, *, as_json: bool, force: bool | None = None) -> Iterator[Meter]:
    """A meter for one pass: a transient bar on stderr (see :func:`wanted`), else :data:`SILENT`.

    ``force=True`` draws it even without a terminal (tests); ``force=False`` never draws it."""
    if not wanted(as_json=as_json, force=force):
        yield SILENT
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True, force_terminal=True if force else None)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        yield _Bar(bar, label)
