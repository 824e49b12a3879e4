"""OHLC bars from the trade tape, as a read model that busts, corrections and late trades revise.

Alignment (docs/pricing.md): intraday bars (1s, 1m, 5m, 1h) start on the venue's local clock grid
(a 1h bar starts at hh:00 local time in the venue's zone, so DST and half-hour zones come out
right); every bar carries its trade date, which comes from the venue's sessions. A 1d bar is one
trade date. The zone and the trade-date rule are injected: a ``VenueSessions`` per venue (the
venue calendar in sim/clock is one: it has ``tz`` and ``trade_date(t)``), or, by default, the
``[pricing.venues.<V>]`` zone and ``day_start`` from the run's configuration.

Within a bar, trades are ordered by (trade time, log seq): open is the first, close the last.
A busted trade leaves its bars; a corrected one changes price/qty in place; a late trade enters
the bars of its trade time. An affected bar is recomputed from its trades; a bar left with no
trades disappears.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import msgspec

from system.clock import from_datetime
from system.eventlog.codec import LoggedEvent
from system.pricing.config import BAR_INTERVALS, PricingConfig, VenueZone, day_start_ns
from system.runtime import Projection, on_event

NS_PER_DAY = 86_400 * 10**9
_OFFSET_BLOCK = 900 * 10**9  # zone offsets change on quarter-hour boundaries at most


class VenueSessions(Protocol):
    """What bars need of a venue calendar: its zone and the trade date of an instant."""

    @property
    def tz(self) -> str: ...

    def trade_date(self, t: int) -> date: ...


class ZoneSessions:
    """Trade dates from a zone and the local time the date rolls (``day_start``, e.g. CME 17:00)."""

    def __init__(self, tz: str = "UTC", day_start: str = "00:00") -> None:
        self.tz = tz
        self._zone = ZoneInfo(tz)
        self._roll = (NS_PER_DAY - day_start_ns(day_start, "day_start", "<sessions>")) % NS_PER_DAY

    def trade_date(self, t: int) -> date:
        off = self._zone.utcoffset(datetime.fromtimestamp(t // 10**9, UTC))
        assert off is not None
        local = t + off // timedelta(microseconds=1) * 1000 + self._roll
        return date(1970, 1, 1) + timedelta(days=local // NS_PER_DAY)


class Bar(msgspec.Struct, frozen=True):
    instrument: str
    interval: str
    start: int  # ns UTC; a 1d bar starts at local midnight of its trade date
    trade_date: str  # ISO date
    open: int
    high: int
    low: int
    close: int
    volume: int
    trades: int


class _Trade:
    __slots__ = ("buckets", "instrument", "price", "qty", "seq", "time")

    def __init__(self, instrument: str, time: int, seq: int, price: int, qty: int) -> None:
        self.instrument = instrument
        self.time = time
        self.seq = seq
        self.price = price
        self.qty = qty
        self.buckets: list[_Bucket] = []


class _Bucket:
    __slots__ = ("bar", "keys", "last")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.bar: Bar | None = None
        self.last: tuple[int, int] = (-1, -1)  # (time, seq) of the close


SessionsFor = Callable[[str], VenueSessions]


class BarProjection(Projection):
    """Bars per (instrument, interval), queried from memory: ``bars("XTKS:7203", "1m")``."""

    name = "bars"

    def __init__(
        self,
        intervals: tuple[str, ...] = ("1s", "1m", "5m", "1h", "1d"),
        sessions: Mapping[str, VenueSessions] | None = None,
        zones: Mapping[str, VenueZone] | None = None,
    ) -> None:
        super().__init__()
        for iv in intervals:
            if iv not in BAR_INTERVALS:
                raise ValueError(f"bar interval {iv!r} is not one of {', '.join(BAR_INTERVALS)}")
        self.intervals = tuple(intervals)
        self._given = dict(sessions or {})
        self._zones = dict(zones or {})
        self._sessions: dict[str, VenueSessions] = {}
        self._zone: dict[str, ZoneInfo] = {}
        self._offsets: dict[tuple[str, int], int] = {}
        self.venue_of: dict[str, str] = {}
        self._trades: dict[int, _Trade] = {}  # trade id (late reports: -report id) -> trade
        self._buckets: dict[tuple[str, str], dict[int, _Bucket]] = {}

    # -- queries ---------------------------------------------------------------------------------
    def bars(self, instrument: str, interval: str) -> list[Bar]:
        b = self._buckets.get((instrument, interval), {})
        return [bk.bar for _, bk in sorted(b.items()) if bk.bar is not None]

    def bar_at(self, instrument: str, interval: str, t: int) -> Bar | None:
        """The bar of ``interval`` containing instant ``t``, if any trade fell in it."""
        start = self._start(instrument, interval, t)
        bk = self._buckets.get((instrument, interval), {}).get(start)
        return None if bk is None else bk.bar

    # -- alignment -------------------------------------------------------------------------------
    def _venue_sessions(self, venue: str) -> VenueSessions:
        s = self._sessions.get(venue)
        if s is None:
            s = self._given.get(venue)
            if s is None:
                vz = self._zones.get(venue, VenueZone())
                s = ZoneSessions(vz.tz, vz.day_start)
            self._sessions[venue] = s
            self._zone[venue] = ZoneInfo(s.tz)
        return s

    def _offset(self, venue: str, t: int) -> int:
        key = (venue, t // _OFFSET_BLOCK)
        off = self._offsets.get(key)
        if off is None:
            self._venue_sessions(venue)
            delta = self._zone[venue].utcoffset(datetime.fromtimestamp(t // 10**9, UTC))
            assert delta is not None
            off = self._offsets[key] = delta // timedelta(microseconds=1) * 1000
        return off

    def _start(self, instrument: str, interval: str, t: int) -> int:
        venue = self.venue_of.get(instrument, "")
        if interval == "1d":
            d = self._venue_sessions(venue).trade_date(t)
            midnight = datetime(d.year, d.month, d.day, tzinfo=self._zone[venue])
            return from_datetime(midnight)
        size = BAR_INTERVALS[interval]
        off = self._offset(venue, t)
        local = t + off
        return local - local % size - off

    # -- fold ------------------------------------------------------------------------------------
    @on_event("InstrumentListed")
    def _listed(self, ev: LoggedEvent) -> None:
        inst = ev.record.instrument  # type: ignore[attr-defined]
        self.venue_of[inst.id] = inst.venue

    @on_event("TradeExecuted")
    def _trade(self, ev: LoggedEvent) -> None:
        r = ev.record
        self._add(r.trade_id, r.instrument, r.time, ev.seq, r.price, r.qty)  # type: ignore[attr-defined]

    @on_event("LateTradeReported")
    def _late(self, ev: LoggedEvent) -> None:
        r = ev.record
        self._add(-r.report_id, r.instrument, r.trade_time, ev.seq, r.price, r.qty)  # type: ignore[attr-defined]

    @on_event("TradeBusted")
    def _busted(self, ev: LoggedEvent) -> None:
        t = self._trades.pop(ev.record.trade_id, None)  # type: ignore[attr-defined]
        if t is None:
            return
        for bk in t.buckets:
            bk.keys.remove(ev.record.trade_id)  # type: ignore[attr-defined]
            self._recompute(bk)

    @on_event("TradeCorrected")
    def _corrected(self, ev: LoggedEvent) -> None:
        t = self._trades.get(ev.record.trade_id)  # type: ignore[attr-defined]
        if t is None:
            return
        t.price = ev.record.price  # type: ignore[attr-defined]
        t.qty = ev.record.qty  # type: ignore[attr-defined]
        for bk in t.buckets:
            self._recompute(bk)

    def _add(self, key: int, instrument: str, time: int, seq: int, price: int, qty: int) -> None:
        t = _Trade(instrument, time, seq, price, qty)
        self._trades[key] = t
        venue = self.venue_of.get(instrument, "")
        trade_date = ""
        for iv in self.intervals:
            start = self._start(instrument, iv, time)
            per = self._buckets.get((instrument, iv))
            if per is None:
                per = self._buckets[(instrument, iv)] = {}
            bk = per.get(start)
            if bk is None:
                bk = per[start] = _Bucket()
            bk.keys.append(key)
            t.buckets.append(bk)
            b = bk.bar
            if b is not None and (time, seq) > bk.last:
                bk.bar = msgspec.structs.replace(
                    b,
                    high=max(b.high, price),
                    low=min(b.low, price),
                    close=price,
                    volume=b.volume + qty,
                    trades=b.trades + 1,
                )
                bk.last = (time, seq)
            elif b is not None:
                self._recompute(bk)  # a late trade inside the bar: its open may change
            else:
                if not trade_date:
                    trade_date = self._venue_sessions(venue).trade_date(time).isoformat()
                bk.bar = Bar(instrument, iv, start, trade_date, price, price, price, price, qty, 1)
                bk.last = (time, seq)

    def _recompute(self, bk: _Bucket) -> None:
        if not bk.keys:
            bk.bar = None
            bk.last = (-1, -1)
            return
        trades = sorted((self._trades[k] for k in bk.keys), key=lambda t: (t.time, t.seq))
        old = bk.bar
        assert old is not None
        first, last = trades[0], trades[-1]
        bk.bar = Bar(
            old.instrument,
            old.interval,
            old.start,
            old.trade_date,
            first.price,
            max(t.price for t in trades),
            min(t.price for t in trades),
            last.price,
            sum(t.qty for t in trades),
            len(trades),
        )
        bk.last = (last.time, last.seq)


SESSIONS: dict[str, VenueSessions] = {}
"""Venue sessions a host process may register (``SESSIONS["XTKS"] = venue_calendar("XTKS")``)
before building a system; bars of venues not named here use the configured zone and day start."""


@contextmanager
def venue_sessions(sessions: Mapping[str, VenueSessions]) -> Iterator[None]:
    """Register ``sessions`` in ``SESSIONS`` for the systems built inside the block only (the
    bar projection copies them when it is made), so one run's calendars never leak into another
    system built later in the same process."""
    saved = dict(SESSIONS)
    SESSIONS.update(sessions)
    try:
        yield
    finally:
        SESSIONS.clear()
        SESSIONS.update(saved)


def bar_projection(config: PricingConfig) -> BarProjection:
    return BarProjection(config.bars, sessions=SESSIONS, zones=config.venues)
