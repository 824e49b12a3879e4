"""The Driver port: the only way steps reach the system under test.

The in-process driver holds a ``sim.world.World``; FIX and REST drivers will hold gateway
clients. Steps build engine commands (ints in instrument units, converted at the edge by the
steps) and read back views and logged events, so a scenario never changes with the transport.

Contract:
- ``start`` is called once, before anything else, with the scenario's setup.
- Every command method returns the ``Reply``: the events the command caused, in log order. A
  refused command is not an error: its reply holds the rejection event.
- ``events`` returns the whole log so far in seq order; ``book_history`` the book of an instrument
  after every logged change, oldest first.
- Time only moves through ``run_until`` / ``advance``; timers (sessions, expiries) fire on the way.
- Methods a driver cannot serve raise ``DriverUnavailable`` naming what is missing.
- Corrections (bust, trade correction, late trade report, price correction) are commands like any
  other: their reply holds the correction event, valid at the time it amends, or its rejection.
- Audit queries (``as_of``, ``rerun``, ``rebase``) answer from the log alone, in plain views
  (``AsOfView``, ``RerunView``, ``RebaseView``): ints in instrument units, times in ns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from steps.errors import DriverUnavailable
from system.corrections import BustTrade, CorrectPrice, CorrectTrade, ReportLateTrade
from system.engine import BookView, Instrument, OrderView, Phase
from system.eventlog import LoggedEvent, Verdict


@dataclass
class Setup:
    """What a scenario asked for before the system started."""

    start_ns: int
    instruments: list[Instrument]
    venues: list[str]  # venues whose calendars drive the phases (empty: phases move by hand)
    log: Path | None  # SQLite file for the scenario's log (None: in memory)
    seed: int = 0
    default_phase: Phase = Phase.CONTINUOUS  # where venues start before any phase change
    risk: Any = None
    pricing: Any = None
    hedging: Any = None
    label: str = ""


@dataclass
class Reply:
    events: list[LoggedEvent] = field(default_factory=list)

    @property
    def records(self) -> list[Any]:
        return [e.record for e in self.events]


@dataclass(frozen=True)
class BookPoint:
    """The book of one instrument just after the log entry ``seq`` at ``time``."""

    seq: int
    time: int
    book: BookView


@dataclass(frozen=True)
class HeldPosition:
    """One account's position in one instrument as the auditors' ledger folds it."""

    account: str
    instrument: str
    qty: int  # net, instrument qty units (negative: short)
    cost: int  # signed sum of price * qty, in price units * qty units
    mark: int | None  # the mark at the time asked for (price units), None: none yet
    pnl: Decimal | None  # qty * mark - cost as money in the quote currency
    currency: str


@dataclass(frozen=True)
class AsOfView:
    """The state at valid time ``as_of`` as known at recorded time ``known_at`` (None: with every
    correction), and the basis it was computed from."""

    as_of: int
    known_at: int | None
    seq: int  # the last log entry folded
    late_included: int  # corrections that count in this view
    late_excluded: int  # corrections recorded after known_at that amend times up to as_of
    books: dict[str, BookView]
    positions: list[HeldPosition]  # by (account, instrument)
    marks: dict[str, int]
    trades: int  # trades executed up to as_of (busted ones included)
    busted: int
    corrected: int
    late: int  # late trade reports

    @property
    def standing(self) -> int:
        """Trades that stand in this view: executed, less busted, plus late reports."""
        return self.trades - self.busted + self.late


@dataclass(frozen=True)
class Difference:
    """One thing two runs of the same flow did differently (``kind``: order, trade, position,
    account), keyed by what the flow names (account/client order id); None: absent on that side."""

    kind: str
    key: str
    original: dict[str, Any] | None
    rerun: dict[str, Any] | None


@dataclass(frozen=True)
class RerunView:
    same: bool  # the re-run's log has the original's head hash
    original_head: tuple[int, str]  # (seq, hash hex)
    rerun_head: tuple[int, str]
    divergence: tuple[int, dict[str, Any] | None, dict[str, Any] | None] | None  # seq, both entries
    differences: list[Difference]
    failed: list[str]  # inputs whose handler raised in the re-run


@dataclass(frozen=True)
class TradeRow:
    instrument: str
    price: int
    qty: int
    buy_account: str
    sell_account: str
    buy_order: str  # client order ids
    sell_order: str
    time: int


@dataclass(frozen=True)
class Rejection:
    account: str
    client_order_id: str
    command: str
    reason: str
    text: str


@dataclass(frozen=True)
class RebaseView:
    """The recorded order flow replayed onto ``date`` under that date's sessions."""

    date: date
    commands: int
    accepted: int
    trades: list[TradeRow]
    rejections: list[Rejection]


