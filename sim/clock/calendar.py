"""Venue calendars: sessions, phases, trade dates and business days for one venue.

A venue's day is a ``Session``: a trade date and the ordered phase ``Transition`` s that make it up
(pre-open, auctions, continuous, breaks, close). Every answer is derived from those transitions, so
``phase``, ``is_open``, ``trade_date`` and the session scheduler can never disagree.

Times are ``int`` nanoseconds UTC. Backends (``exchange_calendars``, TOML rule files) only say which
dates are business days and build the session of one trade date; ``VenueCalendar`` does the rest and
caches per-chunk transition arrays so a phase lookup is one ``bisect``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from system.clock import NS_PER_SECOND, from_datetime, iso, to_datetime
from system.engine.phases import Phase

NS_PER_DAY = 86_400 * NS_PER_SECOND
# Phase lookups are cached per chunk of 2**52 ns (about 52 days) of UTC time.
_CHUNK_BITS = 52
# A session starts at most two days before its trade date and ends at most two days after it
# (checked when a venue is loaded), so these margins find every session touching a chunk.
_MARGIN = timedelta(days=4)

TRADING_PHASES: frozenset[Phase] = frozenset(
    {Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION}
)


class CalendarError(Exception):
    """A calendar question that has no answer (unknown venue, bad file, outside the horizon)."""


class CalendarHorizonError(CalendarError):
    """The date lies outside the span this calendar answers for; it never guesses beyond it."""


class UnknownVenue(CalendarError):
    """No shipped profile, venue file or exchange_calendars code has this name."""


@dataclass(frozen=True, slots=True)
class Transition:
    """The venue enters ``phase`` at ``at`` (ns UTC). Same-instant transitions keep list order."""

    at: int
    phase: Phase


@dataclass(frozen=True, slots=True)
class Session:
    """One trade date of one venue.

    ``open`` is the first entry into a trading phase (an auction or continuous), ``close`` the
    final entry into CLOSED; ``breaks`` are the non-trading stretches in between (a lunch break
    including its pre-open). ``projected`` means the date lies beyond the calendar's published
    holidays: the weekly rules were applied but an unannounced holiday may still appear.
    """

    venue: str
    trade_date: date
    tz: str
    open: int
    close: int
    breaks: tuple[tuple[int, int], ...]
    transitions: tuple[Transition, ...]
    kind: str = "regular"
    projected: bool = False

    def contains(self, t: int) -> bool:
        return self.transitions[0].at <= t < self.close

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with every time in the venue zone, in UTC and as ns."""

        def stamp(t: int) -> dict[str, Any]:
            return {"local": iso(t, self.tz), "utc": iso(t), "ns": t}

        return {
            "venue": self.venue,
            "trade_date": self.trade_date.isoformat(),
            "tz": self.tz,
            "kind": self.kind,
            "projected": self.projected,
            "open": stamp(self.open),
            "close": stamp(self.close),
            "breaks": [{"start": stamp(a), "end": stamp(b)} for a, b in self.breaks],
            "transitions": [{"phase": str(tr.phase), **stamp(tr.at)} for tr in self.transitions],
        }


def make_session(
    venue: str,
    trade_date: date,
    tz: str,
    transitions: tuple[Transition, ...],
    *,
    kind: str = "regular",
    projected: bool = False,
) -> Session:
    """Derive open, close and breaks from ``transitions`` (which must end in CLOSED)."""
    open_ = -1
    breaks: list[tuple[int, int]] = []
    break_start = -1
    for tr in transitions:
        trading = tr.phase in TRADING_PHASES
        if trading:
            if open_ < 0:
                open_ = tr.at
            elif break_start >= 0:
                if tr.at > break_start:
                    breaks.append((break_start, tr.at))
                break_start = -1
        elif open_ >= 0 and break_start < 0 and tr.phase is not Phase.CLOSED:
            break_start = tr.at
    close = transitions[-1].at
    return Session(venue, trade_date, tz, open_, close, tuple(breaks), transitions, kind, projected)


@dataclass(slots=True)
class _Chunk:
    lo: int
    hi: int
    times: list[int]
    phases: list[Phase]
    sessions: list[Session]
    opens: list[int]
    closes: list[int]


