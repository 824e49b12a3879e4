"""OHLC bars: alignment to the venue's zone and sessions, and revision by busts, corrections and
late trades."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from system.clock import from_datetime
from system.corrections import BustTrade, CorrectTrade, ReportLateTrade
from system.engine import TradeExecuted
from system.pricing import BarProjection, ZoneSessions
from system.risk.testkit import RiskHarness, of, stock

TOY = "XTKS:7203"
S = 10**9


def ns(y: int, mo: int, d: int, h: int, mi: int, s: int = 0, tz: str = "Asia/Tokyo") -> int:
    return from_datetime(datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(tz)))


def bars_harness(t0: int, *instruments: object, **pricing: object) -> RiskHarness:
    venues = {"XTKS": {"tz": "Asia/Tokyo"}, "CME": {"tz": "America/Chicago", "day_start": "17:00"}}
    venues |= {"NSE": {"tz": "Asia/Kolkata"}}
    insts = instruments or (stock(TOY),)
    return RiskHarness(*insts, pricing={"venues": venues, **pricing}, t0=t0)  # type: ignore[arg-type]


def trade_at(h: RiskHarness, t: int, price: int, qty: int = 10, inst: str = TOY) -> TradeExecuted:
    h.clock.t = t
    return of(h.cross("A", "B", inst, qty, price), TradeExecuted)[0]


def test_bars_align_to_the_venue_clock() -> None:
    """A trade at 09:07:31 JST falls in the 09:07:31, 09:07, 09:05, 09:00 and trade-date bars."""
    t = ns(2024, 3, 1, 9, 7, 31) + S // 2
    h = bars_harness(t)
    trade_at(h, t, 2500)
    starts = {iv: h.bars.bars(TOY, iv)[0].start for iv in ("1s", "1m", "5m", "1h", "1d")}
    assert starts == {
        "1s": ns(2024, 3, 1, 9, 7, 31),
        "1m": ns(2024, 3, 1, 9, 7),
        "5m": ns(2024, 3, 1, 9, 5),
        "1h": ns(2024, 3, 1, 9, 0),
        "1d": ns(2024, 3, 1, 0, 0),
    }
    assert {b.trade_date for iv in starts for b in h.bars.bars(TOY, iv)} == {"2024-03-01"}
    assert h.bars.bar_at(TOY, "5m", ns(2024, 3, 1, 9, 9, 59)) == h.bars.bars(TOY, "5m")[0]


def test_half_hour_zone_and_trade_date_roll() -> None:
    """Hour bars start on the hour in a +05:30 zone; CME's trade date rolls at 17:00 Chicago."""
    nse, cme = stock("NSE:INFY"), stock("CME:ES")
    t = ns(2024, 3, 4, 10, 15, tz="Asia/Kolkata")
    h = bars_harness(t, nse, cme)
    trade_at(h, t, 100, inst="NSE:INFY")
    assert h.bars.bars("NSE:INFY", "1h")[0].start == ns(2024, 3, 4, 10, 0, tz="Asia/Kolkata")
    evening = ns(2024, 3, 4, 18, 0, tz="America/Chicago")
    trade_at(h, evening, 5000, inst="CME:ES")
    (d,) = h.bars.bars("CME:ES", "1d")
    assert d.trade_date == "2024-03-05"
    assert ZoneSessions("America/Chicago", "17:00").trade_date(evening).isoformat() == "2024-03-05"


def test_ohlc_and_revisions() -> None:
    """OHLCV folds trades in time order; a bust, a correction and a late trade each revise the bar."""
    t = ns(2024, 3, 1, 9, 30)
    h = bars_harness(t)
    trade_at(h, t + 1 * S, 1000)
    t2 = trade_at(h, t + 2 * S, 1010, 5)
    t3 = trade_at(h, t + 3 * S, 990)

    def ohlcv() -> tuple[int, int, int, int, int, int]:
        (b,) = h.bars.bars(TOY, "1m")
        return b.open, b.high, b.low, b.close, b.volume, b.trades

    assert ohlcv() == (1000, 1010, 990, 990, 25, 3)
    h.clock.t = t + 10 * S
    h.do(BustTrade(t2.trade_id))
    assert ohlcv() == (1000, 1000, 990, 990, 20, 2)
    h.do(CorrectTrade(t3.trade_id, price=1005, qty=20))
    assert ohlcv() == (1000, 1005, 1000, 1005, 30, 2)
    h.do(ReportLateTrade(TOY, 980, 1, "A", "B", t))  # earlier than every trade in the bar
    assert ohlcv() == (980, 1005, 980, 1005, 31, 3)
    assert h.bars.bars(TOY, "1s")[0].open == 980


def test_a_bar_with_every_trade_busted_disappears() -> None:
    """Busting the only trade of a bar removes the bar."""
    t = ns(2024, 3, 1, 9, 30)
    h = bars_harness(t)
    tr = trade_at(h, t, 1000)
    trade_at(h, t + 120 * S, 1001)
    h.do(BustTrade(tr.trade_id))
    assert [b.close for b in h.bars.bars(TOY, "1m")] == [1001]
    assert h.bars.bars(TOY, "1d")[0].trades == 1


def test_venue_calendar_can_supply_sessions() -> None:
    """A venue calendar from sim/clock plugs in as the sessions source and gives the same bars."""
    from sim.clock.registry import venue_calendar

    t = ns(2024, 3, 1, 9, 7, 31)
    h = bars_harness(t)
    trade_at(h, t, 2500)
    fresh = BarProjection(sessions={"XTKS": venue_calendar("XTKS")})
    fresh.rebuild(h.store)
    for iv in ("1s", "1m", "5m", "1h", "1d"):
        assert fresh.bars(TOY, iv) == h.bars.bars(TOY, iv)


def test_bars_rebuild_from_the_log() -> None:
    """A fresh bar projection folded from the log equals the live one."""
    t = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    h = bars_harness(from_datetime(t))
    for i in range(20):
        trade_at(h, from_datetime(t) + i * 37 * S, 1000 + (i * 7) % 13)
    fresh = BarProjection(zones=h.config.pricing.venues)  # type: ignore[union-attr]
    fresh.rebuild(h.store)
    for iv in ("1s", "1m", "5m", "1h", "1d"):
        assert fresh.bars(TOY, iv) == h.bars.bars(TOY, iv)
