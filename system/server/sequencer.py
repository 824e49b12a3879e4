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
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from system.engine import BookView, Instrument, MatchingEngine, OrderView, Phase
from system.eventlog.codec import LoggedEvent, encode_record
from system.eventlog.records import Command, Record
from system.eventlog.store import EventStore
from system.runtime import CommandFailed, Outcome, Projection, Runtime
from system.server import forksnap
from system.server.clockmode import ClockMode
from system.server.forksnap import ForkedSnapshot
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

Receipt = tuple[str, str, int | None, dict[str, str]]
"""How a gateway received a request, for its trace: (gateway, kind, receipt instant ns from the
telemetry's wall clock or None, span attributes). The sequencer opens the trace under the command's
id once it is known (a command without a client id is numbered only when it executes)."""


class IdConflict(Exception):
    """A command id already used for a different command in this session."""


def command_id(session: str, client_id: str) -> str:
    return f"{session}{SEP}{client_id}"


def session_of(cid: str) -> str | None:
    """The session a command id belongs to (None: the server's own, e.g. a timer's)."""
    head, sep, _ = cid.partition(SEP)
    return head if sep else None


def _same_command(a: Record, b: Record) -> bool:
    """Whether two commands ask the same thing: the same type and the same canonical bytes."""
    return a.name == b.name and encode_record(a) == encode_record(b)


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
    __slots__ = ("cid", "command", "receipt", "reply", "session")

    def __init__(
        self,
        session: str,
        cid: str,
        command: Command | Callable[[], Any],
        reply: Callable[[Any], None] | None,
        receipt: Receipt | None = None,
    ) -> None:
        self.session = session
        self.cid = cid
        self.command = command
        self.reply = reply
        self.receipt = receipt


