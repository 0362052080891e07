"""Demo only: choose who stands at the simulated workstation (``hardware_fixtures.personas``).

Exists only while the daemon runs with ``simulate`` on: otherwise every route here answers 404, as if absent, so a
clinic's daemon has no switch that puts a fake card on its reader. Nurse role, like the devices it drives.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from idverify.api.deps import ContextDep, Nurse
from idverify.api.schemas import RequestModel, ResponseModel
from idverify.errors import ConflictError, ErrorCode, NotFoundError, ValidationFailed

router = APIRouter(prefix="/simulator", tags=["devices"], include_in_schema=False)


class PersonaOut(ResponseModel):
    key: str
    label: str  # English, for logs and scripts; the panel words the role from its catalogue (sim.persona.<key>)
    name: str  # the made-up name on the persona's card, shown beside the role
    sex: str
    fingers: list[str]
    real_face: bool  # False: no photos, the camera shows a drawing in which no face is found


class SimulatorOut(ResponseModel):
    personas: list[PersonaOut]
    current: str | None
    card_of: str | None
    faces_missing: bool  # the demo cannot show the face factor (IDVERIFY_DEMO_FACES not set, no sample photos)
    unplugged: list[str]  # devices whose cable the demo has pulled


class PlugIn(RequestModel):
    device: Literal["id_reader", "fingerprint", "camera"]
    plugged: bool


class PresentIn(RequestModel):
    persona: str = Field(max_length=32)
    card_of: str | None = Field(default=None, max_length=32,
                                description="whose card the persona holds (default: their own)")


class ActIn(RequestModel):
    action: Literal["turn_left", "turn_right", "still", "release"]


def _desk(ctx: ContextDep) -> Any:
    desk = ctx.devices.simulators.get("people") if ctx.settings.simulate and ctx.devices is not None else None
    if desk is None:
        raise NotFoundError("not found")
    return desk


def _state(desk: Any) -> SimulatorOut:
    return SimulatorOut.model_validate(desk.state())


@router.get("", response_model=SimulatorOut)
def simulator_state(ctx: ContextDep, _nurse: Nurse) -> SimulatorOut:
    return _state(_desk(ctx))


@router.post("/present", response_model=SimulatorOut)
def present(body: PresentIn, ctx: ContextDep, _nurse: Nurse) -> SimulatorOut:
    desk = _desk(ctx)
    try:
        desk.present(body.persona, card_of=body.card_of)
    except KeyError:
        raise ValidationFailed("no such simulated person", code=ErrorCode.UNKNOWN_PERSONA) from None
    return _state(desk)


@router.post("/act", response_model=SimulatorOut)
def act(body: ActIn, ctx: ContextDep, _nurse: Nurse) -> SimulatorOut:
    """The simulated person answers the liveness challenge on screen (the camera acts the head turn out)."""
    desk = _desk(ctx)
    try:
        desk.act(body.action)
    except ValueError as exc:
        raise ConflictError(str(exc), code=ErrorCode.SIMULATOR_CANNOT_ACT) from None
    return _state(desk)


@router.post("/plug", response_model=SimulatorOut)
def plug(body: PlugIn, ctx: ContextDep, _nurse: Nurse) -> SimulatorOut:
    """Unplug or replug a simulated device, so the screens' device state can be seen and tested."""
    desk = _desk(ctx)
    desk.plug(body.device, body.plugged)
    return _state(desk)


@router.post("/leave", response_model=SimulatorOut)
def leave(ctx: ContextDep, _nurse: Nurse) -> SimulatorOut:
    desk = _desk(ctx)
    desk.leave()
    return _state(desk)

