"""The asyncio side of a FIX connection: framing reads, batched writes, faults on the way.

``data_received`` frames every message of a read at once and hands them to the session; what the
session sends while handling them is written in one ``transport.write`` at the end, after the
session's store has been flushed (write-ahead: nothing reaches the peer that a restart forgets).
Sends from outside a read (the server routing an ExecutionReport) are batched by ``call_soon``.
With a ``Throttle`` (the server's sequencer), a connection stops reading while the sequencer's
queue is over its high-water mark, so a client that sends faster than the system executes is
held back by TCP instead of growing the server's queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from system.gateways.fix.codec import Framer, Garbled, GarbledError, parse
from system.gateways.fix.faults import FaultPlan, LinkFaults

if TYPE_CHECKING:
    from system.gateways.fix.session import FixSession

log = logging.getLogger("chronex.fix")

# Called with the first message of an accepted connection; returns the session to bind, or None
# (the connection is then closed). The acceptor decides who may log on.
Binder = Callable[[bytes, "FixConnection"], "FixSession | None"]


class Throttle(Protocol):
    """Backpressure from whatever executes the messages (``Sequencer`` is one)."""

    def overloaded(self) -> bool: ...
    def when_drained(self, resume: Callable[[], None]) -> None: ...


class FixConnection(asyncio.Protocol):
    """One TCP connection carrying one FIX session."""

    def __init__(
        self,
        *,
        session: FixSession | None = None,
        binder: Binder | None = None,
        faults: FaultPlan | None = None,
        max_body: int = 1 << 20,
        on_closed: Callable[[FixConnection], None] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.session = session
        self._throttle = throttle
        self._paused = False
        self._binder = binder
        self._framer = Framer(max_body)
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._closing = False
        self._on_closed = on_closed
        self.transport: asyncio.Transport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.faults: LinkFaults | None = None
        self._plan = faults
        self.peer = ""

    # -- asyncio.Protocol ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        try:
            self.loop = asyncio.get_running_loop()
        except RuntimeError:  # driven by hand (the testkit): writes go out at once
            self.loop = None
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if self._plan is not None:
            self.faults = self._plan.for_link(self)
        if self.session is not None:
            self.session.attach(self)

    def use_faults(self, plan: FaultPlan | None) -> None:
        """Apply ``plan`` from now on (None: no faults), replacing the one the link had."""
        if self.faults is not None:
            self.faults.cancel()
        self._plan = plan
        self.faults = plan.for_link(self) if plan is not None and self.transport is not None else None

    def data_received(self, data: bytes) -> None:
        frames = self._framer.feed(data)
        if self.faults is not None:
            frames = self.faults.inbound(frames)
        self.deliver(frames)
        throttle = self._throttle
        if throttle is not None and not self._paused and throttle.overloaded() and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
            throttle.when_drained(self._resume_reading)

    def _resume_reading(self) -> None:
        self._paused = False
        if not self._closing and self.transport is not None:
            self.transport.resume_reading()

    def deliver(self, frames: list[bytes | Garbled]) -> None:
        """Hand frames to the session (binding one on the first message of an accepted link)."""
        for i, raw in enumerate(frames):
            if self._closing:
                break
            session = self.session
            if session is None:
                if self._binder is None or isinstance(raw, Garbled):
                    self.close()
                    break
                session = self._binder(raw, self)
                if session is None:
                    self.close()
                    break
                self.session = session
                continue
            session.on_frames(frames[i:])
            break
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self.session is not None and self.session.link is self:
            self.session.connection_lost()
        if self.faults is not None:
            self.faults.cancel()
        if self._on_closed is not None:
            self._on_closed(self)

    # -- Link ---------------------------------------------------------------------------------------
    def send_frame(self, raw: bytes, seq: int, msg_type: str) -> None:
        if self._closing:
            return
        if self.faults is None:
            self._out.append(raw)
        else:
            self._out += self.faults.outbound(raw, seq, msg_type)
        if not self._flush_scheduled:
            if self.loop is None:
                self.flush()
                return
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def write_now(self, raw: bytes) -> None:
        """Bytes for the wire outside the session's numbering (fault injection's duplicates)."""
        if not self._closing and self.transport is not None:
            self.transport.write(raw)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._out or self.transport is None:
            return
        if self.session is not None:
            self.session.store.flush()
        data = b"".join(self._out)
        self._out.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self._closing:
            return
        self.flush()
        self._closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection without flushing (a fault's disconnect, a crashed peer)."""
        self._out.clear()
        self._closing = True
        if self.transport is not None:
            self.transport.abort()


def first_message(raw: bytes) -> tuple[str, str, str, str] | None:
    """(BeginString, MsgType, SenderCompID, TargetCompID) of a frame, or None when garbled."""
    try:
        msg = parse(raw)
    except GarbledError:
        return None
    if len(msg.fields) < 3 or msg.fields[2][0] != 35:
        return None
    return (
        msg.fields[0][1].decode("latin-1"),
        msg.msg_type,
        msg.get_str(49) or "",
        msg.get_str(56) or "",
    )
