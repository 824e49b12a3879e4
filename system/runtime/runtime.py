"""The command path: log the input, decide, apply, react, append the outcome atomically.

One runtime is one sequencer over one log; it is single-threaded by contract (LMAX style).
Determinism: a handler sees only the command, the components' state and ``ctx.now`` (the clock
time logged with the command), so re-executing the logged inputs reproduces the outputs.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from system.clock import Clock
from system.eventlog.codec import LoggedEvent, canonical, chain_hash
from system.eventlog.records import Command, Event, Record
from system.eventlog.store import EventStore, LogCorrupted, NewEvent, Snapshot
from system.runtime.component import Component
from system.runtime.manifest import RunStarted
from system.runtime.projection import Projection


class CommandFailed(Exception):
    """A handler raised: nothing was appended and the state was rebuilt from the log."""


class Context:
    """What a handler may use: the command's identity and time, ids, and ``emit``."""

    __slots__ = ("_runtime", "causation_id", "command", "command_id", "correlation_id", "emitted", "now")

    def __init__(
        self, runtime: Runtime, command: Command, command_id: str, correlation_id: str, now: int
    ) -> None:
        self._runtime = runtime
        self.command = command
        self.command_id = command_id
        self.correlation_id = correlation_id
        self.causation_id = command_id
        self.now = now
        # The command's own entry first, then what it emits: the batch append() takes as it is.
        self.emitted: list[NewEvent] = [NewEvent(command, now, correlation_id, command_id)]

    def emit(self, event: Event, *, valid_time: int | None = None) -> None:
        """Record ``event`` as an outcome of this command and apply it to every component now.

        ``valid_time`` defaults to the command's time; late reports and corrections pass the
        earlier business time they are about.
        """
        self.emitted.append(
            NewEvent(
                event,
                self.now if valid_time is None else valid_time,
                self.correlation_id,
                self.causation_id,
            )
        )
        rt = self._runtime
        t = type(event)
        for fn in rt._appliers.get(t, ()):
            fn(event)
        # Only events someone reacts to are queued; the drain order among those is unchanged.
        if t in rt._reactors:
            rt._react_queue.append(event)

    def execute(self, command: Command) -> None:
        """Run a follow-up command inside this one (for example, cancels on a kill switch)."""
        self._runtime._dispatch(command, self)

    def component(self, kind: type[Any]) -> Any:
        """The runtime's component of ``kind``, to read (never change) its state: pricing reads
        the matching engine's books for mid marks."""
        return self._runtime.component(kind)


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """What one command did: its logged input and the events it produced.

    ``command_seq`` is -1 (and ``events`` empty) for a command still in a ``batched()`` buffer.
    A msgspec Struct (built in C, untracked by the cycle collector): one is made per command.
    """

    command_seq: int
    events: list[LoggedEvent]
    duplicate: bool = False

    @property
    def records(self) -> list[Record]:
        return [e.record for e in self.events]


