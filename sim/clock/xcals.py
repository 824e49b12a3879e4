"""Any ``exchange_calendars`` calendar as a ``VenueCalendar``.

``exchange_calendars`` fixes its default date range when it is imported (about 20 years back and one
year ahead), so this adapter always passes explicit bounds: by default 2000-01-01 to 2035-12-31, far
enough for time travel. The library knows opens, closes and lunch breaks but not auctions, so the
phases are CONTINUOUS between open and close, BREAK in the break and CLOSED otherwise (the shipped
TOML profiles add pre-open and auctions where we know them).

Some calendars (XSHG, XSES, XBOM) carry holidays only to a fixed year and refuse any range past it.
The library is asked only within the calendar's own bounds; later dates are projected: the weekdays
it trades, the times of its last regular session, and the fixed-date holidays it kept in each of its
last three years. Lunar and other moving holidays are not projected: those dates show as sessions,
flagged projected like every date past ``known_until``.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sim.clock.calendar import (
    CalendarHorizonError,
    Session,
    Transition,
    UnknownVenue,
    VenueCalendar,
    make_session,
)
from system.clock import from_datetime, to_datetime
from system.engine.phases import Phase

DEFAULT_FIRST = date(2000, 1, 1)
DEFAULT_LAST = date(2035, 12, 31)
# exchange_calendars 4.13 encodes holidays as rules plus the ad-hoc closures announced before its
# release; we treat its answers as published through the end of 2026 and as projected after that
# (a typhoon day, a new national holiday or a state funeral is only known when it is announced).
XCALS_KNOWN_UNTIL = date(2026, 12, 31)


def xcals_names() -> list[str]:
    """Every calendar code exchange_calendars knows, sorted."""
    import exchange_calendars as xcals

    return sorted(xcals.get_calendar_names(include_aliases=True))


@cache
def library_bounds(code: str) -> tuple[date | None, date | None]:
    """The first and last dates ``code``'s holidays are recorded for (None: no limit)."""
    import exchange_calendars as xcals

    dispatcher = xcals.calendar_utils.global_calendar_dispatcher
    # The factory classes carry the bounds; the dispatcher exposes no public way to the class.
    factory = getattr(dispatcher, "_calendar_factories", {}).get(dispatcher.resolve_alias(code))
    if factory is None:
        return None, None
    lo, hi = factory.bound_min(), factory.bound_max()
    return (None if lo is None else lo.date()), (None if hi is None else hi.date())


@cache
def load_xcals(code: str, first: date, last: date) -> Any:
    """The library's calendar for ``code`` over explicit bounds (cached: building one costs ~0.1 s)."""
    import exchange_calendars as xcals

    if code not in xcals.get_calendar_names(include_aliases=True):
        raise UnknownVenue(f"{code!r} is not an exchange_calendars code")
    with warnings.catch_warnings():
        # The library warns about its own use of pandas 3 internals; not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return xcals.get_calendar(code, start=first.isoformat(), end=last.isoformat())
        except ValueError as e:  # bounds before the library's first supported date, and similar
            raise CalendarHorizonError(f"{code}: exchange_calendars refuses {first}..{last}: {e}") from e


def _ns_column(schedule: Any, col: str) -> list[int | None]:
    values = schedule[col]
    mask = values.isna().to_numpy()
    ns = values.to_numpy(dtype="datetime64[ns]").astype("int64")
    return [None if m else int(v) for v, m in zip(ns, mask, strict=True)]


