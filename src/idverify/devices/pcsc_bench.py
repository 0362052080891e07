"""Timing eMRTD reads on a PC/SC reader: ``idverify bench emrtd`` and :func:`time_reads`.

Owns only measuring: how long a full passport read (BAC, SM, EF.COM + DG1 + DG2 + EF.SOD, passive
authentication) takes end to end through pcscd. Works on a real reader with a real passport, or with the
virtual chip (``python -m hardware_fixtures.emrtd serve`` in another terminal, or its ``bench`` command,
which starts everything itself). No document data is printed, only timings, sizes and the PA outcome.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from idverify.console import emit_json, fail, settings_or_exit

if TYPE_CHECKING:  # the PC/SC and crypto stack loads only when a command runs
    from idverify.devices.pcsc import PcscReader
    from idverify.documents.mrz import BacKeys


def time_reads(reader: PcscReader, keys: BacKeys, csca_dir: Path | None, reads: int = 10) -> dict[str, Any]:
    """Read the document ``reads`` times; wall-clock milliseconds per complete read (median, p95, min)."""
    from idverify.devices.pcsc import read_emrtd_result

    if reads < 1:
        raise ValueError("reads must be at least 1")
    times: list[float] = []
    last = None
    for _ in range(reads):
        started = time.perf_counter()
        last = read_emrtd_result(reader, keys, csca_dir, card_wait=5.0)
        times.append((time.perf_counter() - started) * 1000)
    assert last is not None
    ordered = sorted(times)
    return {
        "reader": reader.name,
        "reads": reads,
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
        "min_ms": round(ordered[0], 2),
        "apdus": last.apdus,
        "bytes_read": sum(len(v) for v in last.files.values()),
        "dg2_bytes": len(last.files.get("DG2", b"")),
        "photo_format": last.document.photo_format,
        "access_control": last.access_control,
        "passive_auth": last.document.checks.passive_auth,
    }


def bench_emrtd(
    document_number: Annotated[str, typer.Option(help="Document number from the data page (BAC).")],
    birth_date: Annotated[str, typer.Option(help="Birth date YYMMDD (BAC).")],
    expiry_date: Annotated[str, typer.Option(help="Expiry date YYMMDD (BAC).")],
    reader: Annotated[str | None, typer.Option(help="PC/SC reader name or substring (IDVERIFY_PCSC_READER).")] = None,
    reads: Annotated[int, typer.Option(min=1, help="Number of complete reads.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line.")] = False,
) -> None:
    """Time complete passport reads (BAC + DG1 + DG2 + SOD + passive auth) on a PC/SC reader."""
    from idverify.devices.pcsc import PcscReader
    from idverify.documents.mrz import BacKeys
    from idverify.errors import IdverifyError

    settings = settings_or_exit()
    try:
        keys = BacKeys(document_number, birth_date, expiry_date)
        name = reader or settings.pcsc_reader
        if not name:
            from idverify.errors import ConfigError

            raise ConfigError("IDVERIFY_PCSC_READER: no PC/SC reader configured (or pass --reader)")
        result = time_reads(PcscReader(name), keys, settings.csca_dir, reads)
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        emit_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key:>12}: {value}")
