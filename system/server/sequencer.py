"""The sequencer: the one task that owns the trading system of a server.

Gateways (FIX, the admin channel, later REST) decode a request and ``submit`` it; they never touch
engine state. The sequencer drains its inbound queue in batches, executes each command through
the host (group commit: one atomic append per batch, so a reply is only ever sent for a command
that is in the log), then hands what was appended to its subscriptions (session routing, drop
copy, feeds) and completes each request with its ``Result``.

Command ids are scoped per session: ``f"{session}/{client_id}"``. A retry with the same id and the
same command returns the stored outcome (``Result.duplicate``); the same id with a different
command is refused (``Result.error``) and nothing is logged.

Single-threaded by contract: ``submit``, the queries and ``run`` all execute on one asyncio loop,
so a query never sees a half-executed batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from system.engine import BookView, Instrument, MatchingEngine, OrderView, Phase
from system.eventlog.codec import LoggedEvent, encode_record
from system.eventlog.records import Command
from system.eventlog.store import EventStore
from system.runtime import CommandFailed, Outcome, Projection, Runtime
from system.server.clockmode import ClockMode
from system.server.subscription import Subscriber, Subscription

SEP = "/"
"""Separates the session from the client's id in a command id (``QA1/order-17``)."""


class Host(Protocol):
    """What a sequencer drives: the trading system with its clock-armed timers.

    ``sim.world.World`` is one; ``execute`` must arm whatever timers the command needs
    (expiries), exactly as the in-process driver does, so a served day equals a simulated one.
    """

    store: EventStore

    @property
    def runtime(self) -> Runtime: ...

    @property
    def engine(self) -> MatchingEngine: ...

    def execute(self, command: Any, **kw: Any) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Result:
    """How one request ended: the events its command caused (its own logged entry excluded)."""

    command_id: str
    events: list[LoggedEvent] = field(default_factory=list)
    duplicate: bool = False
    error: str | None = None  # refused before or by the system; nothing was logged
    seq: int = 0  # the command's own log entry (0: not logged)


Reply = Callable[[Result], None]


class IdConflict(Exception):
    """A command id already used for a different command in this session."""


def command_id(session: str, client_id: str) -> str:
    return f"{session}{SEP}{client_id}"


def session_of(cid: str) -> str | None:
    """The session a command id belongs to (None: the server's own, e.g. a timer's)."""
    head, sep, _ = cid.partition(SEP)
    return head if sep else None


def _digest(command: Command) -> bytes:
    return hashlib.sha256(command.name.encode() + encode_record(command)).digest()[:16]


_PENDING = object()  # a command's result is known only once its batch is logged


class _Tap(Projection):
    """Collects every entry the runtime appends, whoever caused it (timers included)."""

    name = "server-tap"

    def __init__(self, position: int) -> None:
        super().__init__()
        self.position = position
        self.logged: list[LoggedEvent] = []

    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq > self.position:
            self.logged.append(ev)
            self.position = ev.seq


class _Item:
    __slots__ = ("cid", "command", "reply", "session")

    def __init__(
        self,
        session: str,
        cid: str,
        command: Command | Callable[[], Any],
        reply: Callable[[Any], None] | None,
    ) -> None:
        self.session = session
        self.cid = cid
        self.command = command
        self.reply = reply


