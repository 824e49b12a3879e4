"""Steps for faults on the FIX link, in virtual time: the server drops or garbles chosen messages
and the session layer must recover (ResendRequest, resend as PossDup, gap fill).

They need the wire: scenarios using them are tagged ``@wire`` and skipped in process with a
reason. The faults last until the scenario ends (the next scenario's reset removes them).
"""

from __future__ import annotations

from typing import Any

from steps.context import Scenario
from steps.errors import StepFailed, StepInputError
from steps.registry import given, then

# Application messages a scenario can name, by their FIX MsgType.
MSG_TYPES = {
    "NewOrderSingle": "D",
    "ExecutionReport": "8",
    "OrderCancelRequest": "F",
    "OrderCancelReplaceRequest": "G",
    "OrderCancelReject": "9",
}
DIRECTIONS = {"inbound": "in", "outbound": "out"}


def _wire(ctx: Scenario) -> Any:
    drv = ctx.system()
    if not hasattr(drv, "install_faults"):
        raise StepInputError("faults on the FIX link need the fix driver (tag the scenario @wire)")
    return drv


def _msg_type(name: str) -> str:
    code = MSG_TYPES.get(name)
    if code is None:
        raise StepInputError(f"message {name!r} is not one of {', '.join(MSG_TYPES)}")
    return code


def _direction(word: str) -> str:
    d = DIRECTIONS.get(word)
    if d is None:
        raise StepInputError(f"direction {word!r} is not inbound or outbound")
    return d


@given(
    "the FIX link drops the next {msg:Word} {direction:Word}",
    "Given the FIX link drops the next NewOrderSingle inbound",
)
def drop_next(ctx: Scenario, msg: str, direction: str) -> None:
    """The server loses the next message of that type in that direction (inbound: the client's)."""
    fault = {"action": "drop", "direction": _direction(direction), "msg_type": _msg_type(msg)}
    _wire(ctx).install_faults([fault])


@given(
    "the FIX link drops {direction:Word} message {n:Int}",
    "Given the FIX link drops inbound message 3",
)
def drop_seq(ctx: Scenario, direction: str, n: str) -> None:
    """The server loses the message with that MsgSeqNum (the client's Logon is inbound message 1)."""
    if not n.isdigit() or int(n) < 1:
        raise StepInputError(f"message number {n!r} is not a MsgSeqNum (1, 2, ...)")
    _wire(ctx).install_faults([{"action": "drop", "direction": _direction(direction), "msg_seq": int(n)}])


@given("the FIX link garbles the next {msg:Word}", "Given the FIX link garbles the next NewOrderSingle")
def garble_next(ctx: Scenario, msg: str) -> None:
    """The next message of that type arrives with a broken CheckSum (inbound for the client's
    messages, outbound for the server's), so its receiver must ignore it and ask for a resend."""
    code = _msg_type(msg)
    direction = "in" if code in ("D", "F", "G") else "out"
    _wire(ctx).install_faults([{"action": "garble", "direction": direction, "msg_type": code}])


@then("the FIX link fired {n:Int} faults", "Then the FIX link fired 1 faults")
def fired(ctx: Scenario, n: str) -> None:
    """The faults the scenario installed actually hit messages (a fault that never fired proves nothing)."""
    got = _wire(ctx).fix_status()["fired"]
    if len(got) != int(n):
        raise StepFailed(f"expected {n} faults to fire, {len(got)} did: {got}")


@then("the FIX session is back in sequence", "Then the FIX session is back in sequence")
def in_sequence(ctx: Scenario) -> None:
    """Both ends agree on the next sequence numbers each way, and the session is logged on."""
    drv = _wire(ctx)
    sessions = drv.fix_status()["sessions"]
    ours = sessions.get("CHRONEX->QA")
    if ours is None:
        raise StepFailed(f"the server has no session CHRONEX->QA: {sorted(sessions)}")
    out, inn = drv.client_seqs()
    if ours["state"] != "ACTIVE" or (ours["next_in"], ours["next_out"]) != (out, inn):
        raise StepFailed(
            f"out of sequence: the server expects {ours['next_in']} and sends {ours['next_out']} "
            f"({ours['state']}); the client sends {out} and expects {inn}"
        )
