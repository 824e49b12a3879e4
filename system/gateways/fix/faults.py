"""Fault injection in the FIX transport, in virtual time: drop, delay, duplicate, garble and
disconnect chosen messages (by direction, session, MsgSeqNum, MsgType) or at chosen instants of the
server's clock.

```toml
[[fault]]
action = "drop"              # drop | delay | duplicate | garble | disconnect
direction = "in"             # in (peer -> us) | out (us -> peer); default out
session = "CHRONEX->CLIENT1" # our SenderCompID->TargetCompID; default every session
msg_seq = 5                  # only this MsgSeqNum ...
msg_type = "D"               # ... and/or this MsgType
at = "2031-01-06T09:00:00+09:00"  # not before this instant (disconnect: at this instant)
delay_ms = 1500              # delay: hold the message this long in the clock's time
count = 1                    # how many messages it hits (default 1)
```

Faults act below the session layer, as a network would: a dropped outbound message is still in
the store (the peer gets it by ResendRequest), a garbled one fails its CheckSum at the peer.
A delayed message holds back everything after it in the same direction until it is released (TCP
never reorders a stream), and a duplicate arrives as a second copy flagged PossDup (43=Y with
OrigSendingTime), as a retransmission would, so the receiver ignores it by its MsgSeqNum.

Delays and instants are measured on the clock the plan is given (the server's clock, so a delay
in a virtual-time scenario lasts until the scenario advances the clock past it). With ``timers``
(``arm``: the server's virtual clock), a timed disconnect and each release fire as timers of that
clock, in order with its other timers, while the clock moves; without, ``tick`` polls the clock.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from system.clock import NS_PER_MS, Clock, from_datetime
from system.gateways.fix.codec import Garbled, GarbledError, encode_fields, frame, parse

if TYPE_CHECKING:
    from system.gateways.fix.transport import FixConnection

ACTIONS = ("drop", "delay", "duplicate", "garble", "disconnect")


class Timers(Protocol):
    """Where timed faults are scheduled: the server's virtual clock (``VirtualClock.call_at``)."""

    def call_at(self, t_ns: int, callback: Callable[[], Any], *, label: str = "") -> Any: ...


class FaultConfigError(ValueError):
    """A fault plan that cannot be used; the message names file, key and value."""


@dataclass(frozen=True, slots=True)
class Fault:
    action: str
    direction: str = "out"
    session: str | None = None
    msg_seq: int | None = None
    msg_type: str | None = None
    at_ns: int | None = None
    delay_ns: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise FaultConfigError(f"action {self.action!r} is not one of {', '.join(ACTIONS)}")
        if self.direction not in ("in", "out"):
            raise FaultConfigError(f"direction {self.direction!r} is not 'in' or 'out'")
        if self.action == "delay" and self.delay_ns <= 0:
            raise FaultConfigError("a delay fault needs delay_ms > 0")
        if self.count < 1:
            raise FaultConfigError(f"count {self.count} must be at least 1")

    @property
    def timed(self) -> bool:
        """A disconnect at an instant, whatever the traffic."""
        return (
            self.action == "disconnect"
            and self.at_ns is not None
            and self.msg_seq is None
            and not self.msg_type
        )


class FaultPlan:
    """The faults of a run and what they did (``fired``: one line per hit, for reports and tests)."""

    def __init__(self, faults: Sequence[Fault], clock: Clock) -> None:
        self.faults = tuple(faults)
        self.clock = clock
        self._left = [f.count for f in self.faults]
        self._links: list[LinkFaults] = []
        self.fired: list[str] = []
        self.timers: Timers | None = None
        self._scheduled: list[Any] = []

    def arm(self, timers: Timers | None) -> None:
        """Schedule the plan's timed disconnects (and, later, its releases) on ``timers``."""
        self.timers = timers
        if timers is None:
            return
        now = self.clock.now_ns()
        for i, f in enumerate(self.faults):
            if f.timed and f.at_ns is not None:
                self.schedule(max(f.at_ns, now), self._disconnect_later(i), f"fault {i} disconnect")

    def _disconnect_later(self, i: int) -> Callable[[], None]:
        return lambda: self._disconnect(i)

    def schedule(self, t_ns: int, fn: Callable[[], None], label: str) -> None:
        if self.timers is not None:
            self._scheduled.append(self.timers.call_at(t_ns, fn, label=label))

    def disarm(self) -> None:
        """Cancel what the plan scheduled (a replaced plan fires nothing more)."""
        for t in self._scheduled:
            cancel = getattr(t, "cancel", None)
            if cancel is not None:
                cancel()
        self._scheduled.clear()
        self.timers = None

    def held(self) -> int:
        """Messages held back by delays, on every link."""
        return sum(len(lf.held) for lf in self._links)

    def for_link(self, conn: FixConnection) -> LinkFaults:
        lf = LinkFaults(self, conn)
        self._links.append(lf)
        return lf

    def _take(self, i: int, what: str) -> bool:
        if self._left[i] <= 0:
            return False
        self._left[i] -= 1
        self.fired.append(what)
        return True

    def tick(self) -> None:
        """Release due delayed messages and fire timed disconnects (call on every timer tick)."""
        now = self.clock.now_ns()
        for lf in list(self._links):
            lf.release(now)
        for i, f in enumerate(self.faults):
            if f.timed and f.at_ns is not None and now >= f.at_ns and self._left[i] > 0:
                self._disconnect(i)

    def _disconnect(self, i: int) -> None:
        f, now = self.faults[i], self.clock.now_ns()
        for lf in list(self._links):
            if lf.matches_session(f) and self._take(i, f"disconnect {lf.name} at {now}"):
                lf.conn.abort()

    def _unlink(self, lf: LinkFaults) -> None:
        if lf in self._links:
            self._links.remove(lf)


