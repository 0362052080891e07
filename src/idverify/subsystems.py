"""Background subsystems a daemon runs next to the API: device manager and webhook dispatcher (the ledger's
checkpoint/integrity scheduler and, with ``IDVERIFY_HUB_URL``, the regional hub sync register here too). Each is
started and stopped by the app's lifespan and reports its health into ``/healthz``."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from idverify.biometrics import workers
from idverify.context import AppContext
from idverify.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from idverify.devices.manager import DeviceManager


class BiometricWorkers:
    """The biometric worker processes (:mod:`idverify.biometrics.workers`), one per core; spawned on the first
    check, so a daemon that runs no check starts none."""

    name = "biometric_workers"

    def __init__(self, ctx: AppContext) -> None:
        self.workers = max(1, min(os.cpu_count() or 1, ctx.settings.max_concurrent_checks))
        self.models_dir = ctx.settings.models_dir

    async def start(self) -> None:
        workers.start(self.workers, self.models_dir)

    async def stop(self) -> None:
        await asyncio.to_thread(workers.stop)

    def health(self) -> list[dict[str, Any]]:
        return []


class DeviceSubsystem:
    name = "devices"

    def __init__(self, manager: DeviceManager) -> None:
        self.manager = manager

    async def start(self) -> None:
        await self.manager.start()

    async def stop(self) -> None:
        await self.manager.stop()

    def health(self) -> list[dict[str, Any]]:
        return [dict(h.as_dict()) for h in self.manager.health()]


def wants_devices(ctx: AppContext) -> bool:
    """Simulating, or at least one registered device driver is configured."""
    from idverify.devices.drivers import builtin_registry

    return ctx.settings.simulate or builtin_registry().any_configured(ctx.settings)


def attach(ctx: AppContext) -> None:
    """Create the subsystems this configuration asks for (idempotent)."""
    if ctx.devices is None and wants_devices(ctx):
        from idverify.device_wiring import device_manager

        ctx.devices = device_manager(ctx.settings)
        ctx.subsystems.append(DeviceSubsystem(ctx.devices))
    if ctx.subsystem("ledger") is None:
        from idverify.ledger.scheduler import LedgerScheduler

        ctx.subsystems.append(LedgerScheduler.from_settings(ctx.settings, ctx.session_factory, ctx.keys.ring))
    if ctx.settings.hub_url and ctx.subsystem("hub") is None:
        from idverify.ledger.hub_sync import HubSync

        ctx.subsystems.append(HubSync.from_context(ctx))
    if ctx.keys.region is not None and ctx.subsystem("pseudonyms") is None:
        from idverify.workflow.pseudonyms import PseudonymBackfill

        ctx.subsystems.append(PseudonymBackfill(ctx.session_factory, ctx.keys, ctx.settings))
    if ctx.subsystem("retention") is None:
        from idverify.workflow.retention import RetentionJob

        ctx.subsystems.append(RetentionJob(ctx.session_factory, ctx.settings))
    if ctx.subsystem("biometric_workers") is None:
        ctx.subsystems.append(BiometricWorkers(ctx))
    if ctx.subsystem("webhooks") is None:
        ctx.subsystems.append(WebhookDispatcher(ctx.session_factory, ctx.keys, registry=ctx.registry))
