"""The hedging engine's promise, for any fill pattern: once the desk has settled, each asset's net
exposure is inside its threshold, or an account event (HedgeHalted, or the kill switch) says why
it is not; and the position is exactly the house's fills plus the hedge fills."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import SubmitOrder
from system.engine.events import TradeExecuted
from system.engine.orders import Side
from system.engine.testkit import instrument
from system.eventlog import open_log
from system.hedging import (
    HedgeDesk,
    HedgeHalted,
    HedgeOrderFilled,
    HedgeOrderPlaced,
    Hedger,
    HedgeVenue,
    RecordHedgeDone,
    RecordHedgeFill,
    RecordHedgeReject,
    RecordVenueDown,
    RecordVenueUp,
    Report,
    parse_hedging,
)
from system.risk import EngageKillSwitch, ReleaseKillSwitch, RiskConfig

INST = instrument("CRYPTO:BTC/JPY", base_currency="BTC", qty_increment="0.0001")
PRICE = 5_000_000  # JPY per BTC
LOT = 10_000  # BTC units (1e-8) per lot of 0.0001
CONFIG = parse_hedging(
    {
        "max_attempts": 2,
        "assets": {
            "BTC": {
                "threshold": "1000000",  # 0.2 BTC
                "target": "250000",
                "max_order_qty": "0.5",
                "venues": [
                    {"venue": "A", "instrument": "A:BTC/JPY", "qty_increment": "0.0001"},
                    {"venue": "B", "instrument": "B:BTC/JPY", "qty_increment": "0.0001"},
                ],
            }
        },
    }
)

# What a venue does with one order: fill all, fill part (1/n of it, at least one lot) and end the
# rest, fill nothing, reject, or go down with the order in flight.
BEHAVIOURS = st.sampled_from(["fill", "half", "tenth", "nothing", "reject", "outage"])


class ScriptedVenue(HedgeVenue):
    """A fake venue that answers each order with the next behaviour of its script (cycling)."""

    def __init__(self, name: str, script: list[str]) -> None:
        self.name = name
        self.script = script
        self.n = 0
        self.up = True
        self.report: Report | None = None

    def open(self, report: Report) -> None:
        self.report = report

    def send(self, order: HedgeOrderPlaced) -> None:
        assert self.report is not None
        from system.hedging import VenueUnavailable

        if not self.up:
            raise VenueUnavailable(f"{self.name} down")
        b = self.script[self.n % len(self.script)]
        self.n += 1
        fid = f"{self.name}-{self.n}"
        if b == "fill":
            self.report(RecordHedgeFill(order.order_id, order.qty, PRICE, fid))
        elif b in ("half", "tenth"):
            part = max(1, order.qty // (2 if b == "half" else 10))
            self.report(RecordHedgeFill(order.order_id, part, PRICE, fid))
            if part < order.qty:
                self.report(RecordHedgeDone(order.order_id, "IOC remainder"))
        elif b == "nothing":
            self.report(RecordHedgeDone(order.order_id, "no liquidity"))
        elif b == "reject":
            self.report(RecordHedgeReject(order.order_id, "refused"))
        else:
            self.up = False
            self.report(RecordVenueDown(self.name, "outage"))

    def cancel(self, order_id: str) -> None:
        pass

    def close(self) -> None:
        self.report = None

    def come_up(self) -> None:
        if not self.up:
            self.up = True
            assert self.report is not None
            self.report(RecordVenueUp(self.name))


def _house(risk: bool = True) -> TradingSystem:
    clock = FixedClock(10**18)
    system = TradingSystem(
        SystemConfig(instruments=(INST,), hedging=CONFIG, risk=RiskConfig() if risk else None),
        open_log("memory://", clock),
        clock,
    )
    system.start()
    return system


def _trade(system: TradingSystem, n: int, lots: int) -> None:
    """The house takes the other side of a client's order: it sells ``lots`` if positive."""
    side = Side.BUY if lots > 0 else Side.SELL
    system.execute(SubmitOrder("client", f"c{n}", INST.id, side, abs(lots), price=PRICE))
    system.execute(SubmitOrder("HOUSE", f"h{n}", INST.id, side.opposite, abs(lots), price=PRICE))


steps = st.lists(
    st.one_of(
        st.tuples(st.just("trade"), st.integers(-6000, 6000).filter(bool)),
        st.tuples(st.just("up"), st.sampled_from(["A", "B"])),
        st.tuples(st.just("kill"), st.booleans()),
        st.tuples(st.just("resume"), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script_a=st.lists(BEHAVIOURS, min_size=1, max_size=6),
    script_b=st.lists(BEHAVIOURS, min_size=1, max_size=6),
    plan=steps,
)
def test_exposure_ends_inside_the_threshold_or_an_event_says_why(
    script_a: list[str], script_b: list[str], plan: list[tuple[str, Any]]
) -> None:
    """Whatever the venues do, a settled desk leaves exposure inside the threshold unless hedging
    is halted (an account event) or the kill switch is on; the position is the fills' sum."""
    system = _house()
    venues = {"A": ScriptedVenue("A", script_a), "B": ScriptedVenue("B", script_b)}
    desk = HedgeDesk(system.execute, lambda s: list(system.store.read(s)), list(venues.values()))
    hedger: Hedger = system.component(Hedger)
    threshold = CONFIG.base_units(CONFIG.assets["BTC"].threshold)
    for i, (what, arg) in enumerate(plan):
        if what == "trade":
            _trade(system, i, arg)
        elif what == "up":
            venues[arg].come_up()
        elif what == "kill":
            system.execute((EngageKillSwitch if arg else ReleaseKillSwitch)("HOUSE", "test"))
        else:
            from system.hedging import ResumeHedging

            system.execute(ResumeHedging("BTC"))
        assert desk.settle(), "in-process venues answer at once: nothing may stay working"
        value = hedger.value("BTC")
        if value is None:  # no trade yet, so no price: nothing to hedge either
            assert hedger.position["BTC"] == 0
            continue
        if abs(value) > threshold:
            halted = "BTC" in hedger.halted
            assert halted or hedger.blocked(), (
                f"exposure {hedger.position['BTC']} worth {value} JPY past {threshold}, no event says why"
            )
            if halted:
                events = [e.record for e in system.store.read(1) if isinstance(e.record, HedgeHalted)]
                assert events and events[-1].reason == hedger.halted["BTC"]
    house = 0
    for e in system.store.read(1):
        r = e.record
        if isinstance(r, TradeExecuted):
            house += (r.qty if r.buy_account == "HOUSE" else 0) - (r.qty if r.sell_account == "HOUSE" else 0)
        elif isinstance(r, HedgeOrderFilled):
            o = hedger.orders[r.order_id]
            house += r.qty if o.side is Side.BUY else -r.qty
    assert hedger.position["BTC"] == house * LOT
