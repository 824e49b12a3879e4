"""The deliberate rule differences a served mock may carry, each against the reference."""

from __future__ import annotations

from typing import Any

import pytest

from steps.instruments import default_instrument
from system.clock import FixedClock
from system.engine import (
    ListInstrument,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderReplaced,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    SubmitOrder,
    TradeExecuted,
)
from system.engine.deviations import REFERENCE, RuleDifference, Rules, parse_differences
from system.engine.engine import MatchingEngine
from system.eventlog import open_log
from system.runtime import Runtime

INST = default_instrument("XTKS:7203")


def _runtime(rules: Rules) -> Runtime:
    rt = Runtime(
        open_log("memory://", FixedClock(10**18)), FixedClock(10**18), lambda: [MatchingEngine(rules=rules)]
    )
    rt.execute(ListInstrument(INST))
    return rt


def _order(
    rt: Runtime,
    account: str,
    side: Side,
    qty: int,
    price: int,
    cid: str,
    stp: SelfTradePrevention = SelfTradePrevention.NONE,
) -> list[Any]:
    cmd = SubmitOrder(
        account=account, client_order_id=cid, instrument=INST.id, side=side, qty=qty, price=price, stp=stp
    )
    return [e.record for e in rt.execute(cmd).events]


def test_parse_names_the_unknown_difference() -> None:
    """An unknown difference is refused by name, with the known ones listed."""
    assert parse_differences("stp-cancel-oldest, tick-off-by-one") == {
        RuleDifference.STP_CANCEL_OLDEST,
        RuleDifference.TICK_OFF_BY_ONE,
    }
    with pytest.raises(ValueError, match=r"'faster' is unknown.*replace-keeps-priority"):
        parse_differences("faster")


def test_tick_off_by_one_rejects_a_price_just_under_a_band() -> None:
    """2999.5 is on the 0.5 tick for the reference and off tick for the off-by-one venue."""
    price = 29995  # units of 0.1
    ref = _order(_runtime(REFERENCE), "a", Side.BUY, 100, price, "o1")
    dev = _order(
        _runtime(Rules(frozenset({RuleDifference.TICK_OFF_BY_ONE}))), "a", Side.BUY, 100, price, "o1"
    )
    assert isinstance(ref[-1], OrderAccepted)
    assert isinstance(dev[-1], OrderRejected) and dev[-1].reason == "OFF_TICK"


def test_stp_cancel_oldest_cancels_the_resting_order() -> None:
    """CANCEL_NEWEST cancels the incoming order in the reference, the resting one in the deviant venue."""
    for rules, cancelled in (
        (REFERENCE, "inc"),
        (Rules(frozenset({RuleDifference.STP_CANCEL_OLDEST})), "rest"),
    ):
        rt = _runtime(rules)
        _order(rt, "a", Side.SELL, 100, 25000, "rest")
        recs = _order(rt, "a", Side.BUY, 100, 25000, "inc", stp=SelfTradePrevention.CANCEL_NEWEST)
        assert [r.client_order_id for r in recs if isinstance(r, OrderCancelled)] == [cancelled]


def test_replace_keeps_priority_on_a_larger_quantity() -> None:
    """Raising the quantity loses priority in the reference and keeps it in the deviant venue."""
    for rules, keeps in (
        (REFERENCE, False),
        (Rules(frozenset({RuleDifference.REPLACE_KEEPS_PRIORITY})), True),
    ):
        rt = _runtime(rules)
        acc = _order(rt, "a", Side.BUY, 100, 24990, "a1")[-1]
        assert isinstance(acc, OrderAccepted)
        out = rt.execute(ReplaceOrder(account="a", instrument=INST.id, order_id=acc.order_id, qty=200))
        (rep,) = [e.record for e in out.events if isinstance(e.record, OrderReplaced)]
        assert rep.keeps_priority is keeps


def test_reprice_keeps_priority_queues_by_arrival_at_the_new_price() -> None:
    """A buy repriced up to a level where a later order rests: the reference queues it behind that
    order (the later one trades first), the deviant venue ahead of it (the repriced one does)."""
    for rules, first in (
        (REFERENCE, "b"),
        (Rules(frozenset({RuleDifference.REPRICE_KEEPS_PRIORITY})), "a"),
    ):
        rt = _runtime(rules)
        acc = _order(rt, "a", Side.BUY, 100, 24990, "a1")[-1]
        assert isinstance(acc, OrderAccepted)
        _order(rt, "b", Side.BUY, 100, 25000, "b1")
        out = rt.execute(ReplaceOrder(account="a", instrument=INST.id, order_id=acc.order_id, price=25000))
        (rep,) = [e.record for e in out.events if isinstance(e.record, OrderReplaced)]
        assert rep.keeps_priority is (first == "a") and rep.price == 25000
        trades = [r for r in _order(rt, "c", Side.SELL, 100, 25000, "s1") if isinstance(r, TradeExecuted)]
        assert [t.buy_account for t in trades] == [first]


def test_a_quantity_cut_keeps_priority_everywhere_and_a_reprice_only_in_its_venue() -> None:
    """Each replace difference changes its own case only: a cut keeps priority under every rule
    set; a larger quantity only under replace-keeps-priority; a new price only under
    reprice-keeps-priority; a new display quantity never."""
    qty, price = RuleDifference.REPLACE_KEEPS_PRIORITY, RuleDifference.REPRICE_KEEPS_PRIORITY
    for diffs in (frozenset(), frozenset({qty}), frozenset({price}), frozenset({qty, price})):
        r = Rules(diffs)
        assert r.replace_keeps_priority(True, True, 50, 100)
        assert r.replace_keeps_priority(True, True, 200, 100) is (qty in diffs)
        assert r.replace_keeps_priority(False, True, 100, 100) is (price in diffs)
        assert r.replace_keeps_priority(False, True, 200, 100) is (diffs == {qty, price})
        assert not r.replace_keeps_priority(True, False, 100, 100)
