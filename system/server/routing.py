"""Routing: every event that concerns an order goes to the session that owns the order, and to
drop-copy subscribers.

A session owns the orders its commands created (``OrderAccepted`` caused by a command id of that
session). An event reaches a session when the session's command caused it (its rejections, its
own fills as aggressor) or when it names one of the session's orders (a fill as the resting side,
an expiry, a kill-switch cancel). Each event reaches a session once, in log order.

The router is a ``Subscriber`` on the sequencer's seam. Its ownership map is a fold of the log, so
a restarted server routes fills of orders placed before the restart to the same session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from system.engine import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    StopTriggered,
    TradeExecuted,
)
from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore
from system.server.sequencer import session_of

Sink = Callable[[LoggedEvent], None]

ORDER_EVENTS = (
    OrderAccepted,
    OrderRejected,
    TradeExecuted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    StopTriggered,
)


def order_ids(rec: object) -> tuple[int, ...]:
    """The ids of the orders an engine event is about."""
    if isinstance(rec, TradeExecuted):
        return (rec.buy_order_id, rec.sell_order_id)
    oid = getattr(rec, "order_id", None)
    return () if oid is None else (oid,)


def accounts_of(rec: object) -> tuple[str, ...]:
    if isinstance(rec, TradeExecuted):
        return (rec.buy_account, rec.sell_account)
    acc = getattr(rec, "account", None)
    return () if acc is None else (acc,)


@dataclass
class _DropCopy:
    sink: Sink
    accounts: frozenset[str] | None  # None: every account


class Router:
    """Sends order events to their owning sessions and to drop copies."""

    name = "router"

    def __init__(self) -> None:
        self._pos = 0
        self.owner: dict[int, str] = {}
        self._sessions: dict[str, Sink] = {}
        self._drop: dict[str, _DropCopy] = {}

    def fold(self, store: EventStore) -> None:
        """Learn who owns every order in the log, and start routing after its head."""
        for ev in store.read(1):
            self._learn(ev)
        self._pos = store.head().seq

    def learn(self, ev: LoggedEvent) -> None:
        """``fold`` one entry at a time (a start-up pass shared with the sequencer's ids)."""
        self._learn(ev)
        self._pos = ev.seq

    def learn_position(self, seq: int) -> None:
        """The ownership map was restored as of ``seq`` (a warm start from a snapshot)."""
        self._pos = seq

    def _learn(self, ev: LoggedEvent) -> str | None:
        rec = ev.record
        if isinstance(rec, OrderAccepted):
            s = session_of(ev.causation_id)
            if s is not None:
                self.owner[rec.order_id] = s
            return s
        return None

    # -- sinks -----------------------------------------------------------------------------------
    def attach(self, session: str, sink: Sink) -> None:
        """``sink`` receives the session's events from now on (one per session: a new one wins)."""
        self._sessions[session] = sink

    def detach(self, session: str) -> None:
        self._sessions.pop(session, None)

    def attach_drop_copy(self, name: str, sink: Sink, accounts: Iterable[str] | None = None) -> None:
        self._drop[name] = _DropCopy(sink, None if accounts is None else frozenset(accounts))

    def detach_drop_copy(self, name: str) -> None:
        self._drop.pop(name, None)

    # -- Subscriber ------------------------------------------------------------------------------
    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        sessions = self._sessions
        owner = self.owner
        for ev in batch:
            rec = ev.record
            if not isinstance(rec, ORDER_EVENTS):
                continue
            first = self._learn(ev) or session_of(ev.causation_id)
            targets: list[str] = [] if first is None else [first]
            for oid in order_ids(rec):
                s = owner.get(oid)
                if s is not None and s not in targets:
                    targets.append(s)
            for s in targets:
                sink = sessions.get(s)
                if sink is not None:
                    sink(ev)
            if self._drop:
                accs = accounts_of(rec)
                for dc in self._drop.values():
                    if dc.accounts is None or any(a in dc.accounts for a in accs):
                        dc.sink(ev)
        self._pos = batch[-1].seq
