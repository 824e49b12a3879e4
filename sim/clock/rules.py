"""Calendars built from session rules (a ``VenueSpec``): TSE with its auctions, CME Globex, FX,
crypto and any venue QA declare in TOML.

A trade date is a business day when its weekday is in the weekly pattern and it is not a holiday
(listed, given by a rule, or taken from an exchange_calendars calendar with ``holidays_from``).
Its session is the timetable of its kind (``regular`` or a half-day kind) in force on that date,
each local time placed on the trade date plus the transition's day offset, so a Globex session
opening at 17:00 the evening before carries the next day's trade date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sim.clock.calendar import Session, Transition, VenueCalendar, make_session
from sim.clock.venuefile import Timetable, VenueSpec
from system.clock import from_datetime


class RuleCalendar(VenueCalendar):
    """A venue whose sessions come from rules rather than a library."""

    def __init__(self, spec: VenueSpec, *, first: date | None = None, last: date | None = None) -> None:
        self.spec = spec
        self.code = spec.code
        self.tz = spec.tz
        self._zone = ZoneInfo(spec.tz)
        self.first = first or spec.first
        self.last = last or spec.last
        self.source = spec.source
        self._xcals = None
        known = spec.known_until or self.last
        if spec.holidays_from is not None:
            from sim.clock.xcals import XCALS_KNOWN_UNTIL, XcalsCalendar

            self._xcals = XcalsCalendar(spec.holidays_from, first=self.first, last=self.last)
            known = min(known, XCALS_KNOWN_UNTIL)
        self.known_until = known
        self._years: dict[int, tuple[frozenset[date], dict[date, str]]] = {}
        super().__init__()

    def _year(self, y: int) -> tuple[frozenset[date], dict[date, str]]:
        """Holidays and half days (date -> timetable kind) of year ``y``, computed once."""
        got = self._years.get(y)
        if got is None:
            spec = self.spec
            hol = {d for d in spec.holidays if d.year == y}
            # Observance and offsets can move a rule's date across New Year (1 January on a
            # Saturday observed on 31 December), so rules of the neighbouring years count too.
            for rule in spec.holiday_rules:
                for ry in (y - 1, y, y + 1):
                    d = rule.on(ry)
                    if d is not None and d.year == y:
                        hol.add(d)
            half = {d: k for d, k in spec.half_days if d.year == y}
            for rule in spec.half_day_rules:
                for ry in (y - 1, y, y + 1):
                    d = rule.on(ry)
                    if d is not None and d.year == y and d not in half:
                        half[d] = rule.kind
            got = (frozenset(hol), half)
            self._years[y] = got
        return got

    def _is_business_day(self, d: date) -> bool:
        if d.weekday() not in self.spec.weekdays or d in self._year(d.year)[0]:
            return False
        if self._xcals is not None:
            return self._xcals._is_business_day(d)
        return True

    def timetable(self, d: date, kind: str = "regular") -> Timetable:
        """The timetable of ``kind`` in force on trade date ``d`` (latest effective on or before)."""
        best: Timetable | None = None
        for tt in self.spec.timetables:
            if tt.kind == kind and tt.effective <= d and (best is None or tt.effective >= best.effective):
                best = tt
        if best is None:
            if kind != "regular":  # a half day before its kind's first version: a regular day
                return self.timetable(d)
            raise ValueError(f"{self.code}: no regular timetable in force on {d}")
        return best

    def _build_session(self, d: date) -> Session:
        kind = self._year(d.year)[1].get(d, "regular")
        early = self.spec.early_closes_as
        xc = self._xcals
        if kind == "regular" and early is not None and xc is not None and xc.is_early_close(d):
            kind = early
        tt = self.timetable(d, kind)
        zone = self._zone
        trs = tuple(
            Transition(from_datetime(datetime.combine(d + timedelta(days=r.day), r.at, tzinfo=zone)), r.phase)
            for r in tt.transitions
        )
        return make_session(self.code, d, self.tz, trs, kind=tt.kind, projected=self.is_projected(d))
