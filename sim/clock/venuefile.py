"""Venue files: a venue declared in TOML, read and validated into a ``VenueSpec``.

Every problem is a ``VenueFileError`` naming the file, the key (``timetable[2].transitions[1].at``)
and the bad value, so QA can fix a venue without reading code. The format is documented in
docs/calendars.md; the shipped profiles in sim/clock/venues/ are worked examples.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sim.clock.calendar import CalendarError
from sim.clock.daterules import OBSERVANCES, WEEKDAYS, DateRule
from system.engine.phases import Phase

DEFAULT_FIRST = date(2000, 1, 1)
DEFAULT_LAST = date(2035, 12, 31)
MAX_DAY_OFFSET = 2  # a session may start up to two days before its trade date (checked below)


class VenueFileError(CalendarError):
    """A venue file that cannot be used. ``file``, ``key`` and ``value`` say where and what."""

    def __init__(self, file: str, key: str, value: object, why: str) -> None:
        self.file, self.key, self.value, self.why = file, key, value, why
        super().__init__(f"{file}: {key} = {value!r}: {why}")


@dataclass(frozen=True, slots=True)
class TransitionRule:
    """Enter ``phase`` at local time ``at`` on the trade date plus ``day`` days."""

    at: time
    phase: Phase
    day: int = 0


@dataclass(frozen=True, slots=True)
class Timetable:
    """The day's transitions for trade dates from ``effective`` on (until a later version)."""

    effective: date
    kind: str
    transitions: tuple[TransitionRule, ...]


@dataclass(frozen=True, slots=True)
class VenueSpec:
    code: str
    name: str
    tz: str
    weekdays: frozenset[int]
    timetables: tuple[Timetable, ...]
    holidays: frozenset[date] = frozenset()
    holiday_rules: tuple[DateRule, ...] = ()
    half_days: tuple[tuple[date, str], ...] = ()
    half_day_rules: tuple[DateRule, ...] = ()
    holidays_from: str | None = None
    early_closes_as: str | None = None  # with holidays_from: its early closes are half days of this kind
    first: date = DEFAULT_FIRST
    last: date = DEFAULT_LAST
    known_until: date | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default=())