class WireDriver(ABC):
    """The wire-safe core of the port: what any transport (in-process, FIX, REST) can serve.

    Commands and their replies, books and orders read through server queries, the log, and clock
    control. Audit questions (``as_of``, ``rerun``, ``rebase``, ``replay_book``) answer from the
    log alone, so a wire driver that can read the log serves them too.
    """

    name: str = ""
    wire: bool = False  # True: the system is in another process; @inprocess scenarios are skipped

    @abstractmethod
    def start(self, setup: Setup) -> None: ...

    @abstractmethod
    def execute(self, command: Any) -> Reply:
        """Send any command (orders, cancels, phase changes, reference prices, risk commands)."""

    @abstractmethod
    def add_venue(self, venue: str) -> None:
        """Let ``venue``'s calendar drive its phases from now on."""

    # -- queries ---------------------------------------------------------------------------------
    @abstractmethod
    def book(self, instrument: str) -> BookView: ...

    @abstractmethod
    def phase(self, instrument: str) -> Phase: ...

    @abstractmethod
    def order(self, order_id: int) -> OrderView | None: ...

    @abstractmethod
    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]: ...

    @abstractmethod
    def events(self, from_seq: int = 1) -> list[LoggedEvent]: ...

    @abstractmethod
    def book_history(self, instrument: str) -> list[BookPoint]: ...

    # -- time ------------------------------------------------------------------------------------
    @abstractmethod
    def now(self) -> int: ...

    @abstractmethod
    def run_until(self, t_ns: int) -> None: ...

    def advance(self, delta_ns: int) -> None:
        self.run_until(self.now() + delta_ns)

    # -- corrections (commands: the reply holds the correction event or its rejection) -----------
    def bust_trade(self, trade_id: int, reason: str = "") -> Reply:
        """Cancel a trade as if it never happened (valid at the trade's time)."""
        return self.execute(BustTrade(trade_id=trade_id, reason=reason))

    def correct_trade(
        self, trade_id: int, *, price: int | None = None, qty: int | None = None, reason: str = ""
    ) -> Reply:
        """Replace a trade's price and/or quantity (valid at the trade's time)."""
        return self.execute(CorrectTrade(trade_id=trade_id, price=price, qty=qty, reason=reason))

    def report_late_trade(
        self,
        instrument: str,
        price: int,
        qty: int,
        buy_account: str,
        sell_account: str,
        trade_time: int,
        reason: str = "",
    ) -> Reply:
        """A trade done earlier and reported now (valid at ``trade_time``)."""
        return self.execute(
            ReportLateTrade(instrument, price, qty, buy_account, sell_account, trade_time, reason)
        )

    def correct_price(self, instrument: str, price: int, at: int, reason: str = "") -> Reply:
        """The published price at ``at`` was wrong: this is the right one (valid at ``at``)."""
        return self.execute(CorrectPrice(instrument, price, at, reason))

    # -- audit (from the log alone) --------------------------------------------------------------
    def as_of(self, valid_ns: int, known_at_ns: int | None = None) -> AsOfView:
        """The books, positions and marks at valid time ``valid_ns`` as known at recorded time
        ``known_at_ns`` (None: the corrected view). A time outside the log raises ``ValueError``."""
        raise DriverUnavailable(f"the {self.name} driver cannot answer as-of questions")

    def rerun(self, overrides: Sequence[str] = ()) -> RerunView:
        """Feed the log's recorded inputs through today's engines (with the configuration changed
        by ``overrides``, ``PATH=VALUE`` as ``chronex replay --set`` takes) and compare."""
        raise DriverUnavailable(f"the {self.name} driver cannot re-run its log")

    def rebase(self, new_date: date) -> RebaseView:
        """The recorded order flow replayed onto ``new_date`` under that date's calendar."""
        raise DriverUnavailable(f"the {self.name} driver cannot rebase its log")

    def replay_book(self, instrument: str, as_of_ns: int) -> BookView:
        """The book rebuilt from the log as of valid time ``as_of_ns``."""
        raise DriverUnavailable(f"the {self.name} driver cannot replay")

    def verify_log(self) -> Verdict:
        """``system.eventlog.verify`` over the system's log (every entry chains to the one before)."""
        raise DriverUnavailable(f"the {self.name} driver cannot read its log to verify it")

    def log_path(self) -> Path | None:
        return None

    def close(self) -> None:  # noqa: B027 - drivers holding nothing need not override
        """Release the system; the log file stays."""


class Driver(WireDriver):
    """The whole port: the wire-safe core plus in-process extras.

    The extras hand out live objects of the system under test, so only a driver holding it in
    this process can serve them; a wire driver raises ``DriverUnavailable``. Scenarios whose steps
    need them carry the ``@inprocess`` tag and are skipped over the wire.
    """

    def component(self, kind: type[Any]) -> Any:
        """A running component (risk, pricing) for its read models."""
        raise DriverUnavailable(f"the {self.name} driver has no in-process components")

    def projection(self, kind: type[Any]) -> Any:
        raise DriverUnavailable(f"the {self.name} driver has no in-process read models")

    def world(self) -> Any:
        """The in-process world (simulators attach to it)."""
        raise DriverUnavailable(f"the {self.name} driver has no in-process world")
