"""Post-trade risk: positions, average cost, P&L, fees, margin, status events on crossing, and
corrections revising all of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from system.corrections import BustTrade, CorrectTrade, ReportLateTrade
from system.engine import OrderCancelled, Side, TradeExecuted
from system.pricing import SetFxRate, SetMarkPrice
from system.risk import (
    KillSwitchEngaged,
    MarginCall,
    MarginRestored,
    MarginWarning,
    margin_level,
)
from system.risk.testkit import RiskHarness, of, stock

TOY = "XTKS:7203"
BUY, SELL = Side.BUY, Side.SELL


def margin_harness(method: str = "manual", **acct: Any) -> RiskHarness:
    risk = {
        "accounts": {
            "A": {"balances": {"JPY": "100000"}, **acct},
            "B": {"balances": {"JPY": "10000000"}},
            "C": {"balances": {"JPY": "10000000"}},
        },
        "instruments": {TOY: {"initial_bp": 2000, "maintenance_bp": 1000}},
    }
    h = RiskHarness(stock(TOY), risk=risk, pricing={"default_method": method})
    if method == "manual":
        h.do(SetMarkPrice(TOY, 1000))
    return h


def test_price_move_past_80_percent_warns_and_past_100_calls() -> None:
    """A falling mark takes A past 80% utilisation (MarginWarning) then past 100% (MarginCall)."""
    h = margin_harness()
    h.cross("A", "B", TOY, 600, 1000)  # maintenance 60,000 on equity 100,000: 60%
    m = h.accounts.margin("A")
    assert m is not None and (m.utilisation_bp, m.level) == (6000, 0)
    (w,) = of(h.do(SetMarkPrice(TOY, 950)), MarginWarning)  # equity 70,000, mm 57,000: 81.4%
    assert (w.account, w.currency, w.utilisation_bp, w.maintenance_margin, w.equity) == (
        "A",
        "JPY",
        8142,
        57000,
        70000,
    )
    assert of(h.do(SetMarkPrice(TOY, 945)), MarginWarning) == []  # still above: no repeat
    ev = h.do(SetMarkPrice(TOY, 920))  # equity 52,000, mm 55,200: 106%
    (c,) = of(ev, MarginCall)
    assert c.utilisation_bp == 10615 and of(ev, MarginWarning) == []
    assert h.accounts.margin("A").level == 2  # type: ignore[union-attr]
    (r,) = of(h.do(SetMarkPrice(TOY, 1000)), MarginRestored)
    assert (r.level, r.utilisation_bp) == (0, 6000)


def test_jump_straight_past_100_emits_warning_then_call() -> None:
    """A jump across both levels emits the warning and the call, in that order."""
    h = margin_harness()
    h.cross("A", "B", TOY, 600, 1000)
    ev = h.do(SetMarkPrice(TOY, 900))
    assert [type(e).__name__ for e in ev if isinstance(e, (MarginWarning, MarginCall))] == [
        "MarginWarning",
        "MarginCall",
    ]


def test_trades_move_the_mark_with_the_last_method() -> None:
    """With last-trade marks, other accounts trading lower revalue A and warn it."""
    h = margin_harness(method="last")
    h.cross("A", "B", TOY, 600, 1000)
    ev = h.cross("C", "B", TOY, 1, 950)
    assert of(ev, TradeExecuted) and len(of(ev, MarginWarning)) == 1


def test_margin_call_engages_the_kill_switch_when_configured() -> None:
    """kill_on = ["margin_call"]: the call engages A's kill switch and cancels its open orders."""
    h = margin_harness(kill_on=["margin_call"])
    h.cross("A", "B", TOY, 600, 1000)
    h.submit("A", TOY, BUY, 10, price=800)
    ev = h.do(SetMarkPrice(TOY, 900))
    names = [type(e).__name__ for e in ev]
    assert names[-3:] == ["MarginCall", "KillSwitchEngaged", "OrderCancelled"]
    assert of(ev, KillSwitchEngaged)[0].reason == "automatic: margin_call"
    assert of(ev, OrderCancelled)[0].account == "A"


def test_rearm_holds_a_level_until_well_below() -> None:
    """With rearm_bp a level clears only that far below its threshold."""
    assert margin_level(79, 100, 1, 8000, 10000, 500) == 1
    assert margin_level(74, 100, 1, 8000, 10000, 500) == 0
    assert margin_level(99, 100, 2, 8000, 10000, 500) == 2
    assert margin_level(94, 100, 2, 8000, 10000, 500) == 1
    assert margin_level(10, 0, 0, 8000, 10000, 0) == 2  # no equity left
    assert margin_level(0, -5, 0, 8000, 10000, 0) == 0  # no positions, no margin


