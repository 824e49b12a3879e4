"""A World on a venue calendar follows it from its first instant."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sim.world import World
from system.bootstrap import SystemConfig
from system.clock import from_datetime
from system.engine import OrderRejected, Phase, RejectReason, Side, SubmitOrder, TradeExecuted
from system.engine.testkit import instrument

TOKYO = ZoneInfo("Asia/Tokyo")


def _tokyo(d: date, h: int, m: int = 0) -> int:
    return from_datetime(datetime(d.year, d.month, d.day, h, m, tzinfo=TOKYO))


def _world(d: date, h: int) -> World:
    cfg = SystemConfig(instruments=(instrument("XTKS:7203"),), venues=("XTKS",))
    return World(cfg, start_ns=_tokyo(d, h), until_ns=_tokyo(d, 23))


def _cross(w: World) -> list[object]:
    out = []
    for side, acct in ((Side.SELL, "b"), (Side.BUY, "a")):
        o = w.execute(SubmitOrder(acct, f"{acct}1", "XTKS:7203", side, 100, price=2500))
        out.extend(o.records)
    return out


def test_a_world_started_on_a_holiday_is_closed() -> None:
    """On 2031-12-31 (a TSE holiday) a World whose default phase is CONTINUOUS rejects orders as
    closed instead of trading."""
    w = _world(date(2031, 12, 31), 10)
    assert w.engine.phase_of_venue("XTKS") is Phase.CLOSED
    records = _cross(w)
    assert not any(isinstance(r, TradeExecuted) for r in records)
    assert all(r.reason is RejectReason.WRONG_PHASE for r in records if isinstance(r, OrderRejected))


def test_a_world_started_before_the_pre_open_opens_on_the_timetable() -> None:
    """Started at 07:00 Tokyo on a business day the venue is closed, and pre-opens at 08:00."""
    d = date(2027, 1, 5)
    w = _world(d, 7)
    assert w.engine.phase_of_venue("XTKS") is Phase.CLOSED
    w.run_until(_tokyo(d, 8, 1))
    assert w.engine.phase_of_venue("XTKS") is Phase.PRE_OPEN