class _Reader:
    """Typed access to the parsed TOML that raises ``VenueFileError`` with the full key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, value: object, why: str) -> VenueFileError:
        return VenueFileError(self.file, key, value, why)

    def table(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any]:
        v = parent.get(key)
        if v is None and not required:
            return {}
        if not isinstance(v, dict):
            raise self.fail(path, v, "expected a table")
        return v

    def string(self, t: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
        v = t.get(key, default)
        if not isinstance(v, str) or not v:
            raise self.fail(path, v, "expected a non-empty string")
        return v

    def integer(self, t: dict[str, Any], key: str, path: str, default: int | None = None) -> int:
        v = t.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(path, v, "expected an integer")
        return v

    def day(self, v: object, path: str) -> date:
        if isinstance(v, date) and not hasattr(v, "hour"):
            return v
        if isinstance(v, str):
            try:
                return date.fromisoformat(v)
            except ValueError:
                pass
        raise self.fail(path, v, "expected a date YYYY-MM-DD")

    def clock_time(self, v: object, path: str) -> time:
        if isinstance(v, time):
            return v
        if isinstance(v, str):
            try:
                return time.fromisoformat(v)
            except ValueError:
                pass
        raise self.fail(path, v, "expected a local time HH:MM or HH:MM:SS")


def _weekday(r: _Reader, v: object, path: str) -> int:
    if isinstance(v, str) and v.upper()[:3] in WEEKDAYS:
        return WEEKDAYS.index(v.upper()[:3])
    raise r.fail(path, v, f"expected a weekday, one of {', '.join(WEEKDAYS)}")


def _rule(r: _Reader, t: dict[str, Any], path: str, kinds: set[str] | None) -> DateRule:
    known = {"name", "month", "day", "weekday", "nth", "easter", "offset", "observance",
             "from_year", "to_year", "kind"}
    for k in sorted(t):
        if k not in known:
            raise r.fail(f"{path}.{k}", t[k], f"unknown key (known: {', '.join(sorted(known))})")
    name = r.string(t, "name", f"{path}.name", default="unnamed rule")
    month = r.integer(t, "month", f"{path}.month") if "month" in t else None
    if month is not None and not 1 <= month <= 12:
        raise r.fail(f"{path}.month", month, "expected a month 1..12")
    day = r.integer(t, "day", f"{path}.day") if "day" in t else None
    weekday = _weekday(r, t["weekday"], f"{path}.weekday") if "weekday" in t else None
    nth = r.integer(t, "nth", f"{path}.nth") if "nth" in t else None
    if nth is not None and nth not in (1, 2, 3, 4, -1):
        raise r.fail(f"{path}.nth", nth, "expected 1, 2, 3, 4 or -1 (the last)")
    east = r.integer(t, "easter", f"{path}.easter") if "easter" in t else None
    forms = [east is not None, weekday is not None, day is not None]
    if sum(forms) != 1 or (east is None and month is None) or ((weekday is None) != (nth is None)):
        raise r.fail(path, t, "a rule needs exactly one of: month+day, month+weekday+nth, easter")
    if day is not None and month is not None:
        try:
            date(2000, month, day)  # a leap year, so 29 February is accepted
        except ValueError:
            raise r.fail(f"{path}.day", day, f"not a day of month {month}") from None
    observance = r.string(t, "observance", f"{path}.observance", default="none")
    if observance not in OBSERVANCES:
        raise r.fail(f"{path}.observance", observance, f"expected one of {', '.join(OBSERVANCES)}")
    kind = r.string(t, "kind", f"{path}.kind", default="half")
    if kinds is not None and kind not in kinds:
        raise r.fail(f"{path}.kind", kind, f"no timetable of this kind (have: {', '.join(sorted(kinds))})")
    return DateRule(
        name=name, month=month, day=day, weekday=weekday, nth=nth, easter=east,
        offset=r.integer(t, "offset", f"{path}.offset", default=0),
        observance=observance,
        from_year=r.integer(t, "from_year", f"{path}.from_year") if "from_year" in t else None,
        to_year=r.integer(t, "to_year", f"{path}.to_year") if "to_year" in t else None,
        kind=kind,
    )


def _timetable(r: _Reader, t: dict[str, Any], path: str) -> Timetable:
    effective = r.day(t.get("effective"), f"{path}.effective")
    kind = r.string(t, "kind", f"{path}.kind", default="regular")
    raw = t.get("transitions")
    if not isinstance(raw, list) or not raw:
        raise r.fail(f"{path}.transitions", raw, "expected a non-empty list of {at, phase} tables")
    rules: list[TransitionRule] = []
    for i, item in enumerate(raw):
        p = f"{path}.transitions[{i}]"
        if not isinstance(item, dict):
            raise r.fail(p, item, "expected a table {at = \"09:00\", phase = \"CONTINUOUS\"}")
        at = r.clock_time(item.get("at"), f"{p}.at")
        ph = item.get("phase")
        if ph not in Phase.__members__:
            raise r.fail(f"{p}.phase", ph, f"expected one of {', '.join(Phase.__members__)}")
        day = r.integer(item, "day", f"{p}.day", default=0)
        if abs(day) > MAX_DAY_OFFSET:
            raise r.fail(f"{p}.day", day, f"expected a day offset within +-{MAX_DAY_OFFSET}")
        if rules and (day, at) < (rules[-1].day, rules[-1].at):
            raise r.fail(f"{p}.at", item.get("at"), "transitions must be in time order")
        rules.append(TransitionRule(at, Phase[str(ph)], day))
    if rules[-1].phase is not Phase.CLOSED:
        raise r.fail(f"{path}.transitions[{len(rules) - 1}].phase", str(rules[-1].phase),
                     "the last transition must be CLOSED")
    for i, tr in enumerate(rules[:-1]):
        if tr.phase is Phase.CLOSED:
            raise r.fail(f"{path}.transitions[{i}].phase", "CLOSED", "only the last transition may be CLOSED")
    if not any(tr.phase in (Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION) for tr in rules):
        raise r.fail(f"{path}.transitions", "...", "a session needs at least one trading phase")
    return Timetable(effective, kind, tuple(rules))


def _dates_and_rules(
    r: _Reader, raw: object, path: str, kinds: set[str] | None
) -> tuple[list[tuple[date, str]], list[DateRule]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise r.fail(path, raw, "expected a list of dates and rule tables")
    dates: list[tuple[date, str]] = []
    rules: list[DateRule] = []
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        if isinstance(item, dict) and "date" in item:
            kind = r.string(item, "kind", f"{p}.kind", default="half")
            if kinds is not None and kind not in kinds:
                have = ", ".join(sorted(kinds))
                raise r.fail(f"{p}.kind", kind, f"no timetable of this kind (have: {have})")
            dates.append((r.day(item["date"], f"{p}.date"), kind))
        elif isinstance(item, dict):
            rules.append(_rule(r, item, p, kinds))
        else:
            dates.append((r.day(item, p), "half"))
    return dates, rules


def parse_venue(data: dict[str, Any], file: str) -> VenueSpec:
    """Validate parsed TOML ``data`` (read from ``file``) into a ``VenueSpec``."""
    r = _Reader(file)
    v = r.table(data, "venue", "venue")
    code = r.string(v, "code", "venue.code")
    tz = r.string(v, "timezone", "venue.timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("venue.timezone", tz, "unknown time zone (use an IANA name like Asia/Tokyo)") from None
    wd_raw = v.get("weekdays", ["MON", "TUE", "WED", "THU", "FRI"])
    if not isinstance(wd_raw, list) or not wd_raw:
        raise r.fail("venue.weekdays", wd_raw, "expected a non-empty list of weekdays")
    weekdays = frozenset(_weekday(r, w, f"venue.weekdays[{i}]") for i, w in enumerate(wd_raw))
    first = r.day(v.get("first", DEFAULT_FIRST), "venue.first")
    last = r.day(v.get("last", DEFAULT_LAST), "venue.last")
    if last < first:
        raise r.fail("venue.last", last.isoformat(), f"before venue.first {first.isoformat()}")
    known = None
    if "holidays_known_until" in v:
        known = r.day(v["holidays_known_until"], "venue.holidays_known_until")
    holidays_from = r.string(v, "holidays_from", "venue.holidays_from") if "holidays_from" in v else None
    if holidays_from is not None:
        from sim.clock.xcals import xcals_names

        if holidays_from not in xcals_names():
            raise r.fail("venue.holidays_from", holidays_from, "not an exchange_calendars code")

    raw_tts = data.get("timetable")
    if not isinstance(raw_tts, list) or not raw_tts:
        raise r.fail("timetable", raw_tts, "expected at least one [[timetable]]")
    tts = [_timetable(r, t if isinstance(t, dict) else {}, f"timetable[{i}]") for i, t in enumerate(raw_tts)]
    kinds = {t.kind for t in tts}
    if "regular" not in kinds:
        raise r.fail("timetable", sorted(kinds), "needs a timetable of kind 'regular'")
    earliest_regular = min(t.effective for t in tts if t.kind == "regular")
    if earliest_regular > first:
        raise r.fail("timetable.effective", earliest_regular.isoformat(),
                     f"no regular timetable covers venue.first {first.isoformat()}")

    early_as = r.string(v, "early_closes_as", "venue.early_closes_as") if "early_closes_as" in v else None
    if early_as is not None:
        if holidays_from is None:
            raise r.fail("venue.early_closes_as", early_as, "needs venue.holidays_from (whose early closes)")
        if early_as not in kinds:
            raise r.fail("venue.early_closes_as", early_as, f"no timetable of that kind ({sorted(kinds)})")

    hol_dates, hol_rules = _dates_and_rules(r, data.get("holidays"), "holidays", None)
    half_dates, half_rules = _dates_and_rules(r, data.get("half_days"), "half_days", kinds)
    notes_raw = v.get("notes", [])
    notes = tuple(str(n) for n in notes_raw) if isinstance(notes_raw, list) else (str(notes_raw),)
    return VenueSpec(
        code=code,
        name=r.string(v, "name", "venue.name", default=code),
        tz=tz,
        weekdays=weekdays,
        timetables=tuple(sorted(tts, key=lambda t: (t.kind, t.effective))),
        holidays=frozenset(d for d, _ in hol_dates),
        holiday_rules=tuple(hol_rules),
        half_days=tuple(sorted(half_dates)),
        half_day_rules=tuple(half_rules),
        holidays_from=holidays_from,
        early_closes_as=early_as,
        first=first,
        last=last,
        known_until=known,
        source=file,
        notes=notes,
    )


def read_venue_file(path: str | Path) -> VenueSpec:
    """Read and validate one venue file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise VenueFileError(str(p), "(file)", str(p), f"cannot read: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise VenueFileError(str(p), "(syntax)", str(e), "not valid TOML") from None
    return parse_venue(data, str(p))
