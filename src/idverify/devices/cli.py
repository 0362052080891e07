"""``idverify devices``, ``idverify card read`` and ``idverify finger capture`` .

Thin wrappers over :class:`~idverify.devices.manager.DeviceManager`: each builds the manager from settings (with the
simulators when simulating: :mod:`idverify.device_wiring`), does one thing, prints a human view or the JSON
summary line, and always stops the devices (and simulators) again. Every failure becomes the error JSON with a non-zero
exit; unexpected exceptions are reported as ``device_error`` rather than a traceback. Heavy imports stay inside the
functions so ``idverify --help`` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from idverify.console import emit_json, fail
from idverify.errors import DeviceError, ErrorCode, IdverifyError

if TYPE_CHECKING:
    from idverify.devices.manager import DeviceManager

T = TypeVar("T")


def _with_manager(fn: Callable[[DeviceManager], T], *, as_json: bool, simulate: bool = False) -> T:
    from idverify.config import load_settings
    from idverify.device_wiring import device_manager

    try:
        settings = load_settings(simulate=True) if simulate else load_settings()
        manager = device_manager(settings)
        try:
            manager.start_sync()
            return fn(manager)
        finally:
            manager.stop_sync()
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    except Exception as exc:  # never a traceback for an operator: name the failure, keep the code stable
        fail(DeviceError(f"unexpected device failure ({exc.__class__.__name__})"), as_json=as_json)


def devices(
    simulate: bool = typer.Option(False, "--simulate", help="Start the built-in simulators and list them."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """List the configured devices and their health."""
    health = _with_manager(lambda m: m.probe_sync(), as_json=as_json, simulate=simulate)
    if as_json:
        emit_json({"devices": [h.as_dict() for h in health]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("kind", "name", "status", "detail")
    colours = {"ok": "green", "not_configured": "white", "unavailable": "yellow", "error": "red"}
    for h in health:
        table.add_row(h.kind, h.name, f"[{colours[h.status]}]{h.status}[/]", h.detail or "")
    Console().print(table)


def card_read(
    document_number: str | None = typer.Option(None, "--document-number", help="eMRTD: document number (BAC)."),
    birth_date: str | None = typer.Option(None, "--birth-date", help="eMRTD: birth date YYMMDD (BAC)."),
    expiry_date: str | None = typer.Option(None, "--expiry-date", help="eMRTD: expiry date YYMMDD (BAC)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Read the document on the configured reader (GA 467 ID card, or an eMRTD with the three BAC fields)."""
    keys = None
    given = [v for v in (document_number, birth_date, expiry_date) if v]
    if given:
        from idverify.documents.mrz import BacKeys
        from idverify.errors import ValidationFailed

        if len(given) != 3:
            fail(ValidationFailed("--document-number, --birth-date and --expiry-date go together"), as_json=as_json)
        try:
            keys = BacKeys(str(document_number), str(birth_date), str(expiry_date))
        except IdverifyError as exc:
            fail(exc, as_json=as_json)
    doc = _with_manager(lambda m: m.read_document_sync(keys), as_json=as_json)
    summary = doc.to_summary()
    if as_json:
        emit_json(summary)
        return
    for key, value in summary.items():
        shown = ", ".join(f"{k}={v}" for k, v in value.items()) if key == "checks" else value
        typer.echo(f"{key:>16}: {'' if shown is None else shown}")


def finger_capture(
    out: Path = typer.Option(..., "--out", help="PNG file to write (256×288, 8-bit grey)."),
    timeout: float = typer.Option(15.0, "--timeout", min=0.5, help="Seconds to wait for a finger."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Wait for a finger on the configured sensor and save its image at the sensor's native size."""

    def capture(manager: DeviceManager) -> tuple[int, int, str]:
        import cv2

        image = manager.capture_fingerprint_sync(timeout)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), image):
            raise IdverifyError(f"cannot write {out}", code=ErrorCode.IO_ERROR, status_code=500)
        name = next((h.name for h in manager.health() if h.kind == "fingerprint"), "fingerprint")
        return int(image.shape[1]), int(image.shape[0]), name

    width, height, device = _with_manager(capture, as_json=as_json)
    if as_json:
        emit_json({"out": str(out), "width": width, "height": height, "device": device})
    else:
        typer.echo(f"saved {width}x{height} fingerprint image to {out}")
