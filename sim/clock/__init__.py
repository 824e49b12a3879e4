"""The virtual clock, venue calendars, session scheduling and time travel.

    from sim.clock import venue_calendar
    xtks = venue_calendar("XTKS")          # shipped profile; "XNYS" etc. via exchange_calendars
    xtks.phase(t_ns), xtks.trade_date(t_ns), xtks.sessions(date(2031, 12, 1), date(2031, 12, 31))
"""

from sim.clock.calendar import (
    TRADING_PHASES,
    CalendarError,
    CalendarHorizonError,
    Session,
    Transition,
    UnknownVenue,
    VenueCalendar,
)
from sim.clock.registry import shipped_profiles, venue_calendar
from sim.clock.rules import RuleCalendar
from sim.clock.venuefile import VenueFileError, read_venue_file
from sim.clock.virtual import ClockError, Timer, VirtualClock

__all__ = [
    "TRADING_PHASES",
    "CalendarError",
    "CalendarHorizonError",
    "ClockError",
    "RuleCalendar",
    "Session",
    "Timer",
    "Transition",
    "UnknownVenue",
    "VenueCalendar",
    "VenueFileError",
    "VirtualClock",
    "read_venue_file",
    "shipped_profiles",
    "venue_calendar",
]
