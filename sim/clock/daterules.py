"""Holiday and half-day rules: "the fourth Thursday of November", "Easter minus two days",
"1 January, moved to the nearest weekday". Pure date arithmetic, no time zones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.easter import easter

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
OBSERVANCES = ("none", "nearest_weekday", "sunday_to_monday", "next_weekday")


@dataclass(frozen=True, slots=True)
class DateRule:
    """One yearly date. Exactly one of: ``month``+``day``; ``month``+``weekday``+``nth``;
    ``easter`` (days from Easter Sunday). ``offset`` days are added after, then ``observance``
    moves a weekend date. ``kind`` names the timetable of a half day."""

    name: str
    month: int | None = None
    day: int | None = None
    weekday: int | None = None  # 0 = Monday
    nth: int | None = None  # 1..5, or -1 for the last
    easter: int | None = None
    offset: int = 0
    observance: str = "none"
    from_year: int | None = None
    to_year: int | None = None
    kind: str = "half"

    def on(self, year: int) -> date | None:
        """The date this rule gives in ``year``, or None outside its years."""
        if (self.from_year is not None and year < self.from_year) or (
            self.to_year is not None and year > self.to_year
        ):
            return None
        if self.easter is not None:
            d = easter(year) + timedelta(days=self.easter)
        elif self.weekday is not None and self.nth is not None and self.month is not None:
            d = _nth_weekday(year, self.month, self.weekday, self.nth)
        elif self.month is not None and self.day is not None:
            d = date(year, self.month, self.day)
        else:  # the loader refuses such rules; this guards direct construction
            raise ValueError(f"rule {self.name!r} names no date")
        d += timedelta(days=self.offset)
        return _observe(d, self.observance)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-nth - 1))


def _observe(d: date, observance: str) -> date:
    wd = d.weekday()
    if observance == "nearest_weekday":
        return d - timedelta(days=1) if wd == 5 else d + timedelta(days=1) if wd == 6 else d
    if observance == "sunday_to_monday":
        return d + timedelta(days=1) if wd == 6 else d
    if observance == "next_weekday":
        return d + timedelta(days=7 - wd) if wd >= 5 else d
    return d
