"""Any ``exchange_calendars`` calendar as a ``VenueCalendar``.

``exchange_calendars`` fixes its default date range when it is imported (about 20 years back and one
year ahead), so this adapter always passes explicit bounds: by default 2000-01-01 to 2035-12-31, far
enough for time travel. The library knows opens, closes and lunch breaks but not auctions, so the
phases are CONTINUOUS between open and close, BREAK in the break and CLOSED otherwise (the shipped
TOML profiles add pre-open and auctions where we know them).
"""

from __future__ import annotations

import warnings
from datetime import date
from functools import cache
from typing import Any

from sim.clock.calendar import (
    CalendarHorizonError,
    Session,
    Transition,
    UnknownVenue,
    VenueCalendar,
    make_session,
)
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
        cal = load_xcals(code, first, last)
        self.code = name or code
        self.tz = str(cal.tz)
        self.first = max(first, cal.first_session.date())
        self.last = last
        self.known_until = known_until
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
        super().__init__()

    def _is_business_day(self, d: date) -> bool:
        return d in self._rows

    def _build_session(self, d: date) -> Session:
        o, c, bs, be = self._rows[d]
        trs = [Transition(o, Phase.CONTINUOUS)]
        if bs is not None and be is not None:
            trs += [Transition(bs, Phase.BREAK), Transition(be, Phase.CONTINUOUS)]
        trs.append(Transition(c, Phase.CLOSED))
        kind = "early_close" if d in self._early else "late_open" if d in self._late_open else "regular"
        return make_session(
            self.code, d, self.tz, tuple(trs), kind=kind, projected=self.is_projected(d)
        )