class VenueCalendar(ABC):
    """The queries every venue answers. Subclasses supply business days and one session's build.

    Answers cover trade dates ``first`` .. ``last`` (the horizon); outside it every query raises
    ``CalendarHorizonError``. Dates after ``known_until`` are answered from the rules and the
    sessions say ``projected=True``.
    """

    code: str
    tz: str
    first: date
    last: date
    known_until: date
    source: str = ""

    def __init__(self) -> None:
        self._sessions: dict[date, Session | None] = {}
        self._chunks: dict[int, _Chunk] = {}
        self._hot = _Chunk(0, 0, [], [], [], [], [])
        # Instants are answered from local midnight of `first` to local midnight after `last`.
        zone = ZoneInfo(self.tz)
        self._lo_ns = from_datetime(datetime.combine(self.first, time(0), tzinfo=zone))
        end = self.last + timedelta(days=1)
        self._hi_ns = from_datetime(datetime.combine(end, time(0), tzinfo=zone))

    # -- what a backend supplies ----------------------------------------------------------------
    @abstractmethod
    def _is_business_day(self, d: date) -> bool:
        """Whether ``d`` (inside the horizon) has a session."""

    @abstractmethod
    def _build_session(self, d: date) -> Session:
        """The session of business day ``d``."""

    # -- dates ----------------------------------------------------------------------------------
    def _check_date(self, d: date) -> None:
        if d < self.first or d > self.last:
            raise CalendarHorizonError(
                f"{self.code}: {d.isoformat()} is outside this calendar's horizon "
                f"{self.first.isoformat()}..{self.last.isoformat()}"
            )

    def _check_time(self, t: int) -> None:
        if t < self._lo_ns or t >= self._hi_ns:
            raise CalendarHorizonError(
                f"{self.code}: {iso(t)} is outside this calendar's horizon "
                f"{self.first.isoformat()}..{self.last.isoformat()} ({self.tz})"
            )

    def is_business_day(self, d: date) -> bool:
        """Whether ``d`` is a trade date of this venue."""
        self._check_date(d)
        return self._is_business_day(d)

    def is_projected(self, d: date) -> bool:
        """Whether answers for ``d`` come from rules beyond the published holidays."""
        return d > self.known_until

    def next_business_day(self, d: date) -> date:
        return self.add_business_days(d, 1)

    def previous_business_day(self, d: date) -> date:
        return self.add_business_days(d, -1)

    def add_business_days(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d`` (before it if ``n`` < 0). ``n == 0`` rolls a
        non-business day forward to the next business day."""
        self._check_date(d)
        step = timedelta(days=1 if n >= 0 else -1)
        if n == 0:
            while not self.is_business_day(d):
                d += step
            return d
        left = abs(n)
        while left:
            d += step
            if self.is_business_day(d):
                left -= 1
        return d

    def subtract_business_days(self, d: date, n: int) -> date:
        return self.add_business_days(d, -n)

    def business_days(self, from_date: date, to_date: date) -> list[date]:
        """Business days from ``from_date`` to ``to_date`` inclusive."""
        self._check_date(from_date)
        self._check_date(to_date)
        out: list[date] = []
        d = from_date
        while d <= to_date:
            if self._is_business_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out

    # -- sessions -------------------------------------------------------------------------------
    def session(self, d: date) -> Session | None:
        """The session with trade date ``d``, or None on a non-business day."""
        try:
            return self._sessions[d]
        except KeyError:
            pass
        self._check_date(d)
        s = self._build_session(d) if self._is_business_day(d) else None
        self._sessions[d] = s
        return s

    def sessions(self, from_date: date, to_date: date) -> list[Session]:
        """Sessions with trade dates from ``from_date`` to ``to_date`` inclusive, in order."""
        self._check_date(from_date)
        self._check_date(to_date)
        out: list[Session] = []
        d = from_date
        while d <= to_date:
            s = self.session(d)
            if s is not None:
                out.append(s)
            d += timedelta(days=1)
        return out

    def _sessions_clipped(self, d0: date, d1: date) -> list[Session]:
        return self.sessions(max(d0, self.first), min(d1, self.last))

    # -- instants -------------------------------------------------------------------------------
    def _chunk(self, t: int) -> _Chunk:
        self._check_time(t)
        k = t >> _CHUNK_BITS
        c = self._chunks.get(k)
        if c is None:
            lo, hi = k << _CHUNK_BITS, (k + 1) << _CHUNK_BITS
            d0 = to_datetime(lo).date() - _MARGIN
            d1 = to_datetime(hi).date() + _MARGIN
            sessions = self._sessions_clipped(d0, d1)
            # A stable sort keeps same-instant transitions in session and list order.
            merged = sorted((tr for s in sessions for tr in s.transitions), key=lambda tr: tr.at)
            times = [tr.at for tr in merged]
            phases = [tr.phase for tr in merged]
            c = _Chunk(
                max(lo, self._lo_ns),
                min(hi, self._hi_ns),
                times,
                phases,
                sessions,
                [s.open for s in sessions],
                [s.close for s in sessions],
            )
            self._chunks[k] = c
        self._hot = c
        return c

    def phase(self, t: int) -> Phase:
        """The phase at ``t``: the last transition at or before ``t`` (CLOSED between sessions)."""
        c = self._hot
        if not c.lo <= t < c.hi:
            c = self._chunk(t)
        i = bisect_right(c.times, t) - 1
        return c.phases[i] if i >= 0 else Phase.CLOSED

    def is_open(self, t: int) -> bool:
        """Whether orders can trade at ``t`` (an auction or continuous trading)."""
        return self.phase(t) in TRADING_PHASES

    def session_at(self, t: int) -> Session | None:
        """The session whose transitions span ``t`` (pre-open to close), or None if closed."""
        s = self._session_after(t, closes=True)
        return s if s is not None and s.contains(t) else None

    def trade_date(self, t: int) -> date:
        """The trade date that business done at ``t`` belongs to: the session in progress, or
        between sessions the next one (after a close the date has rolled)."""
        s = self._session_after(t, closes=True)
        if s is None:
            raise CalendarHorizonError(f"{self.code}: no session after {iso(t)} before {self.last}")
        return s.trade_date

    def next_open(self, t: int) -> int:
        """The first session open strictly after ``t``."""
        s = self._session_after(t, closes=False)
        if s is None:
            raise CalendarHorizonError(f"{self.code}: no open after {iso(t)} before {self.last}")
        return s.open

    def next_close(self, t: int) -> int:
        """The first session close strictly after ``t``."""
        s = self._session_after(t, closes=True)
        if s is None:
            raise CalendarHorizonError(f"{self.code}: no close after {iso(t)} before {self.last}")
        return s.close

    def previous_close(self, t: int) -> int:
        """The last session close at or before ``t``."""
        c = self._chunk(t)
        i = bisect_right(c.closes, t) - 1
        if i >= 0:
            return c.closes[i]
        d = to_datetime(t).date() - _MARGIN
        while d >= self.first:
            s = self.session(d)
            if s is not None and s.close <= t:
                return s.close
            d -= timedelta(days=1)
        raise CalendarHorizonError(f"{self.code}: no close before {iso(t)} after {self.first}")

    def _session_after(self, t: int, *, closes: bool) -> Session | None:
        c = self._chunk(t)
        keys = c.closes if closes else c.opens
        i = bisect_right(keys, t)
        if i < len(keys):
            return c.sessions[i]
        # A holiday longer than the chunk margin: walk forward day by day.
        d = to_datetime(t).date() - timedelta(days=2)
        while d <= self.last:
            s = self.session(d) if d >= self.first else None
            if s is not None and (s.close if closes else s.open) > t:
                return s
            d += timedelta(days=1)
        return None

    def transitions(self, t0: int, t1: int) -> list[tuple[Transition, Session]]:
        """Every transition with ``t0 <= at < t1`` and its session, in firing order."""
        d0 = to_datetime(t0).date() - _MARGIN
        d1 = to_datetime(t1).date() + _MARGIN
        found = [
            (tr, s)
            for s in self._sessions_clipped(d0, d1)
            for tr in s.transitions
            if t0 <= tr.at < t1
        ]
        found.sort(key=lambda p: p[0].at)  # stable: same-instant transitions keep their order
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code} {self.tz} {self.first}..{self.last}>"
