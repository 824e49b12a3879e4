"""Clock control, venue halt and resume, the kill switch: qa-admin only (reading the clock: anyone,
since GTD expiry times are on it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Security

from system.engine import ChangePhase, Phase
from system.gateways.rest.convert import iso, ns_of
from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey
from system.gateways.rest.problems import PROBLEMS, Problem
from system.gateways.rest.render import answer
from system.gateways.rest.routes.deps import gateway
from system.gateways.rest.schemas import ClockBody, ClockOut, CommandAnswer, KillSwitchBody, VenueBody
from system.gateways.rest.security import ADMIN, EVERYONE, allow
from system.risk.events import FIRM, EngageKillSwitch, ReleaseKillSwitch
from system.server.clockmode import ClockModeError

router = APIRouter(prefix="/v1", tags=["control"], responses=PROBLEMS)
Gw = Annotated[RestGateway, Depends(gateway)]
Admin = Annotated[ApiKey, Security(allow(*ADMIN))]


def _clock(gw: RestGateway) -> ClockOut:
    mode = gw.server.mode
    now = mode.now_ns()
    return ClockOut(now=iso(now), now_ns=now, mode=mode.name, controllable=mode.controllable)


@router.get("/clock", response_model=ClockOut, summary="The server's clock")
async def read_clock(gw: Gw, who: Annotated[ApiKey, Security(allow(*EVERYONE))]) -> ClockOut:
    return _clock(gw)


@router.post("/clock", response_model=ClockOut, summary="Set, advance or run the virtual clock")
async def move_clock(body: ClockBody, gw: Gw, who: Admin) -> ClockOut:
    if body.op in ("set", "run_until"):
        if body.at is None:
            raise Problem(422, f"{body.op} needs 'at' (an instant)", field="at")
        args: tuple[object, ...] = (ns_of(body.at),)
    elif body.op == "advance":
        if body.seconds is None:
            raise Problem(422, "advance needs 'seconds'", field="seconds")
        args = (int(body.seconds * Decimal(10**9)),)
    else:
        if body.venue is None or body.phase is None:
            raise Problem(422, "run_until_phase needs 'venue' and 'phase'", field="venue")
        args = (body.venue, body.phase)
    try:
        await gw.server.clock(body.op, *args)
    except (ClockModeError, ValueError) as e:
        raise Problem(409, str(e)) from None
    return _clock(gw)


def _venue(gw: RestGateway, venue: str, instrument: str | None) -> str | None:
    if venue not in {i.venue for i in gw.instruments()}:
        raise Problem(404, f"no venue {venue!r} on this server", field="venue", value=venue)
    if instrument is None:
        return None
    inst = gw.instrument(instrument)
    if inst.venue != venue:
        raise Problem(
            422, f"instrument {inst.id} is not on venue {venue}", field="instrument", value=instrument
        )
    return inst.id


@router.post("/venues/{venue}/halt", response_model=CommandAnswer, summary="Halt a venue or one instrument")
async def halt(venue: str, body: VenueBody, gw: Gw, who: Admin) -> CommandAnswer:
    inst = _venue(gw, venue, body.instrument)
    cmd = ChangePhase(venue, Phase.HALTED, instrument=inst, reason=body.reason or "halted over REST")
    return answer(await gw.call(who.session, None, cmd))


@router.post("/venues/{venue}/resume", response_model=CommandAnswer, summary="Resume continuous trading")
async def resume(venue: str, body: VenueBody, gw: Gw, who: Admin) -> CommandAnswer:
    inst = _venue(gw, venue, body.instrument)
    cmd = ChangePhase(venue, Phase.CONTINUOUS, instrument=inst, reason=body.reason or "resumed over REST")
    return answer(await gw.call(who.session, None, cmd))


@router.post(
    "/kill-switch", response_model=CommandAnswer, summary="Engage or release an account's kill switch"
)
async def kill_switch(body: KillSwitchBody, gw: Gw, who: Admin) -> CommandAnswer:
    if gw.accounts is None or gw.sequencer.projection(type(gw.accounts)) is None:
        raise Problem(404, "this server runs no risk engine (no [risk] in its --config): no kill switch")
    account = FIRM if body.account == "*" else body.account
    cmd = (EngageKillSwitch if body.engage else ReleaseKillSwitch)(account, body.reason or "over REST")
    return answer(await gw.call(who.session, None, cmd))