class LinkFaults:
    """The plan applied to one connection."""

    def __init__(self, plan: FaultPlan, conn: FixConnection) -> None:
        self.plan = plan
        self.conn = conn
        # Held messages in order: (release instant, direction, frame). Each direction is a queue.
        self.held: list[tuple[int, str, bytes | Garbled]] = []

    def _queued(self, direction: str) -> int | None:
        """The release instant of the last message held in ``direction`` (None: none held)."""
        for due, d, _ in reversed(self.held):
            if d == direction:
                return due
        return None

    def _hold(self, direction: str, due: int, item: bytes | Garbled) -> None:
        last = self._queued(direction)
        if last is not None and last > due:
            due = last  # behind what is already held: a stream keeps its order
        self.held.append((due, direction, item))
        if last is None or due > last:
            self.plan.schedule(due, lambda: self.release(self.plan.clock.now_ns()), f"release {direction}")

    @property
    def name(self) -> str:
        s = self.conn.session
        return (
            f"{s.session_id.sender_comp_id}->{s.session_id.target_comp_id}"
            if s is not None
            else self.conn.peer
        )

    def matches_session(self, f: Fault) -> bool:
        return f.session is None or f.session == self.name

    def _match(self, direction: str, seq: int | None, msg_type: str | None) -> int | None:
        now = self.plan.clock.now_ns()
        for i, f in enumerate(self.plan.faults):
            if f.direction != direction or f.timed or self.plan._left[i] <= 0:
                continue
            if not self.matches_session(f):
                continue
            if f.msg_seq is not None and f.msg_seq != seq:
                continue
            if f.msg_type is not None and f.msg_type != msg_type:
                continue
            if f.at_ns is not None and now < f.at_ns:
                continue
            return i
        return None

    def outbound(self, raw: bytes, seq: int, msg_type: str) -> list[bytes]:
        """The frames to write now for one outgoing frame: none, itself, a garbled one, or it and
        a PossDup copy; none while earlier ones are held."""
        frames = self._outbound(raw, seq, msg_type)
        if frames and self._queued("out") is not None:
            now = self.plan.clock.now_ns()
            for fr in frames:
                self._hold("out", now, fr)
            return []
        return frames

    def _outbound(self, raw: bytes, seq: int, msg_type: str) -> list[bytes]:
        i = self._match("out", seq, msg_type)
        if i is None:
            return [raw]
        f = self.plan.faults[i]
        if not self.plan._take(i, f"{f.action} out {self.name} seq {seq} type {msg_type}"):
            return [raw]
        if f.action == "drop":
            return []
        if f.action == "garble":
            return [_garble(raw)]
        if f.action == "duplicate":
            return [raw, possdup_copy(raw)]
        if f.action == "delay":
            self._hold("out", self.plan.clock.now_ns() + f.delay_ns, raw)
            return []
        self.conn.abort()
        return []

    def inbound(self, frames: list[bytes | Garbled]) -> list[bytes | Garbled]:
        """The frames to hand to the session now; the rest are dropped or held."""
        out: list[bytes | Garbled] = []
        for raw in frames:
            passed, cut = self._inbound(raw)
            if passed and self._queued("in") is not None:
                now = self.plan.clock.now_ns()
                for fr in passed:
                    self._hold("in", now, fr)
            else:
                out += passed
            if cut:
                break
        return out

    def _inbound(self, raw: bytes | Garbled) -> tuple[list[bytes | Garbled], bool]:
        """What passes of one inbound frame, and whether the link was cut."""
        if isinstance(raw, Garbled):
            return [raw], False
        seq, msg_type = _seq_type(raw)
        i = self._match("in", seq, msg_type)
        if i is None:
            return [raw], False
        f = self.plan.faults[i]
        if not self.plan._take(i, f"{f.action} in {self.name} seq {seq} type {msg_type}"):
            return [raw], False
        if f.action == "drop":
            return [], False
        if f.action == "garble":
            return [Garbled(_garble(raw), "garbled by fault injection")], False
        if f.action == "duplicate":
            return [raw, possdup_copy(raw)], False
        if f.action == "delay":
            self._hold("in", self.plan.clock.now_ns() + f.delay_ns, raw)
            return [], False
        self.conn.abort()
        return [], True

    def release(self, now: int) -> None:
        """Let go of each direction's held messages, in order, up to the first not yet due."""
        if not self.held:
            return
        keep: list[tuple[int, str, bytes | Garbled]] = []
        inbound: list[bytes | Garbled] = []
        outbound: list[bytes] = []
        blocked: set[str] = set()
        for item in self.held:
            due, direction, raw = item
            if due > now or direction in blocked:
                blocked.add(direction)
                keep.append(item)
            elif direction == "in":
                inbound.append(raw)
            elif isinstance(raw, bytes):
                outbound.append(raw)
        self.held = keep
        if outbound:
            self.conn.flush()  # anything queued before the hold goes first
            for raw in outbound:
                self.conn.write_now(raw)
        if inbound:
            self.conn.deliver(inbound)

    def cancel(self) -> None:
        self.held.clear()
        self.plan._unlink(self)


