"""Session types: Tokyo's lunch break and auctions, Globex across midnight, the FX week, crypto
24/7, holidays, half days, daylight saving and dates far in the future."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sim.clock import CalendarHorizonError, venue_calendar
from system.clock import from_datetime, to_datetime
from system.engine.phases import Phase

TOKYO, CHICAGO, NEW_YORK = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Chicago"), ZoneInfo("America/New_York")


def at(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    return from_datetime(datetime(y, mo, d, h, mi, s, tzinfo=zone))


def hm(t: int, zone: ZoneInfo) -> str:
    return to_datetime(t, zone).strftime("%H:%M")


def test_tokyo_day_has_auctions_break_and_closing_auction() -> None:
    """From 2024-11-05 TSE runs 08:00 pre-open to a 15:25-15:30 closing auction, lunch 11:30-12:30."""
    xtks = venue_calendar("XTKS")
    day = (2024, 11, 5)
    expect = {
        (7, 59): Phase.CLOSED, (8, 0): Phase.PRE_OPEN, (9, 0): Phase.CONTINUOUS,
        (11, 29): Phase.CONTINUOUS, (11, 30): Phase.BREAK, (12, 5): Phase.PRE_OPEN,
        (12, 30): Phase.CONTINUOUS, (15, 24): Phase.CONTINUOUS, (15, 25): Phase.CLOSING_AUCTION,
        (15, 29): Phase.CLOSING_AUCTION, (15, 30): Phase.CLOSED,
    }
    for (h, m), phase in expect.items():
        assert xtks.phase(at(TOKYO, *day, h, m)) is phase, f"{h:02d}:{m:02d}"
    assert xtks.is_open(at(TOKYO, *day, 15, 27))
    assert not xtks.is_open(at(TOKYO, *day, 12, 10))
    s = xtks.session(date(*day))
    assert s is not None
    names = [(hm(tr.at, TOKYO), tr.phase) for tr in s.transitions]
    assert names[1:3] == [("09:00", Phase.OPENING_AUCTION), ("09:00", Phase.CONTINUOUS)]
    assert names[3:5] == [("11:30", Phase.CLOSING_AUCTION), ("11:30", Phase.BREAK)]
    assert [(hm(a, TOKYO), hm(b, TOKYO)) for a, b in s.breaks] == [("11:30", "12:30")]


def test_tokyo_timetable_is_versioned_by_effective_date() -> None:
    """Before 2024-11-05 the afternoon closed at 15:00 by a zero-length closing auction."""
    xtks = venue_calendar("XTKS")
    before = xtks.session(date(2024, 11, 1))
    after = xtks.session(date(2024, 11, 5))
    assert before is not None and after is not None
    assert hm(before.close, TOKYO) == "15:00" and hm(after.close, TOKYO) == "15:30"
    assert [tr.phase for tr in before.transitions[-2:]] == [Phase.CLOSING_AUCTION, Phase.CLOSED]
    assert before.transitions[-2].at == before.transitions[-1].at
    assert xtks.phase(at(TOKYO, 2024, 11, 1, 15, 10)) is Phase.CLOSED


def test_dst_week_moves_chicago_but_not_tokyo() -> None:
    """In the week US clocks change, Globex's UTC open moves an hour earlier; Tokyo's does not."""
    cme, xtks = venue_calendar("CME"), venue_calendar("XTKS")
    week = (date(2024, 3, 4), date(2024, 3, 15))
    cme_opens = {s.trade_date: to_datetime(s.open).strftime("%H:%M") for s in cme.sessions(*week)}
    assert cme_opens[date(2024, 3, 8)] == "23:00"  # Thu 17:00 CST
    assert cme_opens[date(2024, 3, 11)] == "22:00"  # Sun 17:00 CDT (DST began 2024-03-10)
    tk_opens = {to_datetime(s.open).strftime("%H:%M") for s in xtks.sessions(*week)}
    assert tk_opens == {"00:00"}
    # The same UTC instant, 22:30, is maintenance before the change and trading after it.
    utc = ZoneInfo("UTC")
    assert cme.phase(at(utc, 2024, 3, 6, 22, 30)) is Phase.CLOSED  # 16:30 CST
    assert cme.phase(at(utc, 2024, 3, 12, 22, 30)) is Phase.CONTINUOUS  # 17:30 CDT
    # Seen from Tokyo, the Globex open moved from 08:00 to 07:00 JST.
    assert hm(cme.next_open(at(TOKYO, 2024, 3, 7, 0, 0)), TOKYO) == "08:00"
    assert hm(cme.next_open(at(TOKYO, 2024, 3, 12, 0, 0)), TOKYO) == "07:00"


def test_globex_session_crosses_midnight_with_next_trade_date() -> None:
    """An evening trade at 23:30 Chicago belongs to the next business day's session."""
    cme = venue_calendar("CME")
    t = at(CHICAGO, 2024, 3, 12, 23, 30)
    assert cme.phase(t) is Phase.CONTINUOUS
    assert cme.trade_date(t) == date(2024, 3, 13)
    s = cme.session_at(t)
    assert s is not None and s.trade_date == date(2024, 3, 13)
    assert to_datetime(s.open, CHICAGO) == datetime(2024, 3, 12, 17, 0, tzinfo=CHICAGO)
    # The daily maintenance window: closed, and the date has already rolled.
    assert cme.phase(at(CHICAGO, 2024, 3, 13, 16, 30)) is Phase.CLOSED
    assert cme.trade_date(at(CHICAGO, 2024, 3, 13, 16, 30)) == date(2024, 3, 14)
    assert cme.phase(at(CHICAGO, 2024, 3, 13, 16, 50)) is Phase.PRE_OPEN
    # Friday's close to Sunday 17:00 is the weekend; Sunday evening trades for Monday.
    assert cme.phase(at(CHICAGO, 2024, 3, 16, 12, 0)) is Phase.CLOSED
    sunday = at(CHICAGO, 2024, 3, 17, 17, 0)
    assert cme.phase(sunday) is Phase.CONTINUOUS and cme.trade_date(sunday) == date(2024, 3, 18)