class Sequencer:
    """Owns ``host``: executes submitted commands in batches, routes what they appended."""

    def __init__(
        self,
        host: Host,
        clock: ClockMode,
        *,
        max_batch: int = 512,
        group_commit: bool = True,
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
        self.executed = 0
        # Backpressure: past ``high_water`` queued requests gateways stop reading their sockets
        # (TCP pushes back on the client) and are resumed once a step leaves ``max_batch`` or
        # fewer. Without it a burst is parsed faster than it executes, the queue and the heap
        # grow without bound, and garbage collection of that heap starves the sequencer.
        self.high_water = 4 * max_batch
        self._resume: list[Callable[[], None]] = []
        # Snapshots are spaced here rather than by the runtime (``snapshot_every`` entries each):
        # a snapshot costs in proportion to the state, which grows all day (every client order id
        # is in it), so a fixed spacing makes a day's snapshot work grow with the square of its
        # length. Here the gap is at least ``snapshot_every`` and at least half the log covered
        # by the last snapshot: the work stays within a few times the last snapshot's, and a
        # restart refolds at most about a third of the log.
        runtime = host.runtime
        self.snapshot_every = runtime.snapshot_every
        runtime.snapshot_every = 0
        self._last_snapshot = self.store.head().seq
        # Inside ``run`` snapshots are encoded by a forked child (system/server/forksnap.py): the
        # sequencer goes on serving meanwhile. A ``step`` driven by hand snapshots inline.
        self._background = False
        self._snapshotting: ForkedSnapshot | None = None
        # OpenTelemetry (system/telemetry): None costs one test per request on the hot path.
        self.telemetry: Any = None

    # -- ingress ---------------------------------------------------------------------------------
    def submit(
        self,
        session: str,
        client_id: str | None,
        command: Command,
        reply: Reply | None = None,
        receipt: Receipt | None = None,
    ) -> None:
        """Queue ``command`` from ``session`` under the session's ``client_id``; ``reply`` is
        called with its ``Result`` once the batch holding it is in the log. Without a client id
        the runtime numbers the command itself (not session-scoped, not retryable). With
        ``receipt`` and telemetry on, the command's trace is rooted at the gateway's receipt."""
        cid = "" if client_id is None else command_id(session, client_id)
        self._inbound.append(_Item(session or "-", cid, command, reply, receipt))
        self._wake.set()

    def overloaded(self) -> bool:
        """Whether gateways should stop reading input until ``when_drained`` calls them back."""
        return len(self._inbound) >= self.high_water

    def when_drained(self, resume: Callable[[], None]) -> None:
        """Call ``resume`` once the queue is down to one batch (at once if it already is)."""
        if len(self._inbound) <= self.max_batch:
            resume()
        else:
            self._resume.append(resume)

    def take_waiters(self) -> list[Callable[[], None]]:
        """The gateways waiting in ``when_drained`` (a server reset hands them to the new sequencer)."""
        waiters, self._resume = self._resume, []
        return waiters

    async def call(
        self, session: str, client_id: str | None, command: Command, receipt: Receipt | None = None
    ) -> Result:
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.submit(session, client_id, command, fut.set_result, receipt)
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

    def projection(self, kind: type[Any]) -> Any:
        """The host's read model (projection) of type ``kind``, None when its build has none.
        Read it on this loop only, like the other queries."""
        for p in self.host.runtime.projections:
            if isinstance(p, kind):
                return p
        return None

    def knows(self, session: str, client_id: str) -> bool:
        """Whether ``session`` already used ``client_id`` for a logged command."""
        return self.host.runtime.command_seqs(command_id(session, client_id)) is not None

    def order_by_client_id(self, account: str, client_order_id: str) -> OrderView | None:
        for o in self.host.engine.open_orders(account, None):
            if o.client_order_id == client_order_id:
                return o
        return None

    # -- the loop --------------------------------------------------------------------------------
    async def run(self, *, pump_interval: float = 0.01) -> None:
        """Execute queued work until ``stop``; a paced clock is pumped every ``pump_interval`` s."""
        paced = not self.clock.controllable
        self._background = forksnap.available(self.host.runtime)
        try:
            while not self._stopping or self._inbound:
                if not self._inbound:
                    self._wake.clear()
                    if paced or self._snapshotting is not None:
                        # Paced: pump the clock; a child encoding a snapshot: store it when done.
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), pump_interval)
                        if self._snapshotting is not None and self._snapshotting.poll():
                            self._snapshotting = None
                    else:
                        await self._wake.wait()
                if paced:
                    self.clock.pump()
                    self._publish()
                self.step()
                # Let gateways read and write between batches.
                await asyncio.sleep(0)
        finally:
            self._background = False
            self.finish_snapshot()

    def finish_snapshot(self) -> None:
        """Wait for a snapshot a child process is encoding, and store it."""
        pending, self._snapshotting = self._snapshotting, None
        if pending is not None:
            pending.wait()

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
        tel = self.telemetry
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
                logged = runtime.logged_command(cid)  # None for a new id: only a retry compares
                if logged is not None and not _same_command(logged, cmd):  # type: ignore[arg-type]
                    why = f"command id {cid!r} was already used for a different command"
                    results.append((it, Result(cid, error=why)))
                    continue
                if tel is not None and it.receipt is not None:
                    gateway, kind, at, attrs = it.receipt
                    tel.receive(gateway, kind, cid, start_ns=at, **attrs)
                span = tel.executing(runtime, cid, cmd) if tel is not None else None
                try:
                    out = execute(cmd, command_id=cid)
                except CommandFailed as e:
                    if span is not None:
                        tel.executed(span, str(e))
                    results.append((it, Result(cid, error=str(e))))
                    continue
                if span is not None:
                    tel.executed(span)
                if out.duplicate:
                    results.append((it, Result(cid, list(out.events), True, seq=out.command_seq)))
                else:
                    results.append((it, _PENDING))
            if tel is not None and in_batch:
                with tel.append([it.cid for it, res in results if res is _PENDING]):
                    batch.close()
        self.executed += n
        if self._resume and len(q) <= self.max_batch:
            for resume in self.take_waiters():
                resume()
        if tel is not None:
            self._replied_traced(tel, n, results)
        else:
            by_cid = self._publish()
            for it, res in results:
                if it.reply is None:
                    continue
                if res is _PENDING:
                    seq, evs = by_cid.get(it.cid, (0, []))
                    res = Result(it.cid, evs, seq=seq)
                it.reply(res)
        if self.snapshot_every:
            self._maybe_snapshot()
        return n

    def _maybe_snapshot(self) -> None:
        """Snapshot the host once the log has grown enough since the last one (after the replies:
        the batch's answers do not wait for it)."""
        pending = self._snapshotting
        if pending is not None:
            if not pending.poll():
                return
            self._snapshotting = None
        head = self._tap.position
        last = self._last_snapshot
        if head - last >= max(self.snapshot_every, last // 2):
            if self._background:
                self._snapshotting = ForkedSnapshot(self.host.runtime)
                self._last_snapshot = self._snapshotting.seq
            else:
                self._last_snapshot = self.host.runtime.snapshot()

    def _replied_traced(self, tel: Any, n: int, results: list[tuple[_Item, Any]]) -> None:
        """``step``'s routing and replies with a span per subscriber and each trace closed."""
        tel.counted(n)
        cids = [it.cid for it, _ in results if it.session]
        by_cid = self._publish(tel, cids)
        for it, res in results:
            if res is _PENDING:
                seq, evs = by_cid.get(it.cid, (0, []))
                res = Result(it.cid, evs, seq=seq)
            if it.reply is not None:
                it.reply(res)
            if isinstance(res, Result):
                tel.finish(it.cid, res.seq, res.error, res.duplicate)

    def _publish(self, tel: Any = None, cids: Sequence[str] = ()) -> dict[str, tuple[int, list[LoggedEvent]]]:
        """Hand what was appended to the subscriptions; group it by command id for the replies."""
        logged = self._tap.logged
        if not logged:
            return {}
        self._tap.logged = []
        for sub in self._subscriptions:
            if tel is None:
                sub.deliver(logged)
            else:
                with tel.phase(f"subscriber.{sub.subscriber.name}", cids):
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

    @property
    def head_seq(self) -> int:
        """The seq of the last entry appended through this sequencer (or found at start)."""
        return self._tap.position

    @property
    def queued(self) -> int:
        return len(self._inbound)
