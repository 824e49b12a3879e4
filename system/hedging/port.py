"""The hedge venue port: how the hedge desk reaches an external venue.

Contract for every adapter:
- ``open(report)`` is called once before anything else. ``report`` takes the commands the
  adapter hears (``RecordHedgeFill``, ``RecordHedgeReject``, ``RecordHedgeDone``,
  ``RecordVenueDown``, ``RecordVenueUp``); it is thread-safe and never blocks. The adapter must not
  touch the runtime any other way: the desk executes those commands, so the log records them.
- ``send(order)`` sends one hedge order (quantity in the route's lots, a market order that may
  fill in part; the rest is ended, IOC). It returns once the order is on its way; what the venue
  says comes back through ``report``. It raises ``VenueUnavailable`` when the venue cannot take it.
- ``cancel(order_id)`` asks for the rest of a working order to be cancelled; the end comes back as
  ``RecordHedgeDone`` (or fills that raced it). Unknown or finished orders are ignored.
- Every report names the engine's ``order_id``; a fill has an ``exec_id`` unique per venue, so
  a resent report is recognised.
- ``close()`` releases the connection; no report follows it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from system.eventlog.records import Command
from system.hedging.events import HedgeOrderPlaced

Report = Callable[[Command], None]


class VenueUnavailable(Exception):
    """The venue cannot take an order now (down, not logged on); the text says why."""


class HedgeVenue(ABC):
    """One external venue the hedge desk sends orders to."""

    name: str

    @abstractmethod
    def open(self, report: Report) -> None: ...

    @abstractmethod
    def send(self, order: HedgeOrderPlaced) -> None: ...

    @abstractmethod
    def cancel(self, order_id: str) -> None: ...

    @abstractmethod
    def close(self) -> None: ...
