"""Finding a venue's calendar by name: a shipped profile, a venue file path, or an
exchange_calendars code."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from sim.clock.calendar import UnknownVenue, VenueCalendar
from sim.clock.rules import RuleCalendar
from sim.clock.venuefile import read_venue_file

VENUES_DIR = Path(__file__).parent / "venues"


def shipped_profiles() -> list[str]:
    """Codes of the profiles shipped in sim/clock/venues/, sorted."""
    return sorted(p.stem for p in VENUES_DIR.glob("*.toml"))


def venue_calendar(name: str, *, first: date | None = None, last: date | None = None) -> VenueCalendar:
    """The calendar called ``name``: a shipped profile (XTKS, CME, FX-JP, CRYPTO), a path to a
    ``.toml`` venue file, or any exchange_calendars code (XNYS, XLON, XHKG, ...). Calendars are
    cached per (name, first, last): build once, query many times."""
    return _cached(name, first, last)


@cache
def _cached(name: str, first: date | None, last: date | None) -> VenueCalendar:
    profile = VENUES_DIR / f"{name.upper()}.toml"
    if profile.is_file():
        return RuleCalendar(read_venue_file(profile), first=first, last=last)
    if name.endswith(".toml"):
        return RuleCalendar(read_venue_file(name), first=first, last=last)
    from sim.clock.xcals import XcalsCalendar, xcals_names

    code = name[len("xcals:"):] if name.startswith("xcals:") else name
    if code.upper() in xcals_names():
        code = code.upper()
    if code in xcals_names():
        kwargs = {k: v for k, v in (("first", first), ("last", last)) if v is not None}
        return XcalsCalendar(code, name=name, **kwargs)
    raise UnknownVenue(
        f"unknown venue {name!r}: not a shipped profile ({', '.join(shipped_profiles())}), "
        "not a .toml venue file, not an exchange_calendars code"
    )
