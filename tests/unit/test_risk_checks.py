"""Pre-trade risk: every check at account and firm scope, what a rejection carries, the kill switch."""

from __future__ import annotations

from typing import Any

from system.engine import (
    CancelOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RejectReason,
    ReplaceOrder,
    Side,
)
from system.engine.events import TradeExecuted
from system.pricing import SetFxRate, SetMarkPrice
from system.risk import (
    FIRM,
    EngageKillSwitch,
    KillSwitchEngaged,
    KillSwitchReleased,
    LimitBreached,
    ReleaseKillSwitch,
    Risk,
    RiskCommandRejected,
)
from system.risk.testkit import RiskHarness, of, stock

TOY = "XTKS:7203"
BUY, SELL = Side.BUY, Side.SELL
R = RejectReason


def harness(
    account: dict[str, Any] | None = None, firm: dict[str, Any] | None = None, **risk: Any
) -> RiskHarness:
    cfg: dict[str, Any] = {"accounts": {"A": account or {}}, **risk}
    if firm:
        cfg["firm"] = firm
    h = RiskHarness(stock(TOY, price_increment="1"), risk=cfg, pricing={"default_method": "manual"})
    h.do(SetMarkPrice(TOY, 1000))
    return h


def rejected(events: list[Any]) -> OrderRejected:
    rej = of(events, OrderRejected)
    assert len(rej) == 1, events
    return rej[0]


def test_max_notional_rejects_with_limit_and_value() -> None:
    """An order over the account's max notional is rejected with the limit and the value in JPY."""
    h = harness({"max_notional": "1000000"})
    ev = h.submit("A", TOY, BUY, 1250, price=1000)
    r = rejected(ev)
    assert r.reason is R.RISK_MAX_NOTIONAL
    assert r.text == "max notional 1,000,000 JPY exceeded: 1,250,000"
    assert (r.field, r.value) == ("max_notional", "1,250,000")
    (b,) = of(ev, LimitBreached)
    assert (b.account, b.scope, b.limit, b.limit_value, b.value) == (
        "A",
        "account",
        "max_notional",
        "1,000,000",
        "1,250,000",
    )
    assert of(h.submit("A", TOY, BUY, 1000, price=1000), OrderAccepted)


def test_market_order_notional_uses_the_mark() -> None:
    """A market order's notional is valued at the mark."""
    h = harness({"max_notional": "1000000"})
    assert rejected(h.submit("A", TOY, BUY, 1001, order_type="MARKET")).reason is R.RISK_MAX_NOTIONAL


def test_max_order_qty() -> None:
    """An order above the max order quantity is rejected; an instrument override wins."""
    h = harness({"max_order_qty": "500", "instruments": {TOY: {"max_order_qty": "300"}}})
    r = rejected(h.submit("A", TOY, BUY, 301, price=1000))
    assert r.reason is R.RISK_MAX_ORDER_QTY and r.text == "max order qty 300 exceeded: 301"
    assert of(h.submit("A", TOY, BUY, 300, price=1000), OrderAccepted)


def test_price_collar_percent() -> None:
    """A limit price more than the collar percent from the mark is rejected."""
    h = harness({"collar_bp": 1000})
    r = rejected(h.submit("A", TOY, BUY, 1, price=1101))
    assert r.reason is R.RISK_PRICE_COLLAR
    assert r.text == "price collar 900..1,100 around reference 1,000 exceeded: 1,101"
    assert of(h.submit("A", TOY, BUY, 1, price=1100), OrderAccepted)
    assert of(h.submit("A", TOY, SELL, 1, price=900), OrderAccepted)


def test_price_collar_ticks() -> None:
    """A collar in ticks uses the tick at the reference price."""
    h = harness({"collar_ticks": 5})
    assert rejected(h.submit("A", TOY, SELL, 1, price=994)).reason is R.RISK_PRICE_COLLAR
    assert of(h.submit("A", TOY, SELL, 1, price=995), OrderAccepted)


