"""The scenario context: what one scenario has set up and done, framework-neutral.

Each scenario gets a fresh context, hence a fresh system and its own SQLite log in a temporary
directory. ``Given`` steps collect the setup (date, venues, instruments, accounts); the system is
started on the first step that needs it. On failure ``keep_log`` copies the log under
``out/failed/`` so it can be inspected and replayed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from steps import values as V
from steps.drivers import Driver, Reply, Setup, make_driver
from steps.errors import StepInputError
from steps.instruments import default_instrument
from system.clock import from_datetime
from system.engine import Instrument, Phase
from system.eventlog import LoggedEvent

DEFAULT_DATE = date(2027, 1, 4)  # a Monday on which every shipped venue trades
DEFAULT_TIME = time(10, 0)


def scratch_dir() -> str | None:
    """Where scenario logs live while they run: CHRONEX_SCENARIO_TMP, else /dev/shm when it is a
    writable tmpfs (a log's fsyncs then cost nothing; a failing scenario's log is copied to
    out/ anyway), else the system's temporary directory."""
    explicit = os.environ.get("CHRONEX_SCENARIO_TMP")
    if explicit:
        return explicit
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _copy_log(src: Path, dest: Path) -> None:
    """A self-contained copy of a live SQLite log. Its recent entries sit in the write-ahead file
    beside it until a checkpoint, so copying the database file alone kept an empty log: copy both,
    open the copy once and close it (closing folds the write-ahead file in), then move it into place."""
    from system.clock import FixedClock
    from system.eventlog import open_log

    staging = Path(tempfile.mkdtemp(prefix="chronex-kept-", dir=dest.parent))
    try:
        for suffix in ("", "-wal"):
            part = Path(f"{src}{suffix}")
            if part.exists():
                shutil.copyfile(part, staging / f"log.db{suffix}")
        store = open_log(staging / "log.db", FixedClock(0), create=False)
        store.head()
        store.close()
        os.replace(staging / "log.db", dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class OrderRef:
    name: str
    account: str
    instrument: str
    cid: str
    order_id: int | None = None


@dataclass
class Scenario:
    """State of one running scenario. Steps receive it as ``ctx``."""

    name: str = ""
    feature: str = ""
    tags: tuple[str, ...] = ()
    driver_name: str | None = None
    report_dir: Path = field(default_factory=lambda: Path(os.environ.get("CHRONEX_REPORT_DIR") or "out"))
    memory_log: bool = False

    # setup collected by Given steps
    tz: ZoneInfo | None = None
    start_date: date | None = None
    start_time: time | None = None
    calendar: bool = False  # a date was given: the venues' calendars drive the phases
    venues: list[str] = field(default_factory=list)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    pending: list[Any] = field(default_factory=list)  # commands to run once started
    risk: Any = None
    pricing: Any = None
    hedging: Any = None
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed: int = 0

    # what happened
    driver: Driver | None = None
    orders: dict[str, OrderRef] = field(default_factory=dict)
    last_order: OrderRef | None = None
    last_reply: Reply | None = None
    since_seq: int = 0  # first seq of the latest block of When steps
    in_when: bool = False
    replayed: dict[str, Any] = field(default_factory=dict)
    replayed_at: int | None = None
    simulators: list[Any] = field(default_factory=list)
    bag: dict[str, Any] = field(default_factory=dict)  # room for step areas that join later
    on_start: list[Any] = field(default_factory=list)  # fn(ctx) before the system is built
    after_start: list[Any] = field(default_factory=list)  # fn(ctx) once it runs
    kept: str | None = None
    _dir: Path | None = None
    _counter: int = 0

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="chronex-scenario-", dir=scratch_dir()))
        return self._dir

    @property
    def started(self) -> bool:
        return self.driver is not None

    def system(self) -> Driver:
        """The running system, started now if this is the first step that needs it."""
        if self.driver is None:
            for prepare in self.on_start:
                prepare(self)
            driver = make_driver(self.driver_name)
            driver.start(
                Setup(
                    start_ns=self.start_ns(),
                    instruments=list(self.instruments.values()),
                    venues=list(self.venues) if self.calendar else [],
                    log=None if self.memory_log else self.workdir / "scenario.db",
                    seed=self.seed,
                    # With a calendar a venue is closed until its timetable (synced at start) opens it.
                    default_phase=Phase.CLOSED if self.calendar else Phase.CONTINUOUS,
                    risk=self.risk,
                    pricing=self.pricing,
                    hedging=self.hedging,
                    label=self.name,
                )
            )
            self.driver = driver
            pending, self.pending = self.pending, []
            for cmd in pending:
                driver.execute(cmd)
            for hook in self.after_start:
                hook(self)
        return self.driver

    def close(self) -> None:
        for sim in self.simulators:
            stop = getattr(sim, "stop", None)
            if stop is not None:
                stop()
        if self.driver is not None:
            self.driver.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def keep_log(self) -> str | None:
        """Copy the scenario's log under ``out/failed/`` (once); return where it went."""
        if self.kept is not None:
            return self.kept
        if self.driver is None:
            return None
        with contextlib.suppress(Exception):  # keep what is on disk even if the system is in a bad state
            self.driver.events()  # flushes any batch
        src = self.driver.log_path()
        if src is None or not src.exists():
            return None
        dest_dir = self.report_dir / "failed"
        dest_dir.mkdir(parents=True, exist_ok=True)
        slug = (
            re.sub(r"[^A-Za-z0-9]+", "-", f"{self.feature}-{self.name}".lower()).strip("-")[:80] or "scenario"
        )
        dest = dest_dir / f"{slug}-{os.getpid()}.db"
        _copy_log(src, dest)
        self.kept = str(dest)
        return self.kept

    # -- time -------------------------------------------------------------------------------------
    def zone(self) -> ZoneInfo:
        if self.tz is not None:
            return self.tz
        if self.venues:
            return ZoneInfo(self.calendar_of(self.venues[0]).tz)
        return ZoneInfo("Asia/Tokyo")

    def start_ns(self) -> int:
        d = self.start_date or DEFAULT_DATE
        t = self.start_time or (time(0) if self.calendar else DEFAULT_TIME)
        return from_datetime(datetime.combine(d, t, tzinfo=self.zone()))

    def today(self) -> date:
        if self.driver is None:
            return self.start_date or DEFAULT_DATE
        from system.clock import to_datetime

        return to_datetime(self.driver.now(), self.zone()).date()

    def instant(self, text: str) -> int:
        """ns of a time the scenario writes; without a date it is on today's date in the zone the
        text names (or the scenario's zone)."""
        return V.instant(text, self.today_in, self.zone())

    def today_in(self, tz: ZoneInfo) -> date:
        """The date in ``tz`` now (before the start: of the start instant)."""
        from system.clock import to_datetime

        now = self.driver.now() if self.driver is not None else self.start_ns()
        return to_datetime(now, tz).date()

    def now(self) -> int:
        return self.system().now()

    def calendar_of(self, venue: str) -> Any:
        from sim.clock import CalendarError, venue_calendar

        try:
            return venue_calendar(venue)
        except CalendarError as e:
            raise StepInputError(str(e)) from None

    # -- reference data ---------------------------------------------------------------------------
    def add_venue(self, venue: str) -> None:
        self.calendar_of(venue)  # unknown venues fail here, by name
        if venue not in self.venues:
            self.venues.append(venue)
            if self.driver is not None and self.calendar:
                self.driver.add_venue(venue)

    def add_instrument(self, inst: Instrument) -> Instrument:
        problem = inst.problem()
        if problem is not None:
            raise StepInputError(problem)
        if inst.id in self.instruments:
            return self.instruments[inst.id]
        self.instruments[inst.id] = inst
        if inst.venue not in self.venues:
            self.add_venue(inst.venue)
        if self.driver is not None:
            from system.engine import ListInstrument

            self.driver.execute(ListInstrument(inst))
        return inst

    def inst(self, ref: str | None = None) -> Instrument:
        """The instrument ``ref`` (defined on first use from the defaults), or the scenario's only
        instrument when ``ref`` is empty."""
        if not ref:
            if len(self.instruments) == 1:
                return next(iter(self.instruments.values()))
            if not self.instruments:
                raise StepInputError(
                    "no instrument named and none set up (add 'Given the instrument XTKS:7203')"
                )
            raise StepInputError(
                f"which instrument? several are set up ({', '.join(self.instruments)}); name it"
            )
        ref = ref.strip()
        if ref in self.instruments:
            return self.instruments[ref]
        return self.add_instrument(default_instrument(ref))

    def run(self, command: Any) -> Reply:
        """Execute ``command`` now, or queue it for the start when the system is not running yet."""
        reply = self.system().execute(command)
        self.last_reply = reply
        return reply

    def setup_command(self, command: Any) -> None:
        """A Given-step command: executed now if running, else at start (after the listings)."""
        if self.driver is None:
            self.pending.append(command)
        else:
            self.driver.execute(command)

    # -- orders -----------------------------------------------------------------------------------
    def new_order_name(self, account: str) -> str:
        self._counter += 1
        return f"{account}-{self._counter}"

    def order_ref(self, name: str) -> OrderRef:
        ref = self.orders.get(name)
        if ref is None:
            known = ", ".join(self.orders) or "none yet"
            raise StepInputError(f"no order named {name!r} (orders so far: {known})")
        return ref

    def the_order(self, name: str | None) -> OrderRef:
        if name:
            return self.order_ref(name)
        if self.last_order is None:
            raise StepInputError("no order has been submitted yet")
        return self.last_order

    def name_of(self, order_id: int | None) -> str:
        for ref in self.orders.values():
            if ref.order_id == order_id and order_id is not None:
                return ref.name
        return "" if order_id is None else f"#{order_id}"

    # -- events -----------------------------------------------------------------------------------
    def events(self, since: int = 1) -> list[LoggedEvent]:
        return self.system().events(since)

    def action_events(self) -> list[LoggedEvent]:
        """Events since the latest block of When steps began (the whole log if none ran)."""
        return self.events(self.since_seq or 1)

    def begin_action(self) -> None:
        head = self.system().events()
        self.since_seq = (head[-1].seq + 1) if head else 1
