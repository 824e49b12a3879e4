"""The in-process driver: the scenario's system is a ``sim.world.World`` in this process, its log a
SQLite file in the scenario's own directory (or memory)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from sim.clock.scheduler import SessionScheduler
from sim.world import World
from steps.drivers import audit
from steps.drivers.base import (
    AsOfView,
    BookPoint,
    Driver,
    RebaseView,
    Reply,
    RerunView,
    Setup,
)
from system.bootstrap import SystemConfig
from system.engine import (
    BookView,
    MatchingEngine,
    OrderView,
    Phase,
    PhaseChanged,
)
from system.eventlog import LoggedEvent, Verdict, verify
from system.runtime import Outcome


class _RecordingWorld(World):
    """A World that tells the driver about every command's outcome, including the ones its own
    timers (sessions, expiries) execute, so the book's history is complete."""

    def __init__(self, driver: InProcessDriver, config: SystemConfig, **kw: Any) -> None:
        self._driver = driver
        super().__init__(config, **kw)

    def execute(self, command: Any, **kw: Any) -> Outcome:
        out = super().execute(command, **kw)
        self._driver._observe(self, out)
        return out


class InProcessDriver(Driver):
    name = "inprocess"

    def __init__(self) -> None:
        self._world: World | None = None
        self._setup: Setup | None = None
        self._history: dict[str, list[BookPoint]] = {}
        self._extra: list[SessionScheduler] = []
        self._events: list[LoggedEvent] = []

    @property
    def w(self) -> World:
        assert self._world is not None, "driver not started"
        return self._world

    def start(self, setup: Setup) -> None:
        self._setup = setup
        config = SystemConfig(
            seed=setup.seed,
            instruments=tuple(setup.instruments),
            venues=tuple(setup.venues),
            default_phase=setup.default_phase,
            risk=setup.risk,
            pricing=setup.pricing,
            hedging=msgspec.UNSET if setup.hedging is None else setup.hedging,
            label=setup.label,
        )
        log = str(setup.log) if setup.log is not None else "memory://"
        self._world = _RecordingWorld(self, config, start_ns=setup.start_ns, log=log)
        for inst in setup.instruments:
            self._history.setdefault(inst.id, [])

    def _observe(self, world: World, out: Outcome) -> None:
        if not out.events:
            return
        touched: list[str] = []
        eng: MatchingEngine = world.engine
        for ev in out.events:
            rec = ev.record
            if isinstance(rec, PhaseChanged) and rec.instrument is None:
                ids = [i for i in eng.instrument_ids() if eng.books[i].inst.venue == rec.venue]
            elif ev.stream.startswith("book/"):
                ids = [ev.stream[5:]]
            else:
                continue
            touched.extend(i for i in ids if i not in touched)
        last = out.events[-1]
        # The time the book looked so live: the clock's, not the events' valid time, which a
        # correction sets in the past (a bust at 16:05 of a 10:00 trade is valid at 10:00).
        now = world.now()
        for i in touched:
            if eng.has_instrument(i):
                self._history.setdefault(i, []).append(BookPoint(last.seq, now, eng.book(i)))

    def execute(self, command: Any) -> Reply:
        return Reply(list(self.w.execute(command).events))

    def add_venue(self, venue: str) -> None:
        sched = SessionScheduler(self.w.clock, self.w, [venue])
        sched.start()
        self._extra.append(sched)

    def book(self, instrument: str) -> BookView:
        return self.w.engine.book(instrument)  # type: ignore[no-any-return]

    def phase(self, instrument: str) -> Phase:
        return self.w.engine.phase(instrument)  # type: ignore[no-any-return]

    def order(self, order_id: int) -> OrderView | None:
        return self.w.engine.order(order_id)  # type: ignore[no-any-return]

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        return self.w.engine.open_orders(account, instrument)  # type: ignore[no-any-return]

    def events(self, from_seq: int = 1) -> list[LoggedEvent]:
        self.w.runtime.flush()
        have = self._events[-1].seq if self._events else 0
        if self.w.store.head().seq > have:
            self._events.extend(self.w.store.read(have + 1))
        return self._events[from_seq - 1 :] if from_seq > 1 else list(self._events)

    def book_history(self, instrument: str) -> list[BookPoint]:
        return list(self._history.get(instrument, []))

    def now(self) -> int:
        return self.w.now()

    def run_until(self, t_ns: int) -> None:
        self.w.run_until(t_ns)

    def advance(self, delta_ns: int) -> None:
        self.w.advance(delta_ns)

    def replay_book(self, instrument: str, as_of_ns: int) -> BookView:
        """The book as of ``as_of_ns`` (valid time, corrections included), from the log alone:
        the auditors' replayer (sim.replay), so scenarios test the very code `chronex replay` runs."""
        self.w.runtime.flush()
        return audit.replay_book(self.w.store, self.w.config, instrument, as_of_ns)

    def as_of(self, valid_ns: int, known_at_ns: int | None = None) -> AsOfView:
        """Through ``sim.replay.as_of`` (what `chronex replay --as-of/--known-at` runs)."""
        self.w.runtime.flush()
        return audit.as_of_view(self.w.store, self.w.config, valid_ns, known_at_ns)

    def rerun(self, overrides: Sequence[str] = ()) -> RerunView:
        """Through ``sim.replay.rerun`` into an in-memory log; differences by ``sim.replay.diff``."""
        self.w.runtime.flush()
        return audit.rerun_view(self.w.store, overrides)

    def rebase(self, new_date: date) -> RebaseView:
        """Through ``sim.replay.rebase`` into an in-memory log on its own virtual clock."""
        self.w.runtime.flush()
        return audit.rebase_view(self.w.store, self.w.config, new_date)

    def verify_log(self) -> Verdict:
        self.w.runtime.flush()
        return verify(self.w.store)

    def component(self, kind: type[Any]) -> Any:
        return self.w.system.component(kind)

    def projection(self, kind: type[Any]) -> Any:
        return self.w.system.projection(kind)

    def world(self) -> Any:
        return self.w

    def log_path(self) -> Path | None:
        s = self._setup
        return None if s is None else s.log

    def close(self) -> None:
        if self._world is not None:
            for s in self._extra:
                s.stop()
            self._world.close()
            self._world = None