class Runtime:
    """Drives components over one event log.

    ``build`` makes a fresh set of components; the runtime calls it again to rebuild state from
    the log when a handler fails, so a bug never leaves memory and log disagreeing.
    """

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        build: Callable[[], Sequence[Component]],
        *,
        projections: Iterable[Projection] = (),
        id_prefix: str = "cmd",
        snapshot_every: int = 0,
        warm_start: bool = False,
    ) -> None:
        """``warm_start``: start each component from its latest snapshot and fold only the tail
        into it (a restart over a long log); the state equals a cold full fold."""
        self.store = store
        self.clock = clock
        self._build = build
        self.projections: list[Projection] = list(projections)
        self._id_prefix = id_prefix
        self._next_id = 0
        self._done = CommandSeqs(id_prefix)  # command id -> (first seq, last seq)
        self._id_head = f"{id_prefix}-"
        # While folding the log: the last command's id, and its (counter, first seq).
        self._last_command: str | None = None
        self._last_key = (0, 0)
        self._react_queue: deque[Event] = deque()
        self._pending: list[tuple[str, int, list[NewEvent]]] | None = None
        self.snapshot_every = snapshot_every
        self._last_snapshot_seq = 0
        self._install(build())
        if warm_start:
            self._catch_up_warm()
        else:
            self._catch_up()

    # -- wiring ----------------------------------------------------------------------------------
    def _install(self, components: Sequence[Component]) -> None:
        self.components = list(components)
        self._handlers: dict[type, list[Callable[..., Any]]] = {}
        self._appliers: dict[type, list[Callable[..., Any]]] = {}
        self._reactors: dict[type, list[Callable[..., Any]]] = {}
        for c in self.components:
            for table, mine in (
                (self._handlers, c.handlers()),
                (self._appliers, c.appliers()),
                (self._reactors, c.reactors()),
            ):
                for t, fns in mine.items():
                    table.setdefault(t, []).extend(fns)

    def component(self, kind: type[Any]) -> Any:
        for c in self.components:
            if isinstance(c, kind):
                return c
        raise LookupError(f"no {kind.__name__} in this runtime")

    def _catch_up(self) -> None:
        """Fold what the log already holds (restart, or opening a recorded day)."""
        for ev in self.store.read(1):
            self._fold(ev)
            for p in self.projections:
                p.handle(ev)

    def _catch_up_warm(self) -> None:
        """``_catch_up`` with the components restored from snapshots: an entry at or before a
        component's snapshot is not applied to it again. Command ids and projections (which keep
        no snapshot) still see every entry, so retries and read models match a cold start."""
        since = _restore(self.store, self.components, None)
        low, high = min(since, default=0), max(since, default=0)
        tables = [c.appliers() for c in self.components]
        projections = self.projections
        done = self._done
        for ev in self.store.read(1):
            rec = ev.record
            if ev.seq > high or rec.kind == "command":
                self._fold(ev)  # past every snapshot: the cold path
            else:
                last = getattr(self, "_last_command", None)
                if last is not None and ev.causation_id == last:
                    done[last] = (done[last][0], ev.seq)
                if ev.seq > low:  # some components are past their snapshot, others not yet
                    for n, table in zip(since, tables, strict=True):
                        if ev.seq > n:
                            for fn in table.get(type(rec), ()):
                                fn(rec)
            for p in projections:
                p.handle(ev)
        self._last_snapshot_seq = max(since, default=0)

    def _fold(self, ev: LoggedEvent) -> None:
        rec = ev.record
        if rec.kind == "command":
            cid = ev.causation_id
            n = _counter_of(cid, self._id_prefix) or 0
            self._last_command = cid
            self._last_key = (n, ev.seq)
            if n >= self._next_id:
                self._next_id = n
            self._done.remember(cid, n, ev.seq, ev.seq)
            return
        last = self._last_command
        if last is not None and ev.causation_id == last:
            n, first = self._last_key
            self._done.remember(last, n, first, ev.seq)
        self._apply_record(rec)  # type: ignore[arg-type]

    def _apply_record(self, rec: Event) -> None:
        for fn in self._appliers.get(type(rec), ()):
            fn(rec)

    # -- the command path ------------------------------------------------------------------------
    @property
    def commands_seen(self) -> int:
        """How many commands the log holds (or the batch buffer, until flushed)."""
        return len(self._done)

    def next_command_id(self) -> str:
        self._next_id += 1
        return f"{self._id_prefix}-{self._next_id}"

    def execute(
        self,
        command: Command,
        *,
        command_id: str | None = None,
        correlation_id: str = "",
    ) -> Outcome:
        """Log ``command`` and its outcome in one atomic append; a repeated ``command_id`` returns
        the stored outcome without running again."""
        if command_id is None:
            self._next_id += 1
            n = self._next_id
            cid = f"{self._id_head}{n}"
        elif self._done.get(command_id) is not None:
            return self._duplicate(command_id)
        else:
            cid = command_id
            n = 0
        now = self.clock.now_ns()
        ctx = Context(self, command, cid, correlation_id or cid, now)
        try:
            handlers = self._handlers.get(type(command))
            if not handlers:
                raise LookupError(f"no component handles {type(command).__name__}")
            for fn in handlers:
                if fn(command, ctx):
                    break
            if self._react_queue:
                self._drain(ctx)
        except Exception as e:
            self._react_queue.clear()
            # Commands already accepted in a batch are good: log them before rebuilding from the
            # log, or the rebuild would forget them while the buffer still holds them.
            self.flush()
            self._recover()
            raise CommandFailed(f"{type(command).__name__} {cid} failed: {e!r}") from e
        batch = ctx.emitted
        pending = self._pending
        if pending is not None:
            pending.append((cid, n, batch))
            self._done.remember(cid, n, -1, -1)
            if len(pending) >= self._max_pending:
                self.flush()
            return Outcome(-1, [])
        logged = self._append(batch)
        self._done.remember(cid, n, logged[0].seq, logged[-1].seq)
        return Outcome(logged[0].seq, logged[1:])

    def _duplicate(self, command_id: str) -> Outcome:
        if self._done[command_id][0] < 0:
            self.flush()  # the first attempt is still in the batch buffer
        first, last = self._done[command_id]
        events = list(self.store.read(first, last))
        return Outcome(first, events[1:], duplicate=True)

    def _dispatch(self, command: Command, ctx: Context) -> None:
        handlers = self._handlers.get(type(command))
        if not handlers:
            raise LookupError(f"no component handles {type(command).__name__}")
        for fn in handlers:
            if fn(command, ctx):
                break

    def _drain(self, ctx: Context) -> None:
        q = self._react_queue
        while q:
            ev = q.popleft()
            for fn in self._reactors.get(type(ev), ()):
                fn(ev, ctx)

    def _append(self, batch: list[NewEvent]) -> list[LoggedEvent]:
        try:
            logged = self.store.append(batch)
        except Exception:
            self._recover()
            raise
        for p in self.projections:
            handle = p.handle
            for ev in logged:
                handle(ev)
        if self.snapshot_every and logged[-1].seq - self._last_snapshot_seq >= self.snapshot_every:
            self.snapshot()
        return logged

    def _recover(self) -> None:
        self._pending = [] if self._pending is not None else None
        self._done.clear()
        self._last_command = None
        self._install(self._build())
        self._catch_up_components_only()

    def _catch_up_components_only(self) -> None:
        for ev in self.store.read(1):
            self._fold(ev)

    # -- batching (simulations) ------------------------------------------------------------------
    @contextmanager
    def batched(self, max_commands: int = 1000) -> Iterator[None]:
        """Group many commands into few appends (simulated days). Each flush is atomic; a crash
        loses at most the unflushed commands, never a part of one."""
        self._pending = []
        self._max_pending = max_commands
        try:
            yield
        finally:
            self.flush()
            self._pending = None

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        batch = [ne for _, _, b in pending for ne in b]
        logged = self._append(batch)
        i = 0
        remember = self._done.remember
        for cid, n, b in pending:
            remember(cid, n, logged[i].seq, logged[i + len(b) - 1].seq)
            i += len(b)
        self._pending = [] if self._pending is not None else None

    def has_pending(self) -> bool:
        """True while ``batched()`` holds executed commands that are not in the log yet."""
        return bool(self._pending)

    def maybe_flush(self) -> None:
        if self._pending is not None and len(self._pending) >= self._max_pending:
            self.flush()

    # -- system events that are not answers to a command -----------------------------------------
    def record(self, event: Event, *, valid_time: int | None = None, correlation_id: str = "") -> LoggedEvent:
        """Append a standalone fact (a run manifest) and fold it."""
        self.flush()
        self._apply_record(event)
        t = self.clock.now_ns() if valid_time is None else valid_time
        return self._append([NewEvent(event, t, correlation_id, correlation_id)])[0]

    def start_run(self, manifest: RunStarted) -> LoggedEvent:
        return self.record(manifest)

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot(self) -> int:
        """Snapshot every component that can, at the current head. Returns the seq."""
        self.flush()
        seq = self.store.head().seq
        for c in self.components:
            state = c.snapshot_state()
            if state is None:
                continue
            blob = canonical(state)
            self.store.save_snapshot(Snapshot(c.name, seq, blob, chain_hash(b"", blob)))
        self._last_snapshot_seq = seq
        return seq


