"""The virtual clock drives the real matching engine through a Tokyo day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sim.clock import VirtualClock
from sim.clock.scheduler import SessionScheduler
from system.clock import from_datetime, iso
from system.engine import MatchingEngine, SubmitOrder
from system.engine.events import AuctionUncrossed, OrderExpired, TradeExecuted
from system.engine.orders import Side
from system.engine.phases import Phase, PhaseChanged
from system.engine.refdata import Instrument
from system.eventlog.memory import MemoryEventStore
from system.runtime import Runtime

TOKYO = ZoneInfo("Asia/Tokyo")
TOYOTA = Instrument(id="XTKS:7203", venue="XTKS", symbol="7203", base_currency="7203", quote_currency="JPY")


def tokyo(h: int, mi: int = 0) -> int:
    return from_datetime(datetime(2024, 11, 5, h, mi, tzinfo=TOKYO))


def test_opening_call_uncrosses_at_nine_and_day_orders_expire_at_the_close() -> None:
    """Orders taken in pre-open cross at 09:00; what is left of a DAY order expires at 15:30."""
    clock = VirtualClock(tokyo(7, 0))
    rt = Runtime(
        MemoryEventStore(clock), clock,
        build=lambda: [MatchingEngine((TOYOTA,), default_phase=Phase.CLOSED)],
    )
    SessionScheduler(clock, rt, ["XTKS"], until_ns=tokyo(23)).start()
    clock.run_until(tokyo(8, 30))
    assert rt.component(MatchingEngine).phase(TOYOTA.id) is Phase.PRE_OPEN
    rt.execute(SubmitOrder("acct-a", "a1", TOYOTA.id, Side.BUY, 300, price=2500))
    rt.execute(SubmitOrder("acct-b", "b1", TOYOTA.id, Side.SELL, 100, price=2490))
    clock.run()

    events = [(iso(e.valid_time, "Asia/Tokyo")[11:16], e.record) for e in rt.store.read(1)]
    uncross = [(t, r) for t, r in events if isinstance(r, AuctionUncrossed) and r.qty]
    assert [(t, r.qty) for t, r in uncross] == [("09:00", 100)]  # the price is the engine's rule
    assert [t for t, r in events if isinstance(r, TradeExecuted)] == ["09:00"]
    expired = [(t, r.client_order_id, r.qty) for t, r in events if isinstance(r, OrderExpired)]
    assert expired == [("15:30", "a1", 200)]
    phases = [(t, r.phase) for t, r in events if isinstance(r, PhaseChanged)]
    assert phases[0] == ("08:00", Phase.PRE_OPEN) and phases[-1] == ("15:30", Phase.CLOSED)
    assert rt.component(MatchingEngine).phase(TOYOTA.id) is Phase.CLOSED