def test_fx_week_runs_sunday_to_friday_17_new_york() -> None:
    """FX opens Sunday 17:00 New York and closes Friday 17:00 New York."""
    fx = venue_calendar("FX-JP")
    assert fx.phase(at(NEW_YORK, 2024, 6, 14, 16, 59)) is Phase.CONTINUOUS  # Friday
    assert fx.trade_date(at(NEW_YORK, 2024, 6, 14, 16, 59)) == date(2024, 6, 14)
    assert fx.phase(at(NEW_YORK, 2024, 6, 14, 17, 0)) is Phase.CLOSED
    assert fx.phase(at(NEW_YORK, 2024, 6, 15, 12, 0)) is Phase.CLOSED  # Saturday
    assert fx.phase(at(NEW_YORK, 2024, 6, 16, 16, 59)) is Phase.CLOSED  # Sunday afternoon
    sunday = at(NEW_YORK, 2024, 6, 16, 17, 0)
    assert fx.phase(sunday) is Phase.CONTINUOUS and fx.trade_date(sunday) == date(2024, 6, 17)
    assert fx.next_open(at(NEW_YORK, 2024, 6, 14, 17, 0)) == sunday


def test_fx_daily_roll_at_17_new_york() -> None:
    """At 17:00 New York the trade date rolls: CLOSED then CONTINUOUS at the same instant."""
    fx = venue_calendar("FX-JP")
    roll = at(NEW_YORK, 2024, 6, 18, 17, 0)
    assert fx.trade_date(roll - 1) == date(2024, 6, 18)
    assert fx.trade_date(roll) == date(2024, 6, 19)
    assert fx.phase(roll) is Phase.CONTINUOUS and fx.is_open(roll - 1)
    at_roll = [(tr.phase, s.trade_date) for tr, s in fx.transitions(roll, roll + 1)]
    assert at_roll == [(Phase.CLOSED, date(2024, 6, 18)), (Phase.CONTINUOUS, date(2024, 6, 19))]
    # In Tokyo the roll is 06:00 in the US summer and 07:00 in the US winter.
    assert hm(roll, TOKYO) == "06:00"
    assert hm(at(NEW_YORK, 2024, 12, 17, 17, 0), TOKYO) == "07:00"


def test_crypto_trades_every_day_with_a_midnight_utc_cut() -> None:
    """Crypto is open on Saturday and rolls its trade date at 00:00 UTC."""
    crypto = venue_calendar("CRYPTO")
    utc = ZoneInfo("UTC")
    assert crypto.is_business_day(date(2024, 6, 15)) and crypto.is_business_day(date(2024, 12, 25))
    cut = at(utc, 2024, 6, 16)
    assert crypto.trade_date(cut - 1) == date(2024, 6, 15) and crypto.trade_date(cut) == date(2024, 6, 16)
    assert crypto.is_open(cut - 1) and crypto.is_open(cut)
    assert crypto.next_close(cut - 1) == cut