class Sequencer:
    """Owns ``host``: executes submitted commands in batches, routes what they appended."""

    def __init__(
        self, host: Host, clock: ClockMode, *, max_batch: int = 512, group_commit: bool = True
    ) -> None:
        self.host = host
        # False: every command is its own append (a test server whose host records the book after
        # each command); True: one append per drained batch.
        self.group_commit = group_commit
        self.clock = clock
        self.max_batch = max_batch
        self.store = host.store
        self._inbound: deque[_Item] = deque()
        self._wake = asyncio.Event()
        self._stopping = False
        self._subscriptions: list[Subscription] = []
        self._tap = _Tap(self.store.head().seq)
        host.runtime.projections.append(self._tap)
        self._digests: dict[str, bytes] = {}
        self.executed = 0
        self._fold_ids()

    def _fold_ids(self) -> None:
        """Remember which session command ids the log already holds, and what they asked."""
        for ev in self.store.read(1):
            if ev.record.kind == "command" and SEP in ev.causation_id:
                self._digests[ev.causation_id] = _digest(ev.record)  # type: ignore[arg-type]

    # -- ingress ---------------------------------------------------------------------------------
    def submit(
        self, session: str, client_id: str | None, command: Command, reply: Reply | None = None
    ) -> None:
        """Queue ``command`` from ``session`` under the session's ``client_id``; ``reply`` is
        called with its ``Result`` once the batch holding it is in the log. Without a client id
        the runtime numbers the command itself (not session-scoped, not retryable)."""
        cid = "" if client_id is None else command_id(session, client_id)
        self._inbound.append(_Item(session or "-", cid, command, reply))
        self._wake.set()

    async def call(self, session: str, client_id: str | None, command: Command) -> Result:
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.submit(session, client_id, command, fut.set_result)
        return await fut

    def control(self, fn: Callable[[], Any], reply: Callable[[Any], None]) -> None:
        """Run ``fn`` (a clock move, a reset) in sequence with the commands queued before it."""
        self._inbound.append(_Item("", "", fn, reply))
        self._wake.set()

    async def call_control(self, fn: Callable[[], Any]) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(value: Any) -> None:
            if not fut.done():
                fut.set_result(value)

        self.control(fn, done)
        res = await fut
        if isinstance(res, BaseException):
            raise res
        return res

    def subscribe(
        self, subscriber: Subscriber, *, max_batch: int = 1000, catch_up: bool = True
    ) -> Subscription:
        """Feed ``subscriber`` every entry appended from now on; with ``catch_up`` first whatever the
        log holds after its position."""
        sub = Subscription(self.store, subscriber, max_batch=max_batch)
        if catch_up:
            sub.poll()
        self._subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)

    # -- server queries (read models of the running system, never its objects to change) ---------
    def now(self) -> int:
        return self.clock.now_ns()

    def book(self, instrument: str) -> BookView:
        return self.host.engine.book(instrument)

    def phase(self, instrument: str) -> Phase:
        return self.host.engine.phase(instrument)

    def order(self, order_id: int) -> OrderView | None:
        return self.host.engine.order(order_id)

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        return self.host.engine.open_orders(account, instrument)

    def instrument(self, instrument: str) -> Instrument | None:
        """An instrument's reference data (None: not listed)."""
        eng = self.host.engine
        return eng.books[instrument].inst if eng.has_instrument(instrument) else None

    def knows(self, session: str, client_id: str) -> bool:
        """Whether ``session`` already used ``client_id`` for a logged command."""
        return command_id(session, client_id) in self._digests

    def order_by_client_id(self, account: str, client_order_id: str) -> OrderView | None:
        for o in self.host.engine.open_orders(account, None):
            if o.client_order_id == client_order_id:
                return o
        return None

    # -- the loop --------------------------------------------------------------------------------
    async def run(self, *, pump_interval: float = 0.01) -> None:
        """Execute queued work until ``stop``; a paced clock is pumped every ``pump_interval`` s."""
        paced = not self.clock.controllable
        while not self._stopping or self._inbound:
            if not self._inbound:
                self._wake.clear()
                if paced:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), pump_interval)
                else:
                    await self._wake.wait()
            if paced:
                self.clock.pump()
                self._publish()
            self.step()
            # Let gateways read and write between batches.
            await asyncio.sleep(0)

    def stop(self) -> None:
        """Finish what is queued, then end ``run``."""
        self._stopping = True
        self._wake.set()

    def step(self) -> int:
        """Execute one batch from the inbound queue; returns how many requests it took."""
        q = self._inbound
        if not q:
            return 0
        n = min(len(q), self.max_batch)
        items = [q.popleft() for _ in range(n)]
        results: list[tuple[_Item, Any]] = []
        runtime = self.host.runtime
        execute = self.host.execute
        batch = contextlib.ExitStack()
        in_batch = False
        with batch:
            for it in items:
                cmd = it.command
                if not it.session:  # a control function, in sequence with the commands
                    # Outside the batch: timers it fires (sessions, expiries) append one by one,
                    # as in-process, so each outcome is logged before the next timer runs.
                    batch.close()
                    in_batch = False
                    try:
                        results.append((it, cmd()))  # type: ignore[operator]
                    except Exception as e:  # the error goes back to whoever asked
                        results.append((it, e))
                    continue
                if not in_batch and self.group_commit:
                    batch.enter_context(runtime.batched(n + 1))
                    in_batch = True
                cid = it.cid
                if not cid:
                    cid = it.cid = runtime.next_command_id()
                digest = _digest(cmd)  # type: ignore[arg-type]
                seen = self._digests.get(cid)
                if seen is not None and seen != digest:
                    why = f"command id {cid!r} was already used for a different command"
                    results.append((it, Result(cid, error=why)))
                    continue
                try:
                    out = execute(cmd, command_id=cid)
                except CommandFailed as e:
                    results.append((it, Result(cid, error=str(e))))
                    continue
                if SEP in cid:
                    self._digests[cid] = digest
                if out.duplicate:
                    results.append((it, Result(cid, list(out.events), True, seq=out.command_seq)))
                else:
                    results.append((it, _PENDING))
        self.executed += n
        by_cid = self._publish()
        for it, res in results:
            if it.reply is None:
                continue
            if res is _PENDING:
                seq, evs = by_cid.get(it.cid, (0, []))
                res = Result(it.cid, evs, seq=seq)
            it.reply(res)
        return n

    def _publish(self) -> dict[str, tuple[int, list[LoggedEvent]]]:
        """Hand what was appended to the subscriptions; group it by command id for the replies."""
        logged = self._tap.logged
        if not logged:
            return {}
        self._tap.logged = []
        for sub in self._subscriptions:
            sub.deliver(logged)
        by_cid: dict[str, tuple[int, list[LoggedEvent]]] = {}
        cur: list[LoggedEvent] | None = None
        for ev in logged:
            if ev.record.kind == "command":
                cur = []
                by_cid[ev.causation_id] = (ev.seq, cur)
            elif cur is not None and ev.causation_id in by_cid:
                by_cid[ev.causation_id][1].append(ev)
        return by_cid

    def drain(self) -> None:
        """Run every queued request now (tests and shutdown, outside the loop)."""
        while self.step():
            pass

    def publish_pending(self) -> None:
        """Deliver entries appended outside ``step`` (clock moves fire timers that execute)."""
        self._publish()

    @property
    def subscriptions(self) -> Sequence[Subscription]:
        return tuple(self._subscriptions)
