"""Sessions of real exchanges equal exchange_calendars' answers, 2020-2030."""

from __future__ import annotations

import warnings
from datetime import date

import exchange_calendars as xcals
import numpy as np
import pytest

from sim.clock import venue_calendar
from sim.clock.calendar import Session

FIRST, LAST = date(2020, 1, 1), date(2030, 12, 31)
NAT = np.iinfo(np.int64).min


def _reference(code: str) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar(code, start=FIRST.isoformat(), end=LAST.isoformat())
    sched = cal.schedule
    out = {"date": sched.index.to_numpy(dtype="datetime64[D]")}
    for col in ("open", "close", "break_start", "break_end"):
        out[col] = sched[col].to_numpy(dtype="datetime64[ns]").astype("int64")
    return out


def _ours(sessions: list[Session]) -> dict[str, np.ndarray]:
    def brk(s: Session, i: int) -> int:
        return s.breaks[0][i] if s.breaks else NAT

    return {
        "date": np.array([s.trade_date for s in sessions], dtype="datetime64[D]"),
        "open": np.array([s.open for s in sessions], dtype="int64"),
        "close": np.array([s.close for s in sessions], dtype="int64"),
        "break_start": np.array([brk(s, 0) for s in sessions], dtype="int64"),
        "break_end": np.array([brk(s, 1) for s in sessions], dtype="int64"),
    }


def _assert_same(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(ours["date"], ref["date"])
    for col in ("open", "close", "break_start", "break_end"):
        bad = np.flatnonzero(ours[col] != ref[col])
        assert bad.size == 0, f"{col} differs on {ours['date'][bad[:5]]}"


@pytest.mark.parametrize("code", ["XTKS", "XNYS", "XLON", "XHKG"])
def test_exchange_sessions_match_exchange_calendars(code: str) -> None:
    """Every session open, close and break 2020-2030 equals exchange_calendars'."""
    cal = venue_calendar(f"xcals:{code}")
    _assert_same(_ours(cal.sessions(FIRST, LAST)), _reference(code))


def test_xtks_profile_matches_exchange_calendars() -> None:
    """The shipped XTKS profile (with auctions) has exchange_calendars' sessions and breaks."""
    cal = venue_calendar("XTKS")
    _assert_same(_ours(cal.sessions(FIRST, LAST)), _reference("XTKS"))


def test_exchange_code_resolves_directly() -> None:
    """Any exchange_calendars code resolves by name, with its zone."""
    assert venue_calendar("XLON").tz == "Europe/London"
    assert venue_calendar("XHKG").tz == "Asia/Hong_Kong"


def test_xlon_profile_adds_auctions_around_exchange_calendars_sessions() -> None:
    """The XLON profile trades on exchange_calendars' days; continuous trading runs from its open to
    its close, then a five-minute closing auction, 12:30-12:35 on its half days."""
    from sim.clock.calendar import Phase

    ours = venue_calendar("XLON").sessions(FIRST, LAST)
    ref = _reference("XLON")
    np.testing.assert_array_equal(np.array([s.trade_date for s in ours], dtype="datetime64[D]"), ref["date"])
    five_min = 5 * 60 * 10**9
    for s, open_, close in zip(ours, ref["open"], ref["close"], strict=True):
        phases = {tr.phase: tr.at for tr in s.transitions}
        assert phases[Phase.CONTINUOUS] == open_
        assert phases[Phase.CLOSING_AUCTION] == close and s.close == close + five_min
    half = [s for s in ours if s.kind == "half"]
    assert {s.trade_date.month for s in half} == {12} and len(half) == 2 * 11
    assert all(s.to_dict()["close"]["local"][11:16] == "12:35" for s in half)