def test_collar_against_reference_price() -> None:
    """With collar_reference = "reference" the collar centres on the engine's reference price."""
    from system.engine import SetReferencePrice

    h = harness({"collar_bp": 500}, collar_reference="reference")
    h.do(SetReferencePrice(TOY, 2000))
    assert of(h.submit("A", TOY, BUY, 1, price=2090), OrderAccepted)
    assert rejected(h.submit("A", TOY, BUY, 1, price=1000)).reason is R.RISK_PRICE_COLLAR


def test_max_open_orders() -> None:
    """The order past the max number of open orders is rejected; a cancel frees a slot."""
    h = harness({"max_open_orders": 2})
    a = of(h.submit("A", TOY, BUY, 1, price=990), OrderAccepted)[0]
    h.submit("A", TOY, BUY, 1, price=991)
    r = rejected(h.submit("A", TOY, BUY, 1, price=992))
    assert r.reason is R.RISK_MAX_OPEN_ORDERS and r.text == "max open orders 2 exceeded: 3"
    from system.engine import CancelOrder

    h.do(CancelOrder("A", TOY, a.order_id))
    assert of(h.submit("A", TOY, BUY, 1, price=992), OrderAccepted)


def test_max_order_rate_per_second_uses_command_time() -> None:
    """The rate limit counts orders accepted in the last second of command time."""
    h = harness({"max_orders_per_second": 2})
    t = h.clock.t
    h.at(t, SetMarkPrice(TOY, 1000))
    for i in range(2):
        h.clock.t = t + i
        assert of(h.submit("A", TOY, BUY, 1, price=990), OrderAccepted)
    h.clock.t = t + 999_999_999
    r = rejected(h.submit("A", TOY, BUY, 1, price=990))
    assert r.reason is R.RISK_MAX_ORDER_RATE and r.text == "max orders per second 2 exceeded: 3"
    h.clock.t = t + 1_000_000_000  # the first order left the window
    assert of(h.submit("A", TOY, BUY, 1, price=990), OrderAccepted)


def test_position_limit_counts_open_orders_on_the_same_side() -> None:
    """A position limit holds against the position plus every open order on that side."""
    h = harness({"max_position": "100"})
    h.submit("A", TOY, BUY, 60, price=990)
    r = rejected(h.submit("A", TOY, BUY, 41, price=990))
    assert r.reason is R.RISK_POSITION_LIMIT and r.text == "max position 100 exceeded: 101"
    assert of(h.submit("A", TOY, SELL, 100, price=1010), OrderAccepted)  # sells reduce the long worst case


def test_buying_power_with_credit() -> None:
    """Buying power is equity plus credit minus initial margin; an order needing more is rejected."""
    h = harness(
        {"balances": {"JPY": "100000"}, "credit": "50000"},
        instruments={TOY: {"initial_bp": 5000, "maintenance_bp": 2500}},
    )
    # 300 @ 1000 needs 150,000 of initial margin: exactly cash + credit.
    assert of(h.submit("A", TOY, BUY, 300, price=1000), OrderAccepted)
    r = rejected(h.submit("A", TOY, BUY, 2, price=1000))
    assert r.reason is R.RISK_BUYING_POWER
    assert r.text == "buying power 0 JPY exceeded: 1,000"
    assert of(h.submit("A", TOY, SELL, 300, price=1001), OrderAccepted)  # no new worst-case exposure


def test_buying_power_across_currencies_uses_fx() -> None:
    """Cash in another currency counts at the pricing FX rate."""
    h = harness(
        {"balances": {"USD": "1000"}, "credit": "0"},
        instruments={TOY: {"initial_bp": 10000, "maintenance_bp": 5000}},
    )
    r = rejected(h.submit("A", TOY, BUY, 100, price=1000))
    assert r.reason is R.RISK_BUYING_POWER  # USD is worth nothing without a rate
    h.do(SetFxRate("USD", "JPY", 150, 0))
    assert of(h.submit("A", TOY, BUY, 150, price=1000), OrderAccepted)  # 150,000 JPY of margin
    assert rejected(h.submit("A", TOY, BUY, 1, price=1000)).reason is R.RISK_BUYING_POWER


