"""The FIX initiator: the same session layer, dialling out. Tests, the FIX driver and the
benchmark's load generator use it as the client."""

from __future__ import annotations

import asyncio
import contextlib

from system.clock import Clock, WallClock
from system.gateways.fix.config import SessionSettings
from system.gateways.fix.dictionary import Dictionary, load_dictionary
from system.gateways.fix.faults import FaultPlan
from system.gateways.fix.message import FixMessage
from system.gateways.fix.session import Application, FixSession, State
from system.gateways.fix.store import MessageStoreFactory
from system.gateways.fix.transport import FixConnection


class _LogonWatch:
    """Passes callbacks through to the application and wakes ``connect`` on logon or logout."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.changed = asyncio.Event()

    def on_logon(self, session: FixSession) -> None:
        self.changed.set()
        self.app.on_logon(session)

    def on_logout(self, session: FixSession) -> None:
        self.changed.set()
        self.app.on_logout(session)

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.app.from_app(msg, session)


class FixInitiator:
    """One outgoing session. ``settings`` are from our side (we are ``sender_comp_id``)."""

    def __init__(
        self,
        settings: SessionSettings,
        app: Application,
        clock: Clock,
        store: MessageStoreFactory,
        *,
        host: str,
        port: int,
        faults: FaultPlan | None = None,
        timer_clock: Clock | None = None,
        dictionary: Dictionary | None = None,
        tick_s: float = 0.05,
        link: type[FixConnection] = FixConnection,
    ) -> None:
        self.settings = settings
        self._link = link  # a FixConnection subclass (the mocks' recording one)
        self.host = host
        self.port = port
        self.faults = faults
        self.tick_s = tick_s
        self._watch = _LogonWatch(app)
        self.session = FixSession(
            settings,
            self._watch,
            clock,
            store(settings),
            timer_clock=timer_clock if timer_clock is not None else WallClock(),
            dictionary=dictionary if dictionary is not None else load_dictionary(),
            initiator=True,
        )
        self._ticker: asyncio.Task[None] | None = None
        self.connection: FixConnection | None = None

    async def connect(self, *, reset: bool | None = None) -> FixSession:
        """Connect, send Logon and return once the acceptor's Logon arrives.

        Raises ``ConnectionError`` (with the reason) when the acceptor refuses or goes silent.
        """
        loop = asyncio.get_running_loop()
        self._watch.changed.clear()
        session = self.session
        _, conn = await loop.create_connection(
            lambda: self._link(session=session, faults=self.faults, max_body=self.settings.max_body),
            self.host,
            self.port,
        )
        self.connection = conn
        if self._ticker is None:
            self._ticker = loop.create_task(self._tick())
        session.start_logon(reset=reset)
        conn.flush()
        while session.state is State.LOGON_SENT:
            # Woken by the logon; a refusal or the logon timeout shows as a state change.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._watch.changed.wait(), self.tick_s)
            self._watch.changed.clear()
        if session.state is not State.ACTIVE:
            raise ConnectionError(f"logon of {session.session_id} failed: {session.close_reason}")
        return session

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.session.on_timer()
            if self.faults is not None:
                self.faults.tick()

    async def stop(self, *, timeout_s: float = 2.0) -> None:
        """Log out (waiting for the reply up to ``timeout_s``), close, release the store."""
        session = self.session
        if session.state is State.ACTIVE:
            session.logout()
            # Counted sleeps, not a clock read: time reaches system/ only through injected clocks.
            for _ in range(round(timeout_s / 0.005)):
                if session.link is None:
                    break
                await asyncio.sleep(0.005)
        if session.link is not None:
            session.disconnect("initiator stopped")
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        session.store.close()
