"""The FIX acceptor of ``chronex serve``: the order-entry application (orders.py) wired to a
server: its sessions TOML, SendingTime from the server's clock, session timers on the wall, the
message store beside the log, and the sequencer's backpressure. A reset swaps the server's host,
so the clock and the throttle ask the server each time instead of holding the old host's parts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from system.clock import Clock
from system.gateways.fix.config import load_sessions
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.orders import OrderEntry
from system.server.server import Server


def build_acceptor(
    server: Server,
    *,
    sessions: str | None,
    port: int,
    profile: str | None,
    wall: Clock,
    store: str | None = None,
) -> Any:
    """The FIX acceptor of ``chronex serve``: sessions from ``sessions`` (TOML), SendingTime from
    the server's clock, session timers on ``wall``, the message store beside the log."""
    from system.gateways.fix.acceptor import FixAcceptor
    from system.gateways.fix.config import ConfigError
    from system.gateways.fix.store import store_factory

    if profile not in (None, "acceptance"):
        raise ValueError(f"--fix-profile {profile!r} is not a profile (use acceptance)")
    if sessions is None and profile is None:
        raise ValueError("--fix-port needs --sessions FILE (or --fix-profile acceptance)")
    if profile == "acceptance":
        from system.gateways.fix import acceptance  # the protocol layer's application

        return acceptance.build(port=port, wall=wall)
    assert sessions is not None
    try:
        cfg = load_sessions(Path(sessions))
    except ConfigError as e:
        raise ValueError(str(e)) from None
    app = OrderEntry(server, cfg)
    log_url = str(server.host.store.url)
    if store is None:
        if "://" in log_url and not log_url.startswith(("memory", "sqlite:///")):
            raise ValueError(
                "--fix-port over a server log needs --fix-store file:DIR (the FIX session store: "
                "sequence numbers and sent messages)"
            )
        store = "memory:" if log_url.startswith("memory") else f"file:{_store_dir(log_url)}"
    return FixAcceptor(
        cfg, app, _ServerClock(server), store_factory(store), port=port, timer_clock=wall,
        dictionary=chronex_dictionary(), throttle=_ServerThrottle(server),
        timers=lambda: _timers(server),
    )  # fmt: skip


def _store_dir(log_url: str) -> Path:
    p = Path(log_url.removeprefix("sqlite:///"))
    d = p.parent / f"{p.name}.fix"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _timers(server: Server) -> Any:
    """The server's clock when it can schedule (the virtual clock under every clock mode)."""
    clock = server.host.clock
    return clock if hasattr(clock, "call_at") else None


class _ServerThrottle:
    """The server's current sequencer as the acceptor's backpressure (a reset swaps it)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def overloaded(self) -> bool:
        return self.server.sequencer.overloaded()

    def when_drained(self, resume: Callable[[], None]) -> None:
        self.server.sequencer.when_drained(resume)


class _ServerClock:
    """The server's current clock (a reset swaps the host, and with it the clock)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def now_ns(self) -> int:
        return self.server.mode.now_ns()