def _seq_type(raw: bytes) -> tuple[int | None, str | None]:
    try:
        msg = parse(raw)
        seq = msg.get_int(34)
    except (GarbledError, ValueError):
        return None, None
    return seq, msg.msg_type


def possdup_copy(raw: bytes) -> bytes:
    """A copy of a frame as its sender's retransmission: PossDupFlag 43=Y and OrigSendingTime 122
    (its SendingTime) added to the header, BodyLength and CheckSum recomputed."""
    try:
        msg = parse(raw)
    except GarbledError:
        return raw
    fields = [(t, v) for t, v in msg.fields[2:] if t not in (10, 43, 97, 122)]
    at = next((k for k, (t, _) in enumerate(fields) if t == 56), 2) + 1
    fields[at:at] = [(43, b"Y"), (122, msg.get(52) or b"")]
    return frame(msg.fields[0][1], encode_fields(fields))


def _garble(raw: bytes) -> bytes:
    """The same frame with one body byte changed: framing holds, the CheckSum fails."""
    i = len(raw) // 2
    b = raw[i]
    new = b"X" if b != ord("X") and b != 1 else b"Y"
    if b == 1:
        i -= 1
    return raw[:i] + new + raw[i + 1 :]


def _fault(raw: dict[str, Any], where: str) -> Fault:
    known = {"action", "direction", "session", "msg_seq", "msg_type", "at", "delay_ms", "count"}
    for key in raw:
        if key not in known:
            raise FaultConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
    at_ns = None
    if "at" in raw:
        at = raw["at"]
        try:
            dt = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            at_ns = from_datetime(dt)
        except ValueError as e:
            raise FaultConfigError(f"{where}.at: {at!r} is not an instant with a time zone ({e})") from e
    for key in ("msg_seq", "delay_ms", "count"):
        if key in raw and (not isinstance(raw[key], int) or isinstance(raw[key], bool)):
            raise FaultConfigError(f"{where}.{key}: {raw[key]!r} is not an integer")
    try:
        return Fault(
            action=str(raw.get("action", "")),
            direction=str(raw.get("direction", "out")),
            session=raw.get("session"),
            msg_seq=raw.get("msg_seq"),
            msg_type=raw.get("msg_type"),
            at_ns=at_ns,
            delay_ns=int(raw.get("delay_ms", 0)) * NS_PER_MS,
            count=int(raw.get("count", 1)),
        )
    except FaultConfigError as e:
        raise FaultConfigError(f"{where}: {e}") from e


def parse_faults(data: dict[str, Any], clock: Clock, source: str = "<memory>") -> FaultPlan:
    raw = data.get("fault", [])
    if not isinstance(raw, list):
        raise FaultConfigError(f"{source}: fault: expected [[fault]] tables")
    return FaultPlan([_fault(r, f"{source}: fault[{i}]") for i, r in enumerate(raw)], clock)


def load_faults(path: Path, clock: Clock) -> FaultPlan:
    """A fault plan from TOML; errors name the file, the key and the value."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FaultConfigError(f"{path}: cannot read ({e.strerror})") from e
    except tomllib.TOMLDecodeError as e:
        raise FaultConfigError(f"{path}: not valid TOML ({e})") from e
    return parse_faults(data, clock, str(path))
