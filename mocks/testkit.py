"""Dialling a FIX mock from a test (or the hedging engine's tests): a client that keeps what
arrives, and ``dial`` to log on.

```python
client = FixClient()
session, initiator = await dial(ex.endpoints()["fix"], "HEDGER", "EXCH", client, clock)
session.send("D", [(11, "h1"), (1, "HEDGE"), (55, "CRYPTO:BTCUSD"), (54, "1"), (38, "0.5"),
                   (40, "2"), (44, "94300"), (59, "3"), (60, "20310106-00:00:00")])
await until(lambda: client.of("8"))
await initiator.stop()
```
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from system.clock import Clock
from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.config import SessionSettings
from system.gateways.fix.mapping import chronex_dictionary

__all__ = ["FixClient", "ServedVenue", "dial", "until"]


class FixClient:
    """An initiator's application that keeps every application message it gets."""

    def __init__(self) -> None:
        self.got: list[FixMessage] = []
        self.logged_out = False

    def on_logon(self, session: FixSession) -> None:
        self.logged_out = False

    def on_logout(self, session: FixSession) -> None:
        self.logged_out = True

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.got.append(msg)

    def of(self, msg_type: str) -> list[FixMessage]:
        return [m for m in self.got if m.msg_type == msg_type]


async def until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for ``cond`` (generous: the test machine is shared and loaded)."""
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def dial(
    endpoint: str,
    sender: str,
    target: str,
    app: FixClient,
    clock: Clock,
    *,
    dictionary: Any = None,
    **settings: object,
) -> tuple[FixSession, FixInitiator]:
    """Log on to ``endpoint`` (host:port) as ``sender`` towards ``target`` (``dictionary``: the
    FIX dictionary to validate with, Chronex's by default)."""
    host, _, port = endpoint.rpartition(":")
    s = SessionSettings(sender_comp_id=sender, target_comp_id=target, sending_time_tolerance_s=0, **settings)  # type: ignore[arg-type]
    ini = FixInitiator(
        s, app, clock, store_factory("memory:"), host=host, port=int(port),
        dictionary=dictionary if dictionary is not None else chronex_dictionary(),
    )  # fmt: skip
    session = await ini.connect(reset=True)
    return session, ini


class ServedVenue:
    """``chronex serve``'s parts on this loop (no calendar, always continuous, virtual clock):
    the sequencer, the FIX acceptor with Chronex's order entry and the admin channel. For tests
    of the dialling mocks; ``clock`` is the venue's virtual clock, to share with the mocks."""

    def __init__(
        self, instruments: tuple[Any, ...], sessions: Path, *, start_ns: int, log: str = "memory://"
    ):
        from chronex.commands.serve import ServedWorld, WorldHost
        from system.bootstrap import SystemConfig
        from system.engine import Phase
        from system.gateways.fix.config import load_sessions
        from system.server.clockmode import ClockMode
        from system.server.server import Server

        cfg = SystemConfig(instruments=instruments, default_phase=Phase.CONTINUOUS, label="test venue")
        self.world = ServedWorld(cfg, start_ns=start_ns, log=log, sessions=False)
        self.clock = self.world.clock
        self.server = Server(WorldHost(self.world), ClockMode(self.world.clock))
        self.sessions = load_sessions(sessions)
        self.acceptor: Any = None
        self.admin: Any = None

    async def start(self) -> None:
        from system.gateways.fix import FixAcceptor
        from system.gateways.fix.orders import OrderEntry
        from system.server.admin import AdminServer

        await self.server.start()
        self.acceptor = FixAcceptor(
            self.sessions, OrderEntry(self.server, self.sessions), self.clock, store_factory("memory:"),
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        await self.acceptor.start()
        self.admin = AdminServer(self.server, port=0)
        await self.admin.start()

    @property
    def fix(self) -> str:
        return f"127.0.0.1:{self.acceptor.port}"

    @property
    def admin_address(self) -> str:
        return f"127.0.0.1:{self.admin.port}"

    async def stop(self) -> None:
        if self.admin is not None:
            await self.admin.stop()
        if self.acceptor is not None:
            await self.acceptor.stop()
        await self.server.stop()
