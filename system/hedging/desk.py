"""The hedge desk: the one place where the hedging engine's decisions meet venues.

It follows the log from a position (a subscriber, not a component): each ``HedgeOrderPlaced``
goes to its venue's adapter, each ``HedgeCancelRequested`` becomes a cancel. What adapters report
is queued and executed as commands through the same runtime, in arrival order, so the log holds
every venue input and a replay never needs a venue. ``settle`` pumps both until nothing is
working or a wait runs out.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from typing import Any

from system.eventlog.codec import LoggedEvent
from system.eventlog.records import Command
from system.hedging.events import (
    HedgeCancelRequested,
    HedgeOrderDone,
    HedgeOrderFilled,
    HedgeOrderPlaced,
    HedgeOrderRejected,
    RecordHedgeDone,
    RecordVenueDown,
)
from system.hedging.port import HedgeVenue, VenueUnavailable


class HedgeDesk:
    """Connects a running system (``execute`` a command, read ``events`` from a seq) to venues."""

    def __init__(
        self,
        execute: Callable[[Command], Any],
        events: Callable[[int], Sequence[LoggedEvent]],
        venues: Sequence[HedgeVenue],
    ) -> None:
        self._execute = execute
        self._events = events
        self.venues = {v.name: v for v in venues}
        self._reports: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._next = 1
        self.working: dict[str, str] = {}  # order id -> venue, as the log says
        for v in venues:
            v.open(self._reports.put)
        self.sent: list[str] = []  # order ids sent, in order (for tests and reports)

    def _follow(self) -> bool:
        """Act on log entries not seen yet; True if there were any."""
        new = self._events(self._next)
        # An order whose cancel is already in the log (the kill switch came first) is never sent.
        cancelled = {ev.record.order_id for ev in new if isinstance(ev.record, HedgeCancelRequested)}
        for ev in new:
            self._next = ev.seq + 1
            rec = ev.record
            if isinstance(rec, HedgeOrderPlaced):
                self.working[rec.order_id] = rec.venue
                if rec.order_id in cancelled:
                    self._reports.put(RecordHedgeDone(rec.order_id, "cancelled before it was sent"))
                    continue
                venue = self.venues.get(rec.venue)
                try:
                    if venue is None:
                        raise VenueUnavailable(f"no adapter for hedge venue {rec.venue}")
                    venue.send(rec)
                    self.sent.append(rec.order_id)
                except VenueUnavailable as e:
                    self._reports.put(RecordVenueDown(rec.venue, str(e)))
            elif isinstance(rec, HedgeCancelRequested):
                venue = self.venues.get(rec.venue)
                if venue is not None:
                    venue.cancel(rec.order_id)
            elif isinstance(rec, HedgeOrderRejected | HedgeOrderDone) or (
                isinstance(rec, HedgeOrderFilled) and rec.leaves == 0
            ):
                self.working.pop(rec.order_id, None)
        return bool(new)

    def _drain(self) -> bool:
        ran = False
        while True:
            try:
                cmd = self._reports.get_nowait()
            except queue.Empty:
                return ran
            self._execute(cmd)
            ran = True

    def settle(self, wait_s: float = 0.0, max_rounds: int = 10_000) -> bool:
        """Send what the engine decided and record what venues answer, until nothing is working
        (True) or, with orders still working, no report arrives within ``wait_s`` (False).

        In-process venues answer at once (``wait_s`` 0 is enough); a FIX venue needs a wait."""
        for _ in range(max_rounds):
            moved = self._follow()
            moved = self._drain() or moved
            if moved:
                continue
            if not self.working:
                return True
            if wait_s <= 0:
                return False
            try:
                cmd = self._reports.get(timeout=wait_s)
            except queue.Empty:
                return False
            self._execute(cmd)
        raise RuntimeError(f"the hedge desk did not settle in {max_rounds} rounds")

    def close(self) -> None:
        for v in self.venues.values():
            v.close()
