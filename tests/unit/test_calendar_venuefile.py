"""Custom venues declared in TOML, and the errors a bad venue file gives."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sim.clock import RuleCalendar, VenueFileError, read_venue_file, shipped_profiles, venue_calendar
from system.clock import from_datetime, to_datetime
from system.engine.phases import Phase

GOOD = """
holidays = [
  2025-03-03,
  { name = "Founders' Day", month = 5, weekday = "MON", nth = 2 },
  { name = "Year end", month = 12, day = 31, observance = "nearest_weekday" },
]
half_days = [
  { date = 2025-12-24, kind = "half" },
  { name = "Day before Founders' Day", month = 5, weekday = "MON", nth = 2, offset = -3, kind = "half" },
]

[venue]
code = "XTST"
name = "Test venue"
timezone = "Europe/Berlin"
weekdays = ["MON", "TUE", "WED", "THU", "FRI"]
first = 2024-01-01
last = 2030-12-31
holidays_known_until = 2025-12-31

[[timetable]]
effective = 2024-01-01
transitions = [
  { at = "08:50", phase = "OPENING_AUCTION" },
  { at = "09:00", phase = "CONTINUOUS" },
  { at = "17:30", phase = "CLOSING_AUCTION" },
  { at = "17:35", phase = "CLOSED" },
]

[[timetable]]
effective = 2025-06-02
transitions = [
  { at = "08:50", phase = "OPENING_AUCTION" },
  { at = "09:00", phase = "CONTINUOUS" },
  { at = "18:00", phase = "CLOSING_AUCTION" },
  { at = "18:05", phase = "CLOSED" },
]

[[timetable]]
effective = 2024-01-01
kind = "half"
transitions = [
  { at = "09:00", phase = "CONTINUOUS" },
  { at = "14:00", phase = "CLOSED" },
]
"""
BERLIN = ZoneInfo("Europe/Berlin")


def write(tmp_path: Path, text: str, name: str = "venue.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def local_close(cal: RuleCalendar, d: date) -> str:
    s = cal.session(d)
    assert s is not None
    return to_datetime(s.close, BERLIN).strftime("%H:%M")


def test_custom_venue_from_toml(tmp_path: Path) -> None:
    """A TOML venue gives holidays by date and rule, half days and versioned timetables."""
    cal = venue_calendar(str(write(tmp_path, GOOD)))
    assert isinstance(cal, RuleCalendar) and cal.code == "XTST"
    assert not cal.is_business_day(date(2025, 3, 3))  # listed
    assert not cal.is_business_day(date(2025, 5, 12))  # 2nd Monday of May
    assert not cal.is_business_day(date(2027, 12, 31))  # Friday
    assert not cal.is_business_day(date(2029, 1, 1))  # 2028-12-31 is a Sunday: observed Monday
    assert local_close(cal, date(2025, 5, 9)) == "14:00"  # Friday before Founders' Day: half day
    assert local_close(cal, date(2025, 12, 24)) == "14:00"
    assert local_close(cal, date(2025, 5, 30)) == "17:35"
    assert local_close(cal, date(2025, 6, 2)) == "18:05"  # new version in force
    t = from_datetime(datetime(2025, 6, 2, 8, 55, tzinfo=BERLIN))
    assert cal.phase(t) is Phase.OPENING_AUCTION
    assert cal.session(date(2026, 1, 5)).projected  # type: ignore[union-attr]


def test_shipped_profiles_are_valid() -> None:
    """Every shipped profile loads and answers for a date."""
    assert shipped_profiles() == ["CME", "CRYPTO", "FX-JP", "XTKS"]
    for code in shipped_profiles():
        assert venue_calendar(code).sessions(date(2025, 6, 2), date(2025, 6, 6))


@pytest.mark.parametrize(
    ("old", "new", "key", "value"),
    [
        ('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlinn"', "venue.timezone", "Europe/Berlinn"),
        ('phase = "CONTINUOUS" },\n  { at = "17:30"', 'phase = "TRADING" },\n  { at = "17:30"',
         "timetable[0].transitions[1].phase", "TRADING"),
        ('{ at = "17:30", phase = "CLOSING_AUCTION" }', '{ at = "07:30", phase = "CLOSING_AUCTION" }',
         "timetable[0].transitions[2].at", "07:30"),
        ('{ at = "17:35", phase = "CLOSED" }', '{ at = "17:35", phase = "BREAK" }',
         "timetable[0].transitions[3].phase", "BREAK"),
        ('"FRI"]', '"FRY"]', "venue.weekdays[4]", "FRY"),
        ('{ date = 2025-12-24, kind = "half" }', '{ date = 2025-12-24, kind = "short" }',
         "half_days[0].kind", "short"),
        ("nth = 2 },", "nth = 7 },", "holidays[1].nth", 7),
        ('at = "09:00", phase = "CONTINUOUS" },\n  { at = "14:00"',
         'at = "9h", phase = "CONTINUOUS" },\n  { at = "14:00"',
         "timetable[2].transitions[0].at", "9h"),
        ("last = 2030-12-31", 'last = "2030-02-30"', "venue.last", "2030-02-30"),
    ],
)
def test_bad_venue_file_names_file_key_and_value(
    tmp_path: Path, old: str, new: str, key: str, value: object
) -> None:
    """A bad venue file raises an error naming the file, the key and the bad value."""
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1), "bad.toml")
    with pytest.raises(VenueFileError) as info:
        read_venue_file(path)
    e = info.value
    assert (e.file, e.key, e.value) == (str(path), key, value)
    assert str(path) in str(e) and key in str(e) and repr(value) in str(e)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A file that is not TOML at all is reported with its name."""
    path = write(tmp_path, "[venue\ncode = 1", "broken.toml")
    with pytest.raises(VenueFileError, match=r"broken\.toml"):
        read_venue_file(path)
