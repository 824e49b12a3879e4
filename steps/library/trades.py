"""Steps about trades and executions. They look at what happened since the latest block of When
steps began (the whole scenario when there was none), so setup trades do not get in the way."""

from __future__ import annotations

from typing import Any

from steps import describe
from steps import values as V
from steps.context import Scenario
from steps.registry import then
from steps.tables import Table, diff
from system.engine import TradeExecuted

TRADE_COLUMNS = (
    "instrument",
    "price",
    "qty",
    "buyer",
    "seller",
    "aggressor",
    "buy order",
    "sell order",
    "time",
    "cross instrument",
    "cross price",
    "fx rate",
)


def _trades(ctx: Scenario) -> list[tuple[int, TradeExecuted]]:
    return [(e.valid_time, e.record) for e in ctx.action_events() if isinstance(e.record, TradeExecuted)]


def _row(ctx: Scenario, t: int, tr: TradeExecuted) -> dict[str, str]:
    inst = ctx.instruments.get(tr.instrument)
    cross = ctx.instruments.get(tr.cross_instrument or "")
    return {
        "instrument": tr.instrument,
        "price": V.fmt_price(inst, tr.price),
        "qty": V.fmt_qty(inst, tr.qty),
        "buyer": tr.buy_account,
        "seller": tr.sell_account,
        "aggressor": str(tr.aggressor).lower() if tr.aggressor else "auction",
        "buy order": ctx.name_of(tr.buy_order_id),
        "sell order": ctx.name_of(tr.sell_order_id),
        "time": V.local(t, ctx.zone()),
        "cross instrument": tr.cross_instrument or "",
        "cross price": V.fmt_price(cross, tr.cross_price),
        "fx rate": describe.fx_rate(tr.fx_mantissa, tr.fx_exponent) if tr.fx_base else "",
    }


def _context(ctx: Scenario, instrument: str | None = None) -> str:
    return describe.recent(ctx.events(), ctx.instruments, ctx.zone(), ctx.name_of, instrument=instrument)


@then("the trades are:", "Then the trades are:\n  | price | qty | buyer | seller |")
def trades_are(ctx: Scenario, table: Table) -> None:
    """Exactly these trades, in order. Columns: instrument, price, qty, buyer, seller, aggressor
    (buy, sell, or auction), buy order, sell order, time; for a cross-currency fill, cross
    instrument (the aggressor's book), cross price (the price converted into it) and fx rate
    (empty cells for a fill within one book). 'price' is always in the resting book's units."""
    table.require(TRADE_COLUMNS, "trades")
    actual = [_row(ctx, t, tr) for t, tr in _trades(ctx)]
    expected = []
    for r in table.dicts():
        if "aggressor" in r:
            r["aggressor"] = r["aggressor"].lower().replace("buyer", "buy").replace("seller", "sell")
        expected.append(r)
    problem = diff("The trades differ", list(table.headers), expected, actual)
    if problem is not None:
        raise AssertionError(problem + "\n" + _context(ctx))


@then("no trade happens", "Then no trade happens")
def no_trade(ctx: Scenario) -> None:
    """Nothing traded."""
    got = _trades(ctx)
    assert not got, f"{len(got)} trade(s) happened:\n" + "\n".join(
        "  " + " ".join(f"{k}={v}" for k, v in _row(ctx, t, tr).items() if v) for t, tr in got
    )


@then("{n:Int} trades happen", "Then 3 trades happen")
def n_trades(ctx: Scenario, n: str) -> None:
    """That many fills."""
    got = _trades(ctx)
    want = V.integer(n, "trade count")
    assert len(got) == want, f"{len(got)} trades happened, expected {want}\n{_context(ctx)}"


@then(
    "a trade of {qty:Qty} {ref:Ref} at {price:Price} happens",
    "Then a trade of 100 XTKS:7203 at 2500 happens",
)
def a_trade(ctx: Scenario, qty: str, ref: str, price: str) -> None:
    """Among the trades, one of that size and price."""
    inst = ctx.inst(ref)
    want = (inst.id, V.qty(inst, qty), V.price(inst, price))
    got = _trades(ctx)
    assert any((tr.instrument, tr.qty, tr.price) == want for _, tr in got), (
        f"no trade of {qty} {inst.id} at {price}; trades: "
        + (", ".join(f"{V.fmt_qty(inst, tr.qty)}@{V.fmt_price(inst, tr.price)}" for _, tr in got) or "none")
        + "\n"
        + _context(ctx, inst.id)
    )


@then("{account:Name} has traded {qty:Qty} {ref:Ref}", "Then alice has traded 300 XTKS:7203")
def traded_volume(ctx: Scenario, account: str, qty: str, ref: str) -> None:
    """The account's executed quantity in the instrument (bought plus sold) since the scenario began."""
    inst = ctx.inst(ref)
    total = 0
    for e in ctx.events():
        r: Any = e.record
        if isinstance(r, TradeExecuted) and r.instrument == inst.id:
            total += r.qty * ((r.buy_account == account) + (r.sell_account == account))
    assert total == V.qty(inst, qty), (
        f"{account} has traded {V.fmt_qty(inst, total)} {inst.id}, expected {qty}"
    )
