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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steps.errors import DriverUnavailable
from system.engine import BookView, Instrument, OrderView, Phase
from system.eventlog import LoggedEvent


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


class Driver(ABC):
    name: str = ""

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

    # -- optional capabilities -------------------------------------------------------------------
    def replay_book(self, instrument: str, as_of_ns: int) -> BookView:
        """The book rebuilt from the log as of valid time ``as_of_ns``."""
        raise DriverUnavailable(f"the {self.name} driver cannot replay")

    def component(self, kind: type[Any]) -> Any:
        """A running component (risk, pricing) for its read models."""
        raise DriverUnavailable(f"the {self.name} driver has no in-process components")

    def projection(self, kind: type[Any]) -> Any:
        raise DriverUnavailable(f"the {self.name} driver has no in-process read models")

    def world(self) -> Any:
        """The in-process world (simulators attach to it)."""
        raise DriverUnavailable(f"the {self.name} driver has no in-process world")

    def log_path(self) -> Path | None:
        return None

    def close(self) -> None:  # noqa: B027 - drivers holding nothing need not override
        """Release the system; the log file stays."""