class CommandSeqs:
    """Command id -> (first seq, last seq) of its entries: what an idempotent retry returns.

    Generated ids (``prefix-1``, ``prefix-2``, ...) keep their pair in one array indexed by the
    counter: 16 bytes a command, and no dict entry, key string or GC-tracked tuple. Other ids,
    and generated ones after a gap in the counter, use a dict. Reads and writes by id (``in``,
    ``[]``, ``get``) see both; the command path calls ``remember`` with the counter it has.
    """

    __slots__ = ("_by_id", "_gen", "_head", "_prefix")

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._head = f"{prefix}-"
        self._by_id: dict[str, tuple[int, int]] = {}
        self._gen = array("q")  # first, last of generated id n at 2n-2, 2n-1

    def remember(self, cid: str, n: int, first: int, last: int) -> None:
        """Record command ``cid``'s seqs; ``n`` is its counter if it is a generated id, else 0."""
        gen = self._gen
        if n:
            i = 2 * n - 2
            if i <= len(gen):
                if i < len(gen):  # stored before (unflushed, or its last seq grows on catch-up)
                    gen[i] = first
                    gen[i + 1] = last
                else:
                    gen.append(first)
                    gen.append(last)
                if self._by_id:  # an explicit id that took this name before: the latest run wins
                    self._by_id.pop(cid, None)
                return
            # a gap (an explicit id with our prefix jumped the counter): the dict keeps it
        self._by_id[cid] = (first, last)

    def get(self, cid: str) -> tuple[int, int] | None:
        """(first seq, last seq) of command ``cid`` if it was executed, else None."""
        got = self._by_id.get(cid)
        if got is not None or not cid.startswith(self._head):
            return got
        n = _counter_of(cid, self._prefix)
        gen = self._gen
        if n is None or n < 1 or 2 * n > len(gen):
            return None
        return gen[2 * n - 2], gen[2 * n - 1]

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, str) and self.get(cid) is not None

    def __getitem__(self, cid: str) -> tuple[int, int]:
        got = self.get(cid)
        if got is None:
            raise KeyError(cid)
        return got

    def __setitem__(self, cid: str, seqs: tuple[int, int]) -> None:
        self.remember(cid, _counter_of(cid, self._prefix) or 0, *seqs)

    def items(self) -> Iterator[tuple[str, tuple[int, int]]]:
        """Every remembered id with its (first seq, last seq): generated ids first, in order."""
        gen = self._gen
        for i in range(0, len(gen), 2):
            yield f"{self._head}{i // 2 + 1}", (gen[i], gen[i + 1])
        yield from self._by_id.items()

    def __len__(self) -> int:
        """How many commands are remembered: an id lives either in the array or in the dict."""
        return len(self._gen) // 2 + len(self._by_id)

    def clear(self) -> None:
        self._by_id.clear()
        self._gen = array("q")


