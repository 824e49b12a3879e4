"""With no limit or event that reads positions (no buying power, no position limit, no positive
maintenance rate) the risk engine keeps no positions or P&L: it must decide and emit exactly as
one that keeps everything, and the accounts read model must still be right."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.engine import CancelOrder, OrderAccepted, ReplaceOrder, Side, TradeExecuted
from system.eventlog.codec import canonical
from system.pricing import SetMarkPrice
from system.risk import EngageKillSwitch, ReleaseKillSwitch, Risk
from system.risk.testkit import RiskHarness, stock

TOY = "XTKS:7203"
ACCOUNTS = ("A", "B", "C")
S = 10**9
LEAN: dict[str, Any] = {
    "margin": {"initial_bp": 0, "maintenance_bp": 0},
    "firm": {"max_open_orders": 12, "max_orders_per_second": 9, "max_notional": "60000"},
    "default_account": {
        "balances": {"JPY": "100000"},
        "max_order_qty": "40",
        "collar_bp": 150,
        "max_open_orders": 6,
        "max_orders_per_second": 5,
        "maker_fee_bp": 2,
        "taker_fee_bp": 5,
        "kill_on": ["max_open_orders"],
    },
}

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from(ACCOUNTS),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 50),
            st.one_of(st.none(), st.integers(970, 1030)),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(
            st.just("replace"),
            st.integers(0, 30),
            st.sampled_from(ACCOUNTS),
            st.integers(1, 50),
            st.integers(970, 1030),
        ),
        st.tuples(st.just("mark"), st.integers(980, 1020)),
        st.tuples(st.just("kill"), st.sampled_from(ACCOUNTS)),
        st.tuples(st.just("release"), st.sampled_from(ACCOUNTS)),
    ),
    min_size=1,
    max_size=50,
)


def run(flow: list[tuple[Any, ...]]) -> tuple[RiskHarness, list[bytes]]:
    h = RiskHarness(stock(TOY, reference_price=1000), risk=LEAN, pricing={"default_method": "last"})
    open_: list[tuple[str, int]] = []
    out: list[bytes] = []
    for i, op in enumerate(flow):
        h.clock.t += 40_000_000 * (1 + i % 4)
        if op[0] == "order":
            _, a, side, qty, price = op
            evs = h.submit(a, TOY, side, qty, price=price)
        elif op[0] == "cancel":
            if not open_:
                continue
            a, oid = open_[op[1] % len(open_)]
            evs = h.do(CancelOrder(a, TOY, oid))
        elif op[0] == "replace":  # sometimes by another account, sometimes beyond a limit
            if not open_:
                continue
            _, oid = open_[op[1] % len(open_)]
            evs = h.do(ReplaceOrder(op[2], TOY, oid, qty=op[3], price=op[4]))
        elif op[0] == "mark":
            evs = h.do(SetMarkPrice(TOY, op[1]))
        elif op[0] == "kill":
            evs = h.do(EngageKillSwitch(op[1]))
        else:
            evs = h.do(ReleaseKillSwitch(op[1]))
        open_ += [(e.account, e.order_id) for e in evs if isinstance(e, OrderAccepted)]
        out += [canonical(e) for e in evs]
    return h, out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_a_lean_risk_engine_emits_what_a_full_one_does(flow: list[tuple[Any, ...]]) -> None:
    """Without ledger-dependent limits, skipping positions and P&L changes no emitted event."""
    lean, got = run(flow)
    assert not lean.system.component(Risk).track_fills
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Risk, "keep_all", True)
        full, want = run(flow)
        assert full.system.component(Risk).track_fills
    assert got == want
    for a in ACCOUNTS:  # the read model keeps positions and P&L regardless
        assert lean.accounts.positions(a) == full.accounts.positions(a)
        assert lean.accounts.margin(a) == full.accounts.margin(a)


def test_the_read_model_keeps_positions_and_fees_when_the_engine_does_not() -> None:
    """A trade under a lean configuration still shows in positions and fees of the accounts view."""
    h = RiskHarness(stock(TOY, reference_price=1000), risk=LEAN, pricing={"default_method": "last"})
    evs = h.cross("A", "B", TOY, 10, 1000)
    assert [e.qty for e in evs if isinstance(e, TradeExecuted)] == [10]
    assert not h.system.component(Risk).track_fills
    (pa,) = h.accounts.positions("A")
    (pb,) = h.accounts.positions("B")
    assert (pa.qty, pb.qty) == (10, -10)
    assert pa.fees > 0 and pb.fees > 0
