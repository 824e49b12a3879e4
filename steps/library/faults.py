"""Steps for faults on the FIX link, in virtual time: the server drops, garbles, delays or
duplicates chosen messages, or cuts the link at an instant, and the session layer must recover
(ResendRequest, resend as PossDup, gap fill, a duplicate ignored, a logon that resumes).

A delay lasts in the server's clock: the message (and everything after it that way: a stream keeps
its order) arrives once the scenario moves the clock past it. A timed disconnect fires when the
clock passes its instant; the driver then logs on again with the numbers both ends kept.

They need the FIX wire: scenarios using them are tagged ``@wire`` and skipped with a reason on
every driver but ``fix``. The faults last until the scenario ends (the next scenario's reset removes them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from steps import values as V
from steps.context import Scenario
from steps.errors import StepFailed, StepInputError
from steps.registry import given, then
from system.clock import to_datetime

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


@given(
    "the FIX link delays the next {msg:Word} {direction:Word} by {d:Duration}",
    "Given the FIX link delays the next NewOrderSingle inbound by 200 ms",
)
def delay_next(ctx: Scenario, msg: str, direction: str, d: str) -> None:
    """The server holds the next message of that type (and what follows it that way) until its
    clock has moved on by the duration."""
    ms = V.duration(d) // 1_000_000
    if ms < 1:
        raise StepInputError(f"delay {d!r} is under a millisecond")
    fault = {"action": "delay", "direction": _direction(direction), "msg_type": _msg_type(msg)}
    _wire(ctx).install_faults([{**fault, "delay_ms": ms}])


@given(
    "the FIX link duplicates the next {msg:Word} {direction:Word}",
    "Given the FIX link duplicates the next ExecutionReport outbound",
)
def duplicate_next(ctx: Scenario, msg: str, direction: str) -> None:
    """The next message of that type arrives twice, the copy flagged PossDup with OrigSendingTime."""
    fault = {"action": "duplicate", "direction": _direction(direction), "msg_type": _msg_type(msg)}
    _wire(ctx).install_faults([fault])


@given(
    "the FIX link duplicates {direction:Word} message {n:Int}",
    "Given the FIX link duplicates outbound message 5",
)
def duplicate_seq(ctx: Scenario, direction: str, n: str) -> None:
    """The message with that MsgSeqNum arrives twice, the copy flagged PossDup."""
    if not n.isdigit() or int(n) < 1:
        raise StepInputError(f"message number {n!r} is not a MsgSeqNum (1, 2, ...)")
    fault = {"action": "duplicate", "direction": _direction(direction), "msg_seq": int(n)}
    _wire(ctx).install_faults([fault])


@given("the FIX link disconnects at {t:Text}", "Given the FIX link disconnects at 10:00:05")
def disconnect_at(ctx: Scenario, t: str) -> None:
    """The server cuts the link when its clock reaches that instant (in order with the other
    timers of a clock move); the client logs on again afterwards and is resent what it missed."""
    at = to_datetime(ctx.instant(t), "UTC").isoformat()
    _wire(ctx).install_faults([{"action": "disconnect", "at": at}])


def _eventually(check: Callable[[], str | None], timeout_s: float = 10.0) -> None:
    """Pass once ``check`` returns None (what a FIX client sees arrives asynchronously)."""
    why = check()
    deadline = time.monotonic() + timeout_s
    while why is not None and time.monotonic() < deadline:
        time.sleep(0.05)
        why = check()
    if why is not None:
        raise StepFailed(why)


@then("the FIX link holds {n:Int} messages", "Then the FIX link holds 1 messages")
def holds(ctx: Scenario, n: str) -> None:
    """The delays have that many messages held back right now (they have not arrived)."""
    got = int(_wire(ctx).fix_status().get("held", 0))
    if got != int(n):
        raise StepFailed(f"the link holds {got} messages, expected {n}")


@then("the FIX client ignored {n:Int} duplicates", "Then the FIX client ignored 1 duplicates")
def client_ignored(ctx: Scenario, n: str) -> None:
    """Our side got that many PossDup copies of messages it had already processed, and dropped them."""
    drv = _wire(ctx)

    def check() -> str | None:
        got = drv.client_stats()["duplicates_ignored"]
        return None if got == int(n) else f"the FIX client ignored {got} duplicates, expected {n}"

    _eventually(check)


@then("the server ignored {n:Int} duplicates", "Then the server ignored 1 duplicates")
def server_ignored(ctx: Scenario, n: str) -> None:
    """The server's session got that many PossDup copies of messages it had processed, and dropped them."""
    drv = _wire(ctx)

    def check() -> str | None:
        ours = drv.fix_status()["sessions"].get("CHRONEX->QA", {})
        got = ours.get("duplicates_ignored")
        return None if got == int(n) else f"the server ignored {got} duplicates, expected {n}"

    _eventually(check)


@then("the FIX client was resent {n:Int} messages", "Then the FIX client was resent 1 messages")
def resent(ctx: Scenario, n: str) -> None:
    """Application messages reached our side as PossDup resends (after a gap or a reconnect)."""
    drv = _wire(ctx)

    def check() -> str | None:
        got = drv.client_stats()["resent"]
        return None if got == int(n) else f"the FIX client was resent {got} messages, expected {n}"

    _eventually(check)


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

    def check() -> str | None:
        sessions = drv.fix_status()["sessions"]
        ours = sessions.get("CHRONEX->QA")
        if ours is None:
            return f"the server has no session CHRONEX->QA: {sorted(sessions)}"
        out, inn = drv.client_seqs()
        if ours["state"] != "ACTIVE" or (ours["next_in"], ours["next_out"]) != (out, inn):
            return (
                f"out of sequence: the server expects {ours['next_in']} and sends {ours['next_out']} "
                f"({ours['state']}); the client sends {out} and expects {inn}"
            )
        return None

    _eventually(check)
