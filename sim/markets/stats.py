"""What a simulated day did, folded from the log as it is written: orders, trades, volume, OHLC,
auctions per instrument; and a book sampler for spreads and crossed books."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from system.engine import AuctionUncrossed, OrderRejected, Phase, TradeExecuted
from system.eventlog import LoggedEvent
from system.runtime import Projection
from system.runtime.projection import on_event

NS_PER_MINUTE = 60_000_000_000


@dataclass
class InstrumentDay:
    """One instrument's day. Prices are int instrument units."""

    instrument: str
    orders: int = 0
    rejected: int = 0
    cancelled: int = 0
    replaced: int = 0
    expired: int = 0
    trades: int = 0
    volume: int = 0
    open: int | None = None
    high: int | None = None
    low: int | None = None
    close: int | None = None
    # (phase that ended, price, qty, valid time of the uncross)
    auctions: list[tuple[str, int | None, int, int]] = field(default_factory=list)
    volume_by_minute: dict[int, int] = field(default_factory=dict)  # minute since epoch -> volume

    def add_trade(self, price: int, qty: int, t: int) -> None:
        self.trades += 1
        self.volume += qty
        if self.open is None:
            self.open = self.high = self.low = price
        else:
            assert self.high is not None and self.low is not None
            if price > self.high:
                self.high = price
            if price < self.low:
                self.low = price
        self.close = price
        m = t // NS_PER_MINUTE
        self.volume_by_minute[m] = self.volume_by_minute.get(m, 0) + qty


class DayStats(Projection):
    """Counts every entry appended after it is attached; per-instrument detail by book events."""

    name = "sim-day-stats"

    def __init__(self) -> None:
        super().__init__()
        self.events = 0
        self.commands: dict[str, int] = {}
        self.by_instrument: dict[str, InstrumentDay] = {}

    def day(self, instrument: str) -> InstrumentDay:
        d = self.by_instrument.get(instrument)
        if d is None:
            d = self.by_instrument[instrument] = InstrumentDay(instrument)
        return d

    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        self.events += 1
        t = ev.type
        fn = self._table.get(t)
        if fn is not None:
            fn(ev)
        elif ev.record.kind == "command":
            self.commands[t] = self.commands.get(t, 0) + 1
        self.position = ev.seq

    def handle_batch(self, batch: Sequence[LoggedEvent]) -> None:
        """``handle`` for each entry of one append, in one loop (the runtime calls this for every
        append of a simulated day, a million entries)."""
        table, commands = self._table, self.commands
        for ev in batch:
            seq = ev.seq
            if seq <= self.position:
                continue
            self.events += 1
            t = ev.type
            fn = table.get(t)
            if fn is not None:
                fn(ev)
            elif ev.record.kind == "command":
                commands[t] = commands.get(t, 0) + 1
            self.position = seq

    @on_event("OrderAccepted")
    def _accepted(self, ev: LoggedEvent) -> None:
        self.day(ev.record.instrument).orders += 1  # type: ignore[attr-defined]

    @on_event(OrderRejected)
    def _rejected(self, ev: LoggedEvent) -> None:
        self.day(ev.record.instrument).rejected += 1  # type: ignore[attr-defined]

    @on_event("OrderCancelled")
    def _cancelled(self, ev: LoggedEvent) -> None:
        self.day(ev.record.instrument).cancelled += 1  # type: ignore[attr-defined]

    @on_event("OrderReplaced")
    def _replaced(self, ev: LoggedEvent) -> None:
        self.day(ev.record.instrument).replaced += 1  # type: ignore[attr-defined]

    @on_event("OrderExpired")
    def _expired(self, ev: LoggedEvent) -> None:
        self.day(ev.record.instrument).expired += 1  # type: ignore[attr-defined]

    @on_event(TradeExecuted)
    def _trade(self, ev: LoggedEvent) -> None:
        r: TradeExecuted = ev.record  # type: ignore[assignment]
        self.day(r.instrument).add_trade(r.price, r.qty, r.time)

    @on_event(AuctionUncrossed)
    def _auction(self, ev: LoggedEvent) -> None:
        r: AuctionUncrossed = ev.record  # type: ignore[assignment]
        self.day(r.instrument).auctions.append((str(r.phase), r.price, r.qty, ev.valid_time))

    @property
    def total_commands(self) -> int:
        return sum(self.commands.values())


@dataclass
class BookSample:
    t: int
    instrument: str
    bid: int | None
    ask: int | None
    tick: int
    crossed: bool

    @property
    def spread_ticks(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.ask - self.bid) / self.tick


class BookSampler:
    """Samples each instrument's touch every ``every_ns`` while it trades continuously."""

    def __init__(self, sim: Any, instruments: Iterable[str], every_ns: int) -> None:
        self.sim = sim
        self.instruments = list(instruments)
        self.every_ns = every_ns
        self.samples: list[BookSample] = []

    def run(self) -> Generator[Any, Any, None]:
        view = self.sim.view
        env = self.sim.env
        while not self.sim.stopped:
            yield env.timeout(self.every_ns)
            for iid in self.instruments:
                if view.phase(iid) is not Phase.CONTINUOUS:
                    continue
                bid, ask = view.touch(iid)
                ref = bid if bid is not None else ask
                tick = self.sim.grid(iid).tick(ref) if ref is not None else 1
                self.samples.append(BookSample(env.now, iid, bid, ask, tick, view.crossed(iid)))
