"""A hedged day's log is the whole truth: reopening it folds the hedging engine back to the same
state, and re-executing its inputs with no venue attached makes byte-identical decisions."""

from __future__ import annotations

from pathlib import Path

from sim.replay.config import recorded_config
from sim.replay.rerun import rerun
from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import SubmitOrder
from system.engine.orders import Side
from system.engine.testkit import instrument
from system.eventlog import open_log
from system.hedging import HedgeDesk, Hedger, ResumeHedging, parse_hedging
from system.hedging.inproc import InProcessVenue
from system.pricing import PricingConfig, SetFxRate
from system.risk import EngageKillSwitch, ReleaseKillSwitch, RiskConfig

T0 = 1_798_934_400 * 10**9  # 2027-01-03 00:00 UTC
HOUSE_BTC = instrument("CRYPTO:BTC/JPY", base_currency="BTC", qty_increment="0.0001")
ROUTES = [
    {"venue": v, "instrument": f"{v}:BTC/JPY", "qty_increment": "0.0001", "price_increment": "1"}
    for v in ("EXTA", "EXTB")
]
HEDGING = parse_hedging(
    {
        "max_attempts": 2,
        "assets": {"BTC": {"threshold": "1000000", "max_order_qty": "1", "venues": ROUTES}},
    }
)


def _hedged_day(path: Path) -> dict[str, object]:
    """Trades, an FX-valued exposure, partial fills, an outage mid-hedge, the kill switch."""
    clock = FixedClock(T0)
    config = SystemConfig(
        instruments=(HOUSE_BTC,), risk=RiskConfig(), pricing=PricingConfig(), hedging=HEDGING
    )
    system = TradingSystem(config, open_log(path, clock), clock)
    system.start()
    venues = [
        InProcessVenue(v, [instrument(f"{v}:BTC/JPY", base_currency="BTC", qty_increment="0.0001")], clock)
        for v in ("EXTA", "EXTB")
    ]
    desk = HedgeDesk(system.execute, lambda s: list(system.store.read(s)), venues)
    exta, extb = venues
    exta.rest("EXTA:BTC/JPY", Side.SELL, 6_000, 5_000_000)  # 0.6 BTC: the first hedge fills in part
    extb.rest("EXTB:BTC/JPY", Side.SELL, 100_000, 5_010_000)
    extb.rest("EXTB:BTC/JPY", Side.BUY, 100_000, 4_990_000)
    system.execute(SetFxRate("BTC", "JPY", 5_000_000))

    def trade(n: int, side: Side, lots: int, *, settle: bool = True) -> None:
        clock.t += 10**9
        system.execute(SubmitOrder("client", f"c{n}", HOUSE_BTC.id, side.opposite, lots, price=5_000_000))
        system.execute(SubmitOrder("HOUSE", f"h{n}", HOUSE_BTC.id, side, lots, price=5_000_000))
        if settle:
            desk.settle()

    trade(1, Side.SELL, 25_000)  # short 2.5 BTC: EXTA fills 0.6, then nothing twice; EXTB does the rest
    system.execute(ResumeHedging("BTC"))  # EXTA is tried again
    exta.hold()
    exta.rest("EXTA:BTC/JPY", Side.BUY, 50_000, 4_995_000)
    trade(2, Side.BUY, 30_000)  # long 3 BTC: EXTA holds the hedge order...
    exta.go_down("outage mid-hedge")  # ...and dies with it; EXTB hedges
    desk.settle()
    trade(3, Side.SELL, 20_000, settle=False)  # short 2 BTC, and the kill switch before the desk acts
    system.execute(EngageKillSwitch("HOUSE", "test"))
    desk.settle()
    system.execute(SetFxRate("BTC", "JPY", 6_000_000))  # revalued while killed: no hedge
    desk.settle()
    system.execute(ReleaseKillSwitch("HOUSE", "test"))
    desk.settle()
    exta.come_up()
    desk.settle()
    system.finish()
    hedger: Hedger = system.component(Hedger)
    summary = hedger.summary()
    system.store.close()
    return summary


def test_reopening_a_hedged_log_restores_the_hedging_state(tmp_path: Path) -> None:
    """Folding the log back gives the hedging engine exactly the state it had live."""
    log = tmp_path / "day.db"
    live = _hedged_day(log)
    orders = live["orders"]
    assert isinstance(orders, list)
    venues = [o[2] for o in sorted(orders, key=lambda o: int(o[0][1:]))]
    assert venues == ["EXTA"] * 3 + ["EXTB"] * 2 + ["EXTA"] + ["EXTB"] * 6  # partial, give-up, outage
    assert live["position"] == [("BTC", 0)] and live["down"] == [] and live["killed"] == []
    clock = FixedClock(T0)
    store = open_log(log, clock, create=False)
    again = TradingSystem(recorded_config(store), store, clock).component(Hedger).summary()
    store.close()
    assert again == live


def test_rerunning_a_hedged_log_without_venues_makes_the_same_decisions(tmp_path: Path) -> None:
    """Re-executing the logged inputs (venue reports included) reproduces the log byte for byte."""
    log = tmp_path / "day.db"
    _hedged_day(log)
    store = open_log(log, FixedClock(T0), create=False)
    out = open_log("memory://", FixedClock(0))
    result = rerun(store, out)
    store.close()
    assert result.failed == []
    assert result.same, result.divergence
