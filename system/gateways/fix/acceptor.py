"""The FIX acceptor: listens, binds each connection to its configured session at Logon, ticks the
session timers, and logs everyone out on ``stop``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from system.clock import NS_PER_SECOND, Clock, WallClock
from system.gateways.fix.codec import parse
from system.gateways.fix.config import SessionsConfig
from system.gateways.fix.dictionary import Dictionary, load_dictionary
from system.gateways.fix.faults import FaultPlan, Timers
from system.gateways.fix.message import FixMessage
from system.gateways.fix.session import Application, FixSession, State
from system.gateways.fix.store import MessageStoreFactory
from system.gateways.fix.transport import FixConnection, Throttle, first_message

log = logging.getLogger("chronex.fix")


class FixAcceptor:
    """Serves every session of ``sessions`` on one port.

    A connection must open with a Logon whose CompIDs name a configured session (ours is its
    TargetCompID); anything else, or a Logon for a session that is already live (FIX 1b), closes
    the connection without a reply. ``clock`` stamps SendingTime; ``timer_clock`` (wall time by
    default) drives heartbeats and timeouts; ``throttle`` (the server's sequencer) pauses reading
    while the system is behind; ``timers`` (the server's virtual clock, asked anew each time: a
    reset replaces it) is where a fault plan schedules its timed faults.
    """

    def __init__(
        self,
        sessions: SessionsConfig,
        app: Application,
        clock: Clock,
        store: MessageStoreFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        timer_clock: Clock | None = None,
        dictionary: Dictionary | None = None,
        tick_s: float = 0.05,
        throttle: Throttle | None = None,
        timers: Callable[[], Timers | None] | None = None,
    ) -> None:
        self.config = sessions
        self.throttle = throttle
        self._timers = timers
        self.app = app
        self.clock = clock
        self.timer_clock = timer_clock if timer_clock is not None else WallClock()
        self.store_factory = store
        self.host = host
        self.port = port
        self.faults = faults
        self.dictionary = dictionary if dictionary is not None else load_dictionary()
        self.tick_s = tick_s
        self.sessions: dict[tuple[str, str], FixSession] = {}
        self._conns: dict[FixConnection, int] = {}
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    def open(self) -> None:
        """Create the sessions and open their stores (``start`` does it; the testkit calls it alone)."""
        if self.sessions:
            return
        for s in self.config.sessions:
            self.sessions[s.key] = FixSession(
                s,
                self.app,
                self.clock,
                self.store_factory(s),
                timer_clock=self.timer_clock,
                dictionary=self.dictionary,
            )

    async def start(self) -> None:
        """Open the stores and bind; ``port`` is the bound port afterwards."""
        self.open()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self.connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = loop.create_task(self._tick())
        log.info("FIX acceptor on %s:%d with %d sessions", self.host, self.port, len(self.sessions))

    def session(self, sender_comp_id: str, target_comp_id: str) -> FixSession:
        """Our session with the given our-side CompIDs (KeyError when not configured)."""
        return self.sessions[(sender_comp_id, target_comp_id)]

    def connection(self) -> FixConnection:
        """A protocol object for one accepted connection (asyncio calls this per connection)."""
        max_body = max((s.max_body for s in self.config.sessions), default=1 << 20)
        conn = FixConnection(
            binder=self._bind, faults=self.faults, max_body=max_body, on_closed=self._closed,
            throttle=self.throttle,
        )  # fmt: skip
        self._conns[conn] = self.timer_clock.now_ns()
        return conn

    def install_faults(self, plan: FaultPlan | None) -> None:
        """Use ``plan`` on live connections and new ones (None: remove every fault)."""
        if self.faults is not None:
            self.faults.disarm()
        self.faults = plan
        if plan is not None and self._timers is not None:
            plan.arm(self._timers())
        for conn in self._conns:
            conn.use_faults(plan)

    def status(self) -> dict[str, dict[str, object]]:
        """Each session's state and next sequence numbers, by ``SENDER->TARGET`` (ours first)."""
        return {
            f"{s.session_id.sender_comp_id}->{s.session_id.target_comp_id}": {
                "state": s.state.name,
                "next_out": s.store.next_sender_seq,
                "next_in": s.store.next_target_seq,
                "duplicates_ignored": s.duplicates_ignored,
            }
            for s in self.sessions.values()
        }

    def _closed(self, conn: FixConnection) -> None:
        self._conns.pop(conn, None)

    def _bind(self, raw: bytes, conn: FixConnection) -> FixSession | None:
        first = first_message(raw)
        if first is None:
            log.info("connection from %s: garbled first message, closed", conn.peer)
            return None
        begin, msg_type, sender, target = first
        session = self.sessions.get((target, sender))
        if msg_type != "A" or session is None or begin != session.settings.begin_string:
            log.info(
                "connection from %s: not a Logon for a known session (%s %s->%s), closed",
                conn.peer,
                msg_type,
                sender,
                target,
            )
            return None
        if session.link is not None:
            log.info("connection from %s: %s is already logged on, second Logon refused", conn.peer, session)
            return None
        session.attach(conn)
        session.on_logon_frame(parse(raw))
        return session if session.link is conn else None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.tick()
            except Exception:  # a timer bug must not stop every session's heartbeats
                log.exception("FIX timer tick failed")

    def tick(self) -> None:
        """One round of session timers, logon timeouts and fault releases."""
        now = self.timer_clock.now_ns()
        for session in self.sessions.values():
            session.on_timer()
        for conn, since in list(self._conns.items()):
            if conn.session is None:
                timeout = max((s.logon_timeout_s for s in self.config.sessions), default=10.0)
                if now - since >= timeout * NS_PER_SECOND:
                    log.info("connection from %s: no Logon in time, closed", conn.peer)
                    conn.close()
        if self.faults is not None:
            self.faults.tick()

    async def stop(self, *, timeout_s: float = 2.0) -> None:
        """Log out live sessions, wait for their Logout replies (at most ``timeout_s``), close."""
        for session in self.sessions.values():
            if session.state is State.ACTIVE:
                session.logout("server shutting down")
        # Counted sleeps, not a clock read: time reaches system/ only through injected clocks.
        for _ in range(round(timeout_s / 0.01)):
            if all(s.link is None for s in self.sessions.values()):
                break
            await asyncio.sleep(0.01)
        for session in self.sessions.values():
            if session.link is not None:
                session.disconnect("server stopped")
        for conn in list(self._conns):
            conn.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for session in self.sessions.values():
            session.store.close()


__all__ = ["FixAcceptor", "FixMessage"]