def test_average_cost_realised_and_unrealised() -> None:
    """Average cost blends buys; a sale realises against it; the rest is marked to market."""
    h = margin_harness()
    h.cross("A", "B", TOY, 100, 1000)
    h.cross("A", "B", TOY, 100, 1100)
    (p,) = h.accounts.positions("A")
    assert (p.qty, p.avg_price) == (200, Decimal("1050"))
    h.cross("B", "A", TOY, 150, 1200)
    h.do(SetMarkPrice(TOY, 1300))
    (p,) = h.accounts.positions("A")
    assert (p.qty, p.avg_price, p.realised, p.unrealised) == (50, Decimal("1050"), 22500, 12500)
    (b,) = h.accounts.positions("B")
    assert b.qty == -50 and b.realised == -22500
    assert h.accounts.balances("A") == {"JPY": 122500}


def test_fees_at_maker_and_taker_rates_round_up() -> None:
    """Fees are charged per fill at the maker or taker rate, rounded up to the yen."""
    risk = {
        "default_account": {"maker_fee_bp": 1, "taker_fee_bp": 3},
        "accounts": {"A": {"balances": {"JPY": "1000000"}, "maker_fee_bp": 1, "taker_fee_bp": 3}},
    }
    h = RiskHarness(stock(TOY), risk=risk, pricing={"default_method": "manual"})
    h.cross("A", "B", TOY, 333, 1001)  # notional 333,333: maker B 33.33 -> 34, taker A 99.99 -> 100
    assert h.accounts.pnl("A")[0].fees == 100
    assert h.accounts.pnl("B")[0].fees == 34
    assert h.accounts.balances("A") == {"JPY": 999900}


def test_margin_nets_within_an_instrument_and_counts_open_orders() -> None:
    """Initial margin is on the worst case of position plus open buys or minus open sells."""
    h = margin_harness()
    h.cross("A", "B", TOY, 100, 1000)  # long 100
    h.submit("A", TOY, SELL, 100, price=1100)  # flat if it fills: worst case stays 100
    m = h.accounts.margin("A")
    assert m is not None and m.initial_margin == 100 * 1000 * 2000 // 10000
    h.submit("A", TOY, BUY, 50, price=900)  # worst case 150 long
    m = h.accounts.margin("A")
    assert m is not None and (m.initial_margin, m.maintenance_margin) == (30000, 10000)


def test_pnl_in_other_currency_converts_to_account_currency() -> None:
    """A USD-quoted position counts in a JPY account's equity at the FX rate."""
    usd = stock("XNYS:IBM", quote_currency="USD", price_increment="0.01")
    risk = {"accounts": {"A": {"balances": {"JPY": "1000000"}}}}
    h = RiskHarness(usd, risk=risk, pricing={"default_method": "manual"})
    h.do(SetFxRate("USD", "JPY", 150, 0))
    h.cross("A", "B", "XNYS:IBM", 10, 10000)  # 10 @ 100.00 USD
    h.do(SetMarkPrice("XNYS:IBM", 11000))  # +10 USD a share
    m = h.accounts.margin("A")
    assert m is not None and m.unrealised == 100 * 150  # 100 USD = 15,000 JPY
    assert h.accounts.pnl("A")[0].currency == "USD" and h.accounts.pnl("A")[0].unrealised == 10000  # cents


def test_bust_reverts_position_cash_and_fees() -> None:
    """A busted trade leaves positions, realised P&L and fees as if it never happened."""
    h = margin_harness(taker_fee_bp=10)
    h.cross("A", "B", TOY, 100, 1000)
    t = of(h.cross("B", "A", TOY, 100, 1100), TradeExecuted)[0]
    assert h.accounts.positions("A")[0].realised == 10000
    h.do(BustTrade(t.trade_id))
    (p,) = h.accounts.positions("A")
    assert (p.qty, p.realised) == (100, 0)
    assert h.accounts.balances("A") == {"JPY": 100000 - 100}  # only the first fill's taker fee


def test_correction_and_late_trade_revise_average_cost() -> None:
    """A corrected price and a late trade at an earlier time are refolded in time order."""
    h = margin_harness()
    t0 = h.clock.t
    t = of(h.cross("A", "B", TOY, 100, 1000), TradeExecuted)[0]
    h.do(CorrectTrade(t.trade_id, price=1010))
    assert h.accounts.positions("A")[0].avg_price == Decimal("1010")
    h.clock.t = t0 + 10**9
    h.do(ReportLateTrade(TOY, 990, 100, "A", "C", t0 - 10**9))
    (p,) = h.accounts.positions("A")
    assert (p.qty, p.avg_price) == (200, Decimal("1000"))
    assert h.accounts.position_qty("C", TOY) == -100