def test_notional_in_account_currency_needs_fx() -> None:
    """A USD account's notional limit on a JPY instrument converts with FX, and rejects without it."""
    h = harness({"currency": "USD", "max_notional": "1000"})
    r = rejected(h.submit("A", TOY, BUY, 100, price=1000))
    assert r.reason is R.RISK_NO_FX_RATE
    h.do(SetFxRate("USD", "JPY", 100, 0))
    assert of(h.submit("A", TOY, BUY, 100, price=1000), OrderAccepted)  # 100,000 JPY = 1,000 USD
    r = rejected(h.submit("A", TOY, BUY, 101, price=1000))
    assert r.text == "max notional 1,000 USD exceeded: 1,010"


def test_firm_limits_apply_across_accounts() -> None:
    """Firm limits add up every account: open orders and net position."""
    h = harness(firm={"max_open_orders": 2, "max_position": "100"})
    h.submit("A", TOY, BUY, 50, price=990)
    h.submit("B", TOY, BUY, 50, price=990)
    r = rejected(h.submit("C", TOY, SELL, 1, price=1010))
    assert r.reason is R.RISK_MAX_OPEN_ORDERS and r.text.startswith("firm max open orders 2")
    (b,) = of(h.submit("C", TOY, SELL, 1, price=1010), LimitBreached)
    assert b.scope == "firm"


def test_firm_position_and_notional() -> None:
    """The firm's position limit and per-order notional limit reject in the firm's currency."""
    h = harness(firm={"max_position": "100", "max_notional": "50000"})
    h.submit("A", TOY, BUY, 40, price=1000)
    r = rejected(h.submit("B", TOY, BUY, 61, price=1000))
    assert r.reason is R.RISK_MAX_NOTIONAL and r.text == "firm max notional 50,000 JPY exceeded: 61,000"
    h.submit("B", TOY, BUY, 50, price=1000)
    r = rejected(h.submit("C", TOY, BUY, 11, price=1000))
    assert r.reason is R.RISK_POSITION_LIMIT and r.text == "firm max position 100 exceeded: 101"


def test_replace_is_checked_for_qty_and_collar() -> None:
    """A replace above max order qty or outside the collar is rejected and the order stays."""
    h = harness({"max_order_qty": "100", "collar_bp": 1000})
    o = of(h.submit("A", TOY, BUY, 10, price=990), OrderAccepted)[0]
    r = rejected(h.do(ReplaceOrder("A", TOY, o.order_id, qty=101)))
    assert r.reason is R.RISK_MAX_ORDER_QTY and r.order_id == o.order_id
    assert rejected(h.do(ReplaceOrder("A", TOY, o.order_id, price=1200))).reason is R.RISK_PRICE_COLLAR
    assert h.accounts.open_orders("A")[0].leaves == 10


def test_kill_switch_cancels_blocks_and_release_restores() -> None:
    """Engaging the kill switch cancels the account's orders and blocks new ones; release restores."""
    h = harness()
    h.submit("A", TOY, BUY, 10, price=990)
    h.submit("A", TOY, SELL, 10, price=1010)
    h.submit("B", TOY, BUY, 10, price=980)
    ev = h.do(EngageKillSwitch("A", "desk call"))
    (k,) = of(ev, KillSwitchEngaged)
    assert (k.account, k.reason, k.manual) == ("A", "desk call", True)
    assert [c.account for c in of(ev, OrderCancelled)] == ["A", "A"]
    assert h.accounts.open_orders("A") == [] and len(h.accounts.open_orders("B")) == 1
    r = rejected(h.submit("A", TOY, BUY, 1, price=990))
    assert r.reason is R.RISK_KILL_SWITCH
    assert h.accounts.kill_switch("A")
    assert of(h.do(ReleaseKillSwitch("A")), KillSwitchReleased)
    assert of(h.submit("A", TOY, BUY, 1, price=990), OrderAccepted)
    assert not h.accounts.kill_switch("A")


