"""The command path: log the input, decide, apply, react, append the outcome atomically.

One runtime is one sequencer over one log; it is single-threaded by contract (LMAX style).
Determinism: a handler sees only the command, the components' state and ``ctx.now`` (the clock
time logged with the command), so re-executing the logged inputs reproduces the outputs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from system.clock import Clock
from system.eventlog.codec import LoggedEvent
from system.eventlog.records import Command, Event, Record
from system.eventlog.snapblob import snapshot_of, state_of
from system.eventlog.store import EventStore, NewEvent
from system.runtime.commandseqs import CommandSeqs, _counter_of
from system.runtime.component import Component
from system.runtime.fold import Appliers, Folder, dispatch
from system.runtime.manifest import RunStarted
from system.runtime.projection import Projection


class CommandFailed(Exception):
    """A handler raised: nothing was appended and the state was rebuilt from the log."""


class Context(msgspec.Struct, gc=False):
    """What a handler may use: the command's identity and time, ids, and ``emit``.

    A msgspec Struct: one is made per command, and its C constructor costs a third of an
    ``__init__``. ``emitted`` starts with the command's own entry, then what it emits: the batch
    append() takes as it is. Untracked by the collector: nothing it holds refers back to it.
    """

    _runtime: Runtime
    command: Command
    command_id: str
    correlation_id: str
    causation_id: str
    now: int
    emitted: list[NewEvent]

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
        # Called with the seq after each snapshot: state kept outside the runtime (a server's
        # routing) snapshots at the same point, so a warm start restores all of it together.
        self.snapshot_hooks: list[Callable[[int], None]] = []
        self._install(build())
        if warm_start:
            self._catch_up_warm()
        else:
            self._catch_up()

    # -- wiring ----------------------------------------------------------------------------------
    def _install(self, components: Sequence[Component]) -> None:
        self.components = list(components)
        self._handlers: dict[type, list[Callable[..., Any]]] = {}
        self._reactors: dict[type, list[Callable[..., Any]]] = {}
        self._appliers: Appliers = dispatch(self.components)
        for c in self.components:
            for table, mine in ((self._handlers, c.handlers()), (self._reactors, c.reactors())):
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
        """``_catch_up`` from the latest snapshots: the components, the command-id table (the
        ``runtime`` snapshot) and each projection that can snapshot start from theirs, and the log
        is read from the oldest of those seqs on; an entry is applied only to what is behind it.
        Whatever has no snapshot (an old log, a projection that cannot snapshot) folds from the
        start, so the state always equals a cold start's."""
        store = self.store
        folder = Folder(self.components, _restore(store, self.components, None))
        ids_at = self._restore_commands()
        at = [_restore_projection(store, p) for p in self.projections]
        low = min([folder.low, ids_at, *at])
        projections = self.projections
        for ev in store.read(low + 1):
            rec = ev.record
            if ev.seq > ids_at:
                self._fold_ids(ev)
            if rec.kind != "command":
                folder.apply(ev.seq, rec)
            for p in projections:
                p.handle(ev)  # exactly once: a restored projection skips what it holds
        self._last_snapshot_seq = folder.high

    def _fold_ids(self, ev: LoggedEvent) -> None:
        """The command-id half of ``_fold``: what a retry of a logged command returns."""
        if ev.record.kind == "command":
            self._note_command(ev)
        else:
            self._note_event(ev)

    def _fold(self, ev: LoggedEvent) -> None:
        rec = ev.record
        if rec.kind == "command":
            self._note_command(ev)
            return
        self._note_event(ev)
        for fn in self._appliers.get(type(rec), ()):
            fn(rec)

    def _note_command(self, ev: LoggedEvent) -> None:
        """A logged command while folding: remember its id, and advance the id counter past it."""
        cid = ev.causation_id
        n = _counter_of(cid, self._id_prefix) or 0
        self._last_command = cid
        self._last_key = (n, ev.seq)
        if n >= self._next_id:
            self._next_id = n
        self._done.remember(cid, n, ev.seq, ev.seq)

    def _note_event(self, ev: LoggedEvent) -> None:
        """An event while folding: the last command it answers now ends at its seq."""
        last = self._last_command
        if last is not None and ev.causation_id == last:
            n, first = self._last_key
            self._done.remember(last, n, first, ev.seq)

    def _commands_state(self) -> dict[str, Any]:
        """The command-id table and counter as plain data, for the ``runtime`` snapshot."""
        return self._done.state()

    def _restore_commands(self) -> int:
        """Restore the command-id table from the latest ``runtime`` snapshot; its seq (0: none)."""
        snap = self.store.load_snapshot(RUNTIME_SNAPSHOT)
        if snap is None:
            return 0
        self._next_id = self._done.restore(state_of(snap))
        # A snapshot is taken at a flushed head, so no entry after it belongs to a command before
        # it: the tail's fold starts with no "last command".
        self._last_command = None
        return snap.seq

    def _apply_record(self, rec: Event) -> None:
        for fn in self._appliers.get(type(rec), ()):
            fn(rec)

    # -- the command path ------------------------------------------------------------------------
    @property
    def commands_seen(self) -> int:
        """How many commands the log holds (or the batch buffer, until flushed)."""
        return len(self._done)

    def command_seqs(self, command_id: str) -> tuple[int, int] | None:
        """(first seq, last seq) of the entries command ``command_id`` produced, None if no such
        command ran; first is -1 while it waits in a ``batched()`` buffer."""
        return self._done.get(command_id)

    def logged_command(self, command_id: str) -> Record | None:
        """The command logged under ``command_id`` (a batch still holding it is flushed first), or
        None if none was: what a retry is compared with."""
        seqs = self._done.get(command_id)
        if seqs is None:
            return None
        if seqs[0] < 0:
            self.flush()
            seqs = self._done[command_id]
        for ev in self.store.read(seqs[0], seqs[0]):
            return ev.record
        return None

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
            n = self._next_id = self._next_id + 1
            cid = f"{self._id_head}{n}"
        elif self._done.get(command_id) is not None:
            return self._duplicate(command_id)
        else:
            cid = command_id
            n = 0
        now = self.clock.now_ns()
        corr = correlation_id or cid
        ctx = Context(self, command, cid, corr, cid, now, [NewEvent(command, now, corr, cid)])
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
            done = self._done
            gen = done._gen
            if n and len(gen) == 2 * n - 2 and not done._by_id:
                gen.append(-1)  # CommandSeqs.remember's common case, inlined; flush sets the seqs
                gen.append(-1)
            else:
                done.remember(cid, n, -1, -1)
            if len(pending) >= self._max_pending:
                self.flush()
            return Outcome(-1, [])
        # _append inlined: this is the path every unbatched command takes.
        try:
            logged = self.store.append(batch)
        except Exception:
            self._recover()
            raise
        for p in self.projections:
            p.handle_batch(logged)
        first = logged[0].seq
        last = logged[-1].seq
        done = self._done
        gen = done._gen
        if n and len(gen) == 2 * n - 2 and not done._by_id:
            gen.append(first)  # CommandSeqs.remember's common case, inlined
            gen.append(last)
        else:
            done.remember(cid, n, first, last)
        if self.snapshot_every and last - self._last_snapshot_seq >= self.snapshot_every:
            self.snapshot()
        return Outcome(first, logged[1:])

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
            p.handle_batch(logged)
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
        done = self._done
        remember = done.remember
        gen = done._gen
        by_id = done._by_id  # re-read each time: remember() of an explicit id may add to it
        for cid, n, b in pending:
            j = i + len(b)
            first, last = logged[i].seq, logged[j - 1].seq
            if n and not by_id and 2 * n <= len(gen):  # remember() for a generated id, inlined
                gen[2 * n - 2] = first
                gen[2 * n - 1] = last
            else:
                remember(cid, n, first, last)
            i = j
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
            self.store.save_snapshot(snapshot_of(c.name, seq, state))
        # What a warm start needs besides the components: retries' answers and the read models.
        states: list[tuple[str, Any]] = [(RUNTIME_SNAPSHOT, self._commands_state())]
        for p in self.projections:
            state = p.snapshot_state()
            if state is not None:
                states.append((PROJECTION_SNAPSHOT + p.name, state))
        for name, state in states:
            self.store.save_snapshot(snapshot_of(name, seq, state))
        for hook in self.snapshot_hooks:
            hook(seq)
        self._last_snapshot_seq = seq
        return seq


