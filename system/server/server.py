"""A served trading system: the sequencer, its router and clock mode over one host, resettable.

Gateways hold the ``Server`` (never the host): they submit through ``server.sequencer`` and attach
sinks to ``server.router``. ``reset`` (virtual clock only, for the BDD driver running scenario after
scenario against one process) swaps in a fresh host and keeps the attached sinks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from system.clock import Clock
from system.engine import BookView, Phase
from system.runtime.runtime import RUNTIME_SNAPSHOT
from system.server.clockmode import ClockMode, ClockModeError, ControllableClock, PacedMode, WallMode
from system.server.routing import Router
from system.server.routingsnapshot import restore_routing, save_routing
from system.server.sequencer import Host, Sequencer


class ServerHost(Host, Protocol):
    """A host that also owns its clock and venue calendars (``sim.world.World`` behind an adapter)."""

    @property
    def clock(self) -> ControllableClock: ...

    def add_venue(self, venue: str) -> None:
        """Let ``venue``'s calendar drive its phases from now on."""
        ...

    def next_phase_time(self, venue: str, phase: Phase, after: int) -> int | None:
        """When ``venue`` next enters ``phase`` strictly after ``after`` (None: not in sight)."""
        ...

    def snapshot(self) -> int:
        """Snapshot the components at the log's head; returns the seq."""
        ...

    def book_history(self, instrument: str) -> list[tuple[int, int, BookView]]:
        """(seq, clock time, book) after every command that changed the book, when the host
        records them (test servers); empty otherwise."""
        ...

    def close(self) -> None: ...


HostFactory = Callable[[dict[str, Any]], ServerHost]


def make_clock_mode(
    name: str, clock: ControllableClock, wall: Clock, *, start_ns: int | None = None, speed: str = "1"
) -> ClockMode:
    """``virtual``, ``paced`` (from ``start_ns`` at ``speed``) or ``wall``."""
    if name == "virtual":
        return ClockMode(clock)
    if name == "paced":
        return PacedMode(clock, wall, start_ns=clock.now_ns() if start_ns is None else start_ns, speed=speed)
    if name == "wall":
        return WallMode(clock, wall)
    raise ClockModeError(f"unknown clock mode {name!r} (use virtual, paced or wall)")


class Server:
    def __init__(
        self,
        host: ServerHost,
        mode: ClockMode,
        *,
        factory: HostFactory | None = None,
        max_batch: int = 512,
        group_commit: bool = True,
        telemetry: Any = None,
    ) -> None:
        self.host = host
        self.telemetry = telemetry  # system.telemetry.Telemetry, handed to every sequencer
        self.mode = mode
        self._factory = factory
        self._max_batch = max_batch
        self._group_commit = group_commit
        self.router = Router()
        self.sequencer = self._wire(host)
        self._task: asyncio.Task[None] | None = None
        self.on_reset: list[Callable[[], None]] = []  # gateways drop their read models here
        self.info: dict[str, Any] = {}  # what the process announced (ports), for the admin ping
        self.gateways: dict[str, Any] = {}  # by name ("fix"), for admin ops that reach a gateway

    def _wire(self, host: ServerHost) -> Sequencer:
        seq = Sequencer(host, self.mode, max_batch=self._max_batch, group_commit=self._group_commit)
        seq.telemetry = self.telemetry
        # Who owns each order: from the latest server snapshot (taken with the runtime's), then one
        # pass over the log's tail. Which session ids the log holds is the runtime's command table.
        router = self.router
        store = host.store
        start = restore_routing(store, router)
        for ev in store.read(start + 1):
            router.learn(ev)
        seq.subscribe(self.router, catch_up=False)
        runtime = host.runtime

        def routing_hook(at: int) -> None:
            # The runtime's store at call time, not ``store``: a forked snapshot (forksnap.py)
            # swaps in a collector, and the child must never write through the parent's store.
            save_routing(runtime.store, router, at)

        runtime.snapshot_hooks.append(routing_hook)
        return seq

    async def start(self) -> None:
        self._task = asyncio.create_task(self.sequencer.run())

    async def stop(self) -> None:
        """Finish queued work, stop the sequencer, snapshot the head and close the host (the log
        stays)."""
        self.sequencer.stop()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            self.checkpoint()
        finally:  # a snapshot that fails (a full disk) costs the next start a longer tail, no more
            self.host.close()

    def checkpoint(self) -> int | None:
        """Snapshot everything at the log's head if entries came after the last snapshot, so the
        next start restores it and folds nothing (a graceful stop; after a kill -9 the next start
        folds the tail since the sequencer's last snapshot). Returns the seq, None when snapshots
        are off or there is nothing new."""
        seq = self.sequencer
        seq.publish_pending()  # the router has seen every entry the snapshot covers
        if not seq.snapshot_every:
            return None
        taken = self.host.store.list_snapshots(RUNTIME_SNAPSHOT)
        if seq.head_seq <= (taken[-1] if taken else 0):
            return None
        return self.host.snapshot()

    # -- clock ----------------------------------------------------------------------------------
    async def clock(self, op: str, *args: Any) -> int:
        """``set``/``advance``/``run_until`` an instant, or ``run_until_phase`` (venue, phase)."""
        mode = self.mode

        def move() -> int:
            if op == "now":
                return mode.now_ns()
            if op == "set":
                mode.set(int(args[0]))
            elif op == "advance":
                mode.advance(int(args[0]))
            elif op == "run_until":
                mode.run_until(int(args[0]))
            elif op == "run_until_phase":
                venue, phase = str(args[0]), Phase(str(args[1]))
                at = self.host.next_phase_time(venue, phase, mode.now_ns())
                if at is None:
                    raise ClockModeError(f"{venue} does not enter {phase} in the next 14 days")
                mode.run_until(at)
            else:
                raise ClockModeError(f"unknown clock operation {op!r}")
            return mode.now_ns()

        result: int = await self.sequencer.call_control(move)
        return result

    # -- reset (scenario after scenario) --------------------------------------------------------
    @property
    def can_reset(self) -> bool:
        """Whether ``reset`` is allowed: a server started for tests (``--allow-reset``) on the
        virtual clock."""
        return self._factory is not None and self.mode.controllable

    async def reset(self, spec: dict[str, Any]) -> None:
        """Replace the host with a fresh one built from ``spec``; virtual clock only."""
        factory = self._factory
        if factory is None or not self.can_reset:
            raise ClockModeError("reset needs a server started with --allow-reset on --clock virtual")
        old_seq, old_task = self.sequencer, self._task
        old_seq.stop()
        if old_task is not None:
            await old_task
        with contextlib.suppress(Exception):
            self.host.close()
        host = factory(spec)
        self.host = host
        self.mode = ClockMode(host.clock)
        sinks = self.router
        self.router = Router()
        self.router._sessions = sinks._sessions
        self.router._drop = sinks._drop
        self.sequencer = self._wire(host)
        for resume in old_seq.take_waiters():  # the new queue is empty: read again
            resume()
        for fn in self.on_reset:
            fn()
        if old_task is not None:
            self._task = asyncio.create_task(self.sequencer.run())
