"""Background subsystems a daemon runs next to the API: device manager and webhook dispatcher (the ledger's
checkpoint/integrity scheduler registers here too). Each is started and stopped by the app's lifespan and
reports its health into ``/healthz``."""

from __future__ import annotations

from typing import Any

from idverify.context import AppContext
from idverify.webhooks import WebhookDispatcher


class DeviceSubsystem:
    name = "devices"

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def start(self) -> None:
        await self.manager.start()

    async def stop(self) -> None:
        await self.manager.stop()

    def health(self) -> list[dict[str, Any]]:
        return [dict(h.as_dict()) for h in self.manager.health()]


def wants_devices(ctx: AppContext) -> bool:
    s = ctx.settings
    return bool(s.simulate or s.id_reader_port or s.pcsc_reader or s.fingerprint_port or s.camera is not None)


def attach(ctx: AppContext) -> None:
    """Create the subsystems this configuration asks for (idempotent)."""
    if ctx.devices is None and wants_devices(ctx):
        from idverify.devices.manager import DeviceManager

        ctx.devices = DeviceManager(ctx.settings)
        ctx.subsystems.append(DeviceSubsystem(ctx.devices))
    if ctx.subsystem("ledger") is None:
        from idverify.ledger.scheduler import LedgerScheduler

        ctx.subsystems.append(LedgerScheduler.from_settings(ctx.settings, ctx.session_factory))
    if ctx.subsystem("retention") is None:
        from idverify.workflow.retention import RetentionJob

        ctx.subsystems.append(RetentionJob(ctx.session_factory, ctx.settings))
    if ctx.subsystem("webhooks") is None:
        ctx.subsystems.append(WebhookDispatcher(ctx.session_factory, ctx.keys))