class XcalsCalendar(VenueCalendar):
    """An exchange_calendars calendar by code: ``XcalsCalendar("XNYS")``."""

    def __init__(
        self,
        code: str,
        *,
        first: date = DEFAULT_FIRST,
        last: date = DEFAULT_LAST,
        known_until: date = XCALS_KNOWN_UNTIL,
        name: str | None = None,
    ) -> None:
        lo, hi = library_bounds(code)
        lib_first = max(first, lo) if lo is not None else first
        lib_last = min(last, hi) if hi is not None else last
        cal = load_xcals(code, lib_first, lib_last)
        self.code = name or code
        self.tz = str(cal.tz)
        # The horizon starts at the first date asked for, not at the first session: a holiday as
        # the first date is a date without a session, not outside the calendar.
        self.first = lib_first
        self.last = last
        self.known_until = min(known_until, lib_last)
        self.source = f"exchange_calendars {code}"
        self.xcals = cal
        schedule = cal.schedule
        dates = [ts.date() for ts in schedule.index]
        opens = _ns_column(schedule, "open")
        closes = _ns_column(schedule, "close")
        bstarts = _ns_column(schedule, "break_start")
        bends = _ns_column(schedule, "break_end")
        self._rows: dict[date, tuple[int, int, int | None, int | None]] = {
            d: (o, c, bs, be)  # type: ignore[misc]
            for d, o, c, bs, be in zip(dates, opens, closes, bstarts, bends, strict=True)
        }
        self._early = {ts.date() for ts in cal.early_closes}
        self._late_open = {ts.date() for ts in cal.late_opens}
        self._lib_last = lib_last
        self._projection = _Projection(self._rows, self._early | self._late_open, self.tz, lib_last)
        super().__init__()

    def is_early_close(self, d: date) -> bool:
        """Whether the library closes ``d`` early (a half day)."""
        return d in self._early

    def _is_business_day(self, d: date) -> bool:
        if d > self._lib_last:
            return self._projection.is_business_day(d)
        return d in self._rows

    def _build_session(self, d: date) -> Session:
        o, c, bs, be = self._rows[d] if d <= self._lib_last else self._projection.row(d)
        trs = [Transition(o, Phase.CONTINUOUS)]
        if bs is not None and be is not None:
            trs += [Transition(bs, Phase.BREAK), Transition(be, Phase.CONTINUOUS)]
        trs.append(Transition(c, Phase.CLOSED))
        kind = "early_close" if d in self._early else "late_open" if d in self._late_open else "regular"
        return make_session(
            self.code, d, self.tz, tuple(trs), kind=kind, projected=self.is_projected(d)
        )


class _Projection:
    """Sessions past the library's last recorded year, from what its last years looked like."""

    YEARS = 5

    def __init__(
        self,
        rows: dict[date, tuple[int, int, int | None, int | None]],
        special: set[date],
        tz: str,
        last_known: date,
    ) -> None:
        self.zone = ZoneInfo(tz)
        recent = [d for d in rows if d.year > last_known.year - self.YEARS]
        self.weekdays = {d.weekday() for d in recent}
        regular = [d for d in sorted(recent) if d not in special]
        self.times: tuple[time, time, time | None, time | None] | None = None
        if regular:
            o, c, bs, be = rows[regular[-1]]
            self.times = (
                self._local(o),
                self._local(c),
                None if bs is None else self._local(bs),
                None if be is None else self._local(be),
            )
        # Month-days closed on every weekday occurrence in the last years (1 January, 1 May...).
        closed: dict[tuple[int, int], list[bool]] = {}
        for y in range(last_known.year - self.YEARS + 1, last_known.year + 1):
            d = date(y, 1, 1)
            while d.year == y:
                if d.weekday() in self.weekdays:
                    closed.setdefault((d.month, d.day), []).append(d not in rows)
                d += timedelta(days=1)
        self.holidays = {md for md, seen in closed.items() if len(seen) >= 3 and all(seen)}

    def _local(self, ns: int) -> time:
        return to_datetime(ns, self.zone).time()

    def is_business_day(self, d: date) -> bool:
        if self.times is None or d.weekday() not in self.weekdays:
            return False
        return (d.month, d.day) not in self.holidays

    def row(self, d: date) -> tuple[int, int, int | None, int | None]:
        assert self.times is not None
        o, c, bs, be = self.times

        def at(t: time | None) -> int | None:
            return None if t is None else from_datetime(datetime.combine(d, t, tzinfo=self.zone))

        return at(o), at(c), at(bs), at(be)  # type: ignore[return-value]