def test_kill_switch_twice_and_release_unengaged_are_refused() -> None:
    """Engaging twice or releasing an unengaged switch is refused with a clear text."""
    h = harness()
    assert of(h.do(ReleaseKillSwitch("A")), RiskCommandRejected)[0].text == "kill switch not engaged for A"
    h.do(EngageKillSwitch("A"))
    assert of(h.do(EngageKillSwitch("A")), RiskCommandRejected)[0].text == "kill switch already engaged for A"


def test_firm_kill_switch_cancels_every_account() -> None:
    """The firm-wide kill switch cancels every account's orders and blocks all of them."""
    h = harness()
    h.submit("A", TOY, BUY, 10, price=990)
    h.submit("B", TOY, SELL, 10, price=1010)
    ev = h.do(EngageKillSwitch(FIRM))
    assert sorted(c.account for c in of(ev, OrderCancelled)) == ["A", "B"]
    assert rejected(h.submit("C", TOY, BUY, 1, price=990)).reason is R.RISK_KILL_SWITCH
    h.do(ReleaseKillSwitch(FIRM))
    assert of(h.submit("C", TOY, BUY, 1, price=990), OrderAccepted)


def test_automatic_kill_switch_on_configured_breach() -> None:
    """A breach of a limit listed in kill_on engages the kill switch and cancels open orders."""
    h = harness({"max_order_qty": "100", "kill_on": ["max_order_qty"]})
    h.submit("A", TOY, BUY, 10, price=990)
    ev = h.submit("A", TOY, BUY, 101, price=990)
    assert [type(e).__name__ for e in ev] == [
        "OrderRejected",
        "LimitBreached",
        "KillSwitchEngaged",
        "OrderCancelled",
    ]
    k = of(ev, KillSwitchEngaged)[0]
    assert (k.manual, k.reason) == (False, "automatic: max_order_qty")
    assert rejected(h.submit("A", TOY, BUY, 1, price=990)).reason is R.RISK_KILL_SWITCH


def test_unconfigured_limits_let_orders_through() -> None:
    """With no limits configured an order goes straight to the engine and trades."""
    h = harness()
    assert of(h.cross("A", "B", TOY, 10, 1000), TradeExecuted)


def test_lean_counters_catch_up_with_acceptances_made_elsewhere() -> None:
    """Lean risk compares the open-order and rate counters only when enough orders have been
    accepted since its last compare to reach a limit (Risk._counters): orders of other
    accounts and instruments count towards the firm's limit, which is still hit on the exact
    order that reaches it."""
    other = "XTKS:6758"
    cfg: dict[str, Any] = {
        "margin": {"initial_bp": 0, "maintenance_bp": 0},
        "default_account": {"max_open_orders": 4, "max_orders_per_second": 1000},
        "accounts": {"C": {"max_open_orders": 100}},
        "firm": {"max_open_orders": 7},
    }
    h = RiskHarness(stock(TOY, price_increment="1"), stock(other, price_increment="1"), risk=cfg)
    assert h.system.component(Risk).lean
    assert of(h.submit("C", TOY, SELL, 1, price=1500), OrderAccepted)  # C's headroom: the firm's 7
    for i in range(4):
        assert of(h.submit("A", TOY, BUY, 1, price=900 + i), OrderAccepted)
    assert rejected(h.submit("A", TOY, BUY, 1, price=950)).reason is R.RISK_MAX_OPEN_ORDERS
    for i in range(2):  # the firm's seventh open order, through another account and instrument
        assert of(h.submit("B", other, SELL, 1, price=2000 + i), OrderAccepted)
    r = rejected(h.submit("C", TOY, SELL, 1, price=1501))
    assert (r.reason, r.field) == (R.RISK_MAX_OPEN_ORDERS, "max_open_orders")
    assert r.text.startswith("firm ")
    assert of(h.do(CancelOrder("B", other, 6)), OrderCancelled)  # B's first (1 to 5: C and A)
    assert of(h.submit("C", TOY, SELL, 1, price=1501), OrderAccepted)
    assert rejected(h.submit("A", TOY, BUY, 1, price=950)).reason is R.RISK_MAX_OPEN_ORDERS
