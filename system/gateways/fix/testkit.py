"""Drive an acceptor by hand, without sockets or an event loop: a scripted peer for tests.

```python
clock = FixedClock(t0); timers = FixedClock(0)
acceptor = FixAcceptor(sessions, app, clock, store_factory("memory:"), timer_clock=timers)
peer = Peer(acceptor, sender="TW44", target="ISLD", clock=clock)
peer.connect()
[logon] = peer.send("A", [(98, 0), (108, 30)])
```

``Peer.send`` builds a well-formed message (BodyLength, CheckSum, the next MsgSeqNum, SendingTime
from ``clock``) unless told otherwise, hands it to the acceptor's connection, and returns what the
acceptor wrote back, parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from system.clock import Clock
from system.gateways.fix.acceptor import FixAcceptor
from system.gateways.fix.codec import Framer, Garbled, encode_fields, format_timestamp, frame, parse
from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import BusinessReject, BusinessRejectReason, UnsupportedMessageType
from system.gateways.fix.session import FixSession
from system.gateways.fix.transport import FixConnection

Fields = Iterable[tuple[int, str | bytes | int]]


class FakeTransport(asyncio.Transport):
    """Collects what the connection writes; closing only marks it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("peer", 0) if name == "peername" else default


class Peer:
    """The other side of one connection to ``acceptor`` (we play the initiator)."""

    def __init__(
        self,
        acceptor: FixAcceptor,
        *,
        sender: str = "TW44",
        target: str = "ISLD",
        clock: Clock,
        begin_string: str = "FIX.4.4",
    ) -> None:
        self.acceptor = acceptor
        self.sender = sender
        self.target = target
        self.clock = clock
        self.begin_string = begin_string
        self.next_seq = 1
        self.conn: FixConnection | None = None
        self.transport: FakeTransport | None = None
        self._framer = Framer()
        self._lost = False
        self.garbled: list[Garbled] = []
        acceptor.open()

    def connect(self) -> None:
        conn = self.acceptor.connection()
        transport = FakeTransport()
        conn.connection_made(transport)
        self.conn, self.transport = conn, transport
        self._framer = Framer()
        self._lost = False

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.closed

    def build(
        self,
        msg_type: str,
        body: Fields = (),
        *,
        seq: int | None = None,
        header: Fields = (),
        sending_time: bytes | None = None,
        sender: str | None = None,
        target: str | None = None,
    ) -> bytes:
        """A framed message; ``seq`` defaults to the next one (and advances it)."""
        if seq is None:
            seq = self.next_seq
            self.next_seq += 1
        stamp = sending_time if sending_time is not None else format_timestamp(self.clock.now_ns())
        fields: list[tuple[int, str | bytes | int]] = [
            (35, msg_type),
            (34, seq),
            (49, sender if sender is not None else self.sender),
            (52, stamp),
            (56, target if target is not None else self.target),
            *header,
            *body,
        ]
        return frame(self.begin_string.encode(), encode_fields(fields))

    def send(self, msg_type: str, body: Fields = (), **kw: Any) -> list[FixMessage]:
        return self.send_raw(self.build(msg_type, body, **kw))

    def send_raw(self, data: bytes) -> list[FixMessage]:
        """Feed bytes to the acceptor; what it answered, parsed."""
        assert self.conn is not None, "connect() first"
        if not self.closed:
            self.conn.data_received(data)
        return self.received()

    def received(self) -> list[FixMessage]:
        assert self.transport is not None and self.conn is not None
        data = bytes(self.transport.written)
        self.transport.written.clear()
        out: list[FixMessage] = []
        for f in self._framer.feed(data):
            if isinstance(f, Garbled):
                self.garbled.append(f)
            else:
                out.append(parse(f))
        if self.transport.closed and not self._lost:
            self._lost = True
            self.conn.connection_lost(None)
        return out

    def tick(self) -> list[FixMessage]:
        """Run the acceptor's timers once; what it sent."""
        self.acceptor.tick()
        return self.received()

    def logon(self, heartbeat_s: int = 30, *extra: tuple[int, str | bytes | int]) -> list[FixMessage]:
        if self.conn is None or self.closed:
            self.connect()
        return self.send("A", [(98, 0), (108, heartbeat_s), *extra])


class OrderDesk:
    """A toy order-entry application for wire tests of the session layer: acknowledges, cancels and
    replaces orders, and fills two opposite orders of the same symbol and price against each other.
    (The real mapping to the engine is the server's FIX application.)"""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.events: list[str] = []
        self._seq = 0

    def on_logon(self, session: FixSession) -> None:
        self.events.append(f"logon {session.session_id}")

    def on_logout(self, session: FixSession) -> None:
        self.events.append(f"logout {session.session_id}")

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq}"

    def _report(self, o: dict[str, Any], exec_type: str, status: str, extra: Fields = ()) -> None:
        body: list[tuple[int, str | bytes | int]] = [
            (37, o["order_id"]),
            (11, o["clordid"]),
            (17, self._next("E")),
            (150, exec_type),
            (39, status),
            (55, o["symbol"]),
            (54, o["side"]),
            (38, o["qty"]),
            (44, o["price"]),
            (151, o["qty"] - o["cum"]),
            (14, o["cum"]),
            (6, o["price"] if o["cum"] else "0"),
            (60, format_timestamp(o["session"].clock.now_ns())),
            *extra,
        ]
        o["session"].send("8", body)

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        mt = msg.msg_type
        if mt == "D":
            clordid = msg.get_str(11) or ""
            if clordid in self.orders:
                raise BusinessReject(BusinessRejectReason.OTHER, f"duplicate ClOrdID {clordid}", clordid)
            o = {
                "clordid": clordid,
                "order_id": self._next("O"),
                "side": msg.get_str(54),
                "qty": int(float(msg.get_str(38) or 0)),
                "price": msg.get_str(44) or "0",
                "symbol": msg.get_str(55) or "",
                "cum": 0,
                "session": session,
            }
            self.orders[clordid] = o
            self._report(o, "0", "0")
            self._cross(o)
        elif mt in ("F", "G"):
            orig = self.orders.get(msg.get_str(41) or "")
            new_id = msg.get_str(11) or ""
            if orig is None or orig["cum"] >= orig["qty"]:
                reject: list[tuple[int, str | bytes | int]] = [(37, "NONE"), (11, new_id)]
                reject += [(41, msg.get_str(41) or ""), (39, 8), (434, 1 if mt == "F" else 2)]
                session.send("9", [*reject, (102, 1), (58, "unknown order")])
                return
            del self.orders[orig["clordid"]]
            orig["clordid"] = new_id
            self.orders[new_id] = orig
            extra = [(41, msg.get_str(41) or "")]
            if mt == "F":
                orig["qty"] = orig["cum"]
                self._report(orig, "4", "4", extra)
            else:
                orig["qty"] = int(float(msg.get_str(38) or 0))
                orig["price"] = msg.get_str(44) or orig["price"]
                self._report(orig, "5", "0", extra)
                self._cross(orig)
        else:
            raise UnsupportedMessageType()

    def _cross(self, o: dict[str, Any]) -> None:
        for other in list(self.orders.values()):
            if other is o or other["symbol"] != o["symbol"] or other["side"] == o["side"]:
                continue
            if other["price"] != o["price"] or other["cum"] >= other["qty"]:
                continue
            qty = min(o["qty"] - o["cum"], other["qty"] - other["cum"])
            if qty <= 0:
                return
            for side in (other, o):
                side["cum"] += qty
                status = "2" if side["cum"] >= side["qty"] else "1"
                self._report(side, "F", status, [(31, side["price"]), (32, qty)])
