"""Invariants every venue calendar keeps, checked on random instants 2020-2032."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.clock import TRADING_PHASES, venue_calendar
from system.clock import from_datetime
from system.engine.phases import Phase

VENUES = ["XTKS", "CME", "FX-JP", "CRYPTO", "XNYS", "XHKG"]
LO = from_datetime(datetime(2020, 1, 6, tzinfo=UTC))
HI = from_datetime(datetime(2032, 12, 1, tzinfo=UTC))
instants = st.integers(min_value=LO, max_value=HI)
venues = st.sampled_from(VENUES)


@settings(max_examples=300, deadline=None)
@given(venues, instants)
def test_phase_agrees_with_sessions(venue: str, t: int) -> None:
    """is_open, phase, session_at and trade_date tell one consistent story."""
    cal = venue_calendar(venue)
    phase = cal.phase(t)
    assert cal.is_open(t) == (phase in TRADING_PHASES)
    s = cal.session_at(t)
    if s is None:
        assert phase is Phase.CLOSED
    else:
        assert s.contains(t) and cal.trade_date(t) == s.trade_date
        assert cal.is_business_day(s.trade_date)
    assert cal.next_close(t) > t
    nxt = cal.next_open(t)
    assert nxt > t and cal.is_open(nxt)


@settings(max_examples=200, deadline=None)
@given(venues, instants, st.integers(min_value=0, max_value=10 * 86_400 * 10**9))
def test_trade_date_never_goes_back(venue: str, t: int, dt: int) -> None:
    """Later instants never have an earlier trade date."""
    cal = venue_calendar(venue)
    assert cal.trade_date(t) <= cal.trade_date(t + dt)


@settings(max_examples=200, deadline=None)
@given(venues, st.dates(min_value=date(2020, 1, 6), max_value=date(2032, 11, 1)), st.integers(-30, 30))
def test_business_day_arithmetic_round_trips(venue: str, d: date, n: int) -> None:
    """Adding then subtracting n business days returns to the (rolled) business day."""
    cal = venue_calendar(venue)
    start = cal.add_business_days(d, 0)
    there = cal.add_business_days(start, n)
    assert cal.is_business_day(there)
    assert cal.subtract_business_days(there, n) == start
    span = cal.business_days(min(start, there), max(start, there))
    assert len(span) == abs(n) + 1
    assert start - d < timedelta(days=15)
