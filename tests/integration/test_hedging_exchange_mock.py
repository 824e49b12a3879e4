"""The hedging engine hedging on the external-exchange mock over FIX: the desk's ``FixHedgeVenue``
logs on to ``chronex mock exchange`` as HEDGER, buys against its resting ladder, and the fills
come back into the house's log as hedge events."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mocks.base import MockContext
from mocks.exchange import DEFAULT_PROFILE, ExchangeMock
from mocks.profile import read_toml
from sim.clock import VirtualClock
from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import SubmitOrder
from system.engine.orders import Side
from system.engine.testkit import instrument
from system.eventlog import open_log
from system.gateways.fix.config import parse_sessions
from system.hedging import HedgeDesk, HedgeExposure, HedgeOrderFilled, HedgeRoute, parse_hedging
from system.hedging.fixvenue import FixHedgeVenue

T0 = 1_925_424_000 * 10**9  # 2031-01-06 00:00 UTC
BTC = "CRYPTO:BTCUSD"


def test_a_short_is_hedged_on_the_exchange_mock_and_its_fills_are_logged() -> None:
    """House short 1.03 BTC, threshold below it: the desk buys 1 BTC then 0.03 BTC on the mock
    (max order 1 BTC), both fill against the ladder, and the exposure left is zero."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def on_loop(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    ex = ExchangeMock(MockContext(profile=read_toml(DEFAULT_PROFILE, "p"), clock=VirtualClock(T0)))
    on_loop(ex.start())
    try:
        host, _, port = ex.endpoints()["fix"].rpartition(":")
        mine = parse_sessions(
            {"defaults": {"sender_comp_id": "HEDGER", "heartbeat_s": 30},
             "session": [{"target_comp_id": "EXCH", "accounts": ["HEDGE"]}]}
        ).sessions[0]  # fmt: skip
        clock = FixedClock(T0)
        venue = FixHedgeVenue(
            "EXCH", [HedgeRoute("EXCH", BTC, "0.0001", "0.01")], mine, clock,
            host=host, port=int(port), account="HEDGE",
        )  # fmt: skip
        route = {"venue": "EXCH", "instrument": BTC, "qty_increment": "0.0001", "price_increment": "0.01"}
        cfg = parse_hedging(
            {"assets": {"BTC": {"threshold": "100000", "max_order_qty": "1", "venues": [route]}}}
        )
        btc = instrument("CRYPTO:BTC/JPY", base_currency="BTC", qty_increment="0.0001")
        house = TradingSystem(
            SystemConfig(instruments=(btc,), hedging=cfg), open_log("memory://", clock), clock
        )
        house.start()
        desk = HedgeDesk(house.execute, lambda s: list(house.store.read(s)), [venue])
        try:
            house.execute(SubmitOrder("alice", "a", btc.id, Side.BUY, 10_300, price=5_000_000))
            house.execute(SubmitOrder("HOUSE", "h", btc.id, Side.SELL, 10_300, price=5_000_000))
            assert desk.settle(wait_s=20)
            recs = [e.record for e in house.store.read(1)]
            fills = [r for r in recs if isinstance(r, HedgeOrderFilled)]
            assert sum(f.qty for f in fills) == 10_300 and all(f.leaves == 0 for f in fills)
            assert max(f.qty for f in fills) == 10_000  # no order over the 1 BTC cap
            last = [r for r in recs if isinstance(r, HedgeExposure)][-1]
            assert last.position == 0, last
        finally:
            venue.close()
        # The exchange's own log has the HEDGE account's trades: the mock really matched them.
        bought = on_loop(_hedge_qty(ex))
        assert bought == 10_300
    finally:
        on_loop(ex.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _hedge_qty(ex: ExchangeMock) -> int:
    from system.engine import TradeExecuted

    total = 0
    for e in ex.server.host.store.read(1):  # type: ignore[attr-defined]
        r = e.record
        if isinstance(r, TradeExecuted) and "HEDGE" in (r.buy_account, r.sell_account):
            total += r.qty
    return total