def _counter_of(command_id: str, prefix: str) -> int | None:
    head, sep, tail = command_id.rpartition("-")
    if sep and head == prefix and tail.isdigit():
        return int(tail)
    return None


def _restore(store: EventStore, components: Sequence[Component], to_seq: int | None) -> list[int]:
    """Restore each component that has a snapshot at or before ``to_seq`` from its latest one;
    returns the seq each now stands at (0: no snapshot, fold from the start)."""
    start: list[int] = []
    for c in components:
        seq = 0
        if c.snapshot_state() is not None:
            snap = store.load_snapshot(c.name, to_seq)
            if snap is not None:
                if chain_hash(b"", snap.state) != snap.state_hash:
                    raise LogCorrupted(snap.seq, f"snapshot {c.name!r} does not match its state hash")
                c.restore_state(msgspec.msgpack.decode(snap.state))
                seq = snap.seq
        start.append(seq)
    return start


def rebuild(
    store: EventStore,
    build: Callable[[], Sequence[Component]],
    to_seq: int | None = None,
    *,
    snapshots: bool = True,
) -> list[Component]:
    """Fresh components holding the state as of ``to_seq`` (the head when None).

    Each component that has a snapshot at or before ``to_seq`` starts from its latest one and
    folds only the tail after it; the others fold the log from the start. The result equals a
    full fold (tests/unit/test_runtime.py proves it). A snapshot whose bytes no longer match its
    hash raises ``LogCorrupted``.
    """
    components = list(build())
    start = _restore(store, components, to_seq) if snapshots else [0] * len(components)
    tables = [c.appliers() for c in components]
    for ev in store.read(min(start, default=0) + 1, to_seq):
        if ev.record.kind == "command":
            continue
        for since, table in zip(start, tables, strict=True):
            if ev.seq > since:
                for fn in table.get(type(ev.record), ()):
                    fn(ev.record)
    return components