@pytest.mark.parametrize(
    ("venue", "day"),
    [("XTKS", date(2024, 11, 4)), ("CME", date(2024, 11, 28)), ("XNYS", date(2024, 11, 28)),
     ("FX-JP", date(2025, 12, 25)), ("XTKS", date(2020, 10, 1))],
)
def test_holidays_have_no_session(venue: str, day: date) -> None:
    """A holiday is not a business day and has no session."""
    cal = venue_calendar(venue)
    assert not cal.is_business_day(day)
    assert cal.session(day) is None


def test_half_days_close_early() -> None:
    """The day after Thanksgiving closes early: 13:00 on NYSE, 12:15 Chicago on Globex."""
    nyse, cme = venue_calendar("XNYS"), venue_calendar("CME")
    ny = nyse.session(date(2024, 11, 29))
    cm = cme.session(date(2024, 11, 29))
    assert ny is not None and cm is not None
    assert hm(ny.close, NEW_YORK) == "13:00" and ny.kind == "early_close"
    assert hm(cm.close, CHICAGO) == "12:15" and cm.kind == "early"
    assert nyse.phase(at(NEW_YORK, 2024, 11, 29, 14, 0)) is Phase.CLOSED


def test_a_date_in_2031_is_answered_and_flagged_as_projected() -> None:
    """2031-12-31 is a TSE holiday; the answer comes from the rules and says so."""
    xtks = venue_calendar("XTKS")
    assert not xtks.is_business_day(date(2031, 12, 31))
    s = xtks.session(date(2031, 12, 30))
    assert s is not None and s.projected
    t = at(TOKYO, 2031, 12, 31, 10, 0)
    assert xtks.phase(t) is Phase.CLOSED
    assert xtks.trade_date(t) == date(2032, 1, 5)  # 1-3 January closed, then a weekend
    assert xtks.next_business_day(date(2031, 12, 30)) == date(2032, 1, 5)
    assert not venue_calendar("CRYPTO").session(date(2031, 12, 31)).projected  # type: ignore[union-attr]


def test_beyond_the_horizon_raises_instead_of_guessing() -> None:
    """A date past the calendar's horizon is refused with CalendarHorizonError."""
    xtks = venue_calendar("XTKS")
    with pytest.raises(CalendarHorizonError, match="2036-01-02"):
        xtks.is_business_day(date(2036, 1, 2))
    with pytest.raises(CalendarHorizonError, match="horizon"):
        xtks.phase(at(TOKYO, 2040, 1, 1, 10))


def test_horizon_can_be_extended() -> None:
    """Passing explicit bounds extends an exchange calendar past its import-time default."""
    nyse = venue_calendar("XNYS", last=date(2040, 12, 31))
    assert nyse.is_business_day(date(2040, 12, 31))


def test_business_day_arithmetic() -> None:
    """Adding business days skips weekends and holidays, and subtracting undoes it."""
    xtks = venue_calendar("XTKS")
    assert xtks.add_business_days(date(2024, 11, 1), 1) == date(2024, 11, 5)  # Mon 4th a holiday
    assert xtks.subtract_business_days(date(2024, 11, 5), 1) == date(2024, 11, 1)
    assert xtks.add_business_days(date(2024, 11, 2), 0) == date(2024, 11, 5)
    assert len(xtks.business_days(date(2024, 11, 1), date(2024, 11, 8))) == 5
    assert xtks.previous_business_day(date(2024, 11, 5)) == date(2024, 11, 1)


def test_next_open_and_close() -> None:
    """next_open skips the lunch break reopen and the weekend; next_close is the session's end."""
    xtks = venue_calendar("XTKS")
    noon = at(TOKYO, 2024, 11, 8, 12, 0)  # Friday lunch break
    assert to_datetime(xtks.next_open(noon), TOKYO) == datetime(2024, 11, 11, 9, 0, tzinfo=TOKYO)
    assert to_datetime(xtks.next_close(noon), TOKYO) == datetime(2024, 11, 8, 15, 30, tzinfo=TOKYO)
    assert xtks.previous_close(noon) == at(TOKYO, 2024, 11, 7, 15, 30)
    assert xtks.session_at(noon) is not None
    assert xtks.session_at(at(TOKYO, 2024, 11, 9, 12)) is None


def test_sessions_list_in_both_zones() -> None:
    """A session's JSON view gives every time in the venue zone and in UTC."""
    s = venue_calendar("CME").session(date(2024, 3, 13))
    assert s is not None
    d = s.to_dict()
    assert d["open"]["local"] == "2024-03-12T17:00:00-05:00"
    assert d["open"]["utc"] == "2024-03-12T22:00:00+00:00"
    assert d["transitions"][0]["phase"] == "PRE_OPEN"
    assert timedelta(hours=23) == timedelta(microseconds=(s.close - s.open) // 1000)