RUNTIME_SNAPSHOT = "runtime"
"""The snapshot name of the runtime's command-id table."""
PROJECTION_SNAPSHOT = "projection/"
"""The prefix of a projection's snapshot name (``projection/marketdata``)."""


def _restore_projection(store: EventStore, p: Projection) -> int:
    """Restore ``p`` from its latest snapshot if it can snapshot; the seq it now stands at."""
    if p.snapshot_state() is None:
        return p.position
    snap = store.load_snapshot(PROJECTION_SNAPSHOT + p.name)
    if snap is None:
        return p.position
    p.restore_state(state_of(snap))
    p.position = snap.seq
    return snap.seq


def _restore(store: EventStore, components: Sequence[Component], to_seq: int | None) -> list[int]:
    """Restore each component that has a snapshot at or before ``to_seq`` from its latest one;
    returns the seq each now stands at (0: no snapshot, fold from the start)."""
    start: list[int] = []
    for c in components:
        seq = 0
        if c.snapshot_state() is not None:
            snap = store.load_snapshot(c.name, to_seq)
            if snap is not None:
                c.restore_state(state_of(snap))
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
    folder = Folder(components, start)
    for ev in store.read(folder.low + 1, to_seq):
        rec = ev.record
        if rec.kind != "command":
            folder.apply(ev.seq, rec)
    return components
