"""Steps for auditors: the day's recorded order flow rebased onto another date, under that date's
calendar and sessions (each order at the same venue-local time), and what it met there: the same
trades on a normal day, rejections on a holiday. Through the driver, as `chronex replay --rebase`."""

from __future__ import annotations

from steps import values as V
from steps.context import Scenario
from steps.drivers.base import RebaseView
from steps.errors import StepInputError
from steps.registry import then, when
from steps.tables import Table, diff
from system.engine import SubmitOrder, TradeExecuted


@when("the day's order flow is rebased onto {d:Date}", "When the day's order flow is rebased onto 2031-12-30")
def rebase(ctx: Scenario, d: str) -> None:
    """Replay the day's recorded order flow onto that date under its calendar and sessions, each
    order at the same venue-local time (the scenario must have a date: 'Given it is ... on XTKS')."""
    new = V.day(d)
    if not ctx.calendar:
        raise StepInputError(
            "rebasing needs the venues' calendars: start the scenario with 'Given it is 2027-01-04 on XTKS'"
        )
    try:
        ctx.bag["rebase"] = ctx.system().rebase(new)
    except ValueError as e:
        raise StepInputError(str(e)) from None


def _rebased(ctx: Scenario) -> RebaseView:
    res: RebaseView | None = ctx.bag.get("rebase")
    if res is None:
        raise StepInputError(
            'nothing has been rebased (add "When the day\'s order flow is rebased onto DATE")'
        )
    return res


REBASED_TRADE_COLUMNS = (
    "instrument",
    "price",
    "qty",
    "buyer",
    "seller",
    "buy order",
    "sell order",
    "date",
    "time",
)


def _trade_row(
    ctx: Scenario, instrument: str, price: int, qty: int, buyer: str, seller: str, buy: str, sell: str, t: int
) -> dict[str, str]:
    inst = ctx.instruments.get(instrument)
    date, _, clock = V.local(t, ctx.zone(), with_date=True).partition(" ")
    return {
        "instrument": instrument,
        "price": V.fmt_price(inst, price),
        "qty": V.fmt_qty(inst, qty),
        "buyer": buyer,
        "seller": seller,
        "buy order": buy,
        "sell order": sell,
        "date": date,
        "time": clock,
    }


def _rebased_rows(ctx: Scenario, res: RebaseView) -> list[dict[str, str]]:
    return [
        _trade_row(
            ctx,
            t.instrument,
            t.price,
            t.qty,
            t.buy_account,
            t.sell_account,
            t.buy_order,
            t.sell_order,
            t.time,
        )
        for t in res.trades
    ]


def _original_rows(ctx: Scenario) -> list[dict[str, str]]:
    return [
        _trade_row(
            ctx,
            r.instrument,
            r.price,
            r.qty,
            r.buy_account,
            r.sell_account,
            ctx.name_of(r.buy_order_id),
            ctx.name_of(r.sell_order_id),
            r.time,
        )
        for e in ctx.events()
        if isinstance(r := e.record, TradeExecuted)
    ]


def _rejections(res: RebaseView) -> str:
    if not res.rejections:
        return f"No order was rejected on {res.date}."
    counts: dict[str, int] = {}
    for r in res.rejections:
        counts[r.reason] = counts.get(r.reason, 0) + 1
    head = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    first = [
        f"  {r.account}/{r.client_order_id} {r.command}: {r.reason} {r.text}" for r in res.rejections[:5]
    ]
    return "\n".join([f"Rejections on {res.date}: {head}", *first])


@then(
    "the rebased day has the same trades as the original",
    "Then the rebased day has the same trades as the original",
)
def rebased_same_trades(ctx: Scenario) -> None:
    """The same trades (instrument, price, qty, both sides and their orders) at the same local
    times, on the new date."""
    res = _rebased(ctx)
    cols = [c for c in REBASED_TRADE_COLUMNS if c != "date"]
    problem = diff(
        f"The trades rebased onto {res.date} differ from the original ones",
        cols,
        _original_rows(ctx),
        _rebased_rows(ctx, res),
    )
    if problem is not None:
        raise AssertionError(problem + "\n" + _rejections(res))
    wrong = [r for r in _rebased_rows(ctx, res) if r["date"] != res.date.isoformat()]
    assert not wrong, f"{len(wrong)} rebased trades are not on {res.date}: {wrong[:3]}"


@then(
    "the rebased trades are:",
    "Then the rebased trades are:\n  | price | qty | buyer | seller | date | time |",
)
def rebased_trades(ctx: Scenario, table: Table) -> None:
    """Exactly these trades in the rebased day, in order. Columns: instrument, price, qty, buyer,
    seller, buy order, sell order, date and time (local)."""
    table.require(REBASED_TRADE_COLUMNS, "rebased trades")
    res = _rebased(ctx)
    problem = diff(
        f"The trades rebased onto {res.date} differ",
        list(table.headers),
        table.dicts(),
        _rebased_rows(ctx, res),
    )
    if problem is not None:
        raise AssertionError(problem + "\n" + _rejections(res))


@then("the rebased day has {n:Int} trades", "Then the rebased day has 0 trades")
def rebased_count(ctx: Scenario, n: str) -> None:
    """How many trades the rebased flow made ('no' is 0)."""
    res = _rebased(ctx)
    want = 0 if n == "no" else V.integer(n, "trade count")
    assert len(res.trades) == want, (
        f"the flow rebased onto {res.date} made {len(res.trades)} trades, expected {want}\n"
        + _rejections(res)
    )


@then(
    "every rebased order is rejected with reason {reason:Reason}",
    "Then every rebased order is rejected with reason WRONG_PHASE",
)
def rebased_all_rejected(ctx: Scenario, reason: str) -> None:
    """Each order of the day's flow was refused on the new date for that reason (a holiday:
    WRONG_PHASE, the market is closed), and none was accepted."""
    res = _rebased(ctx)
    submitted = [
        f"{e.record.account}/{e.record.client_order_id}"
        for e in ctx.events()
        if isinstance(e.record, SubmitOrder)
    ]
    refused = {
        f"{r.account}/{r.client_order_id}": r.reason for r in res.rejections if r.command == "SubmitOrder"
    }
    wrong = [f"{o} ({refused.get(o, 'accepted')})" for o in submitted if refused.get(o) != reason]
    assert submitted, "the day's flow has no orders to rebase"
    assert not wrong and res.accepted == 0, (
        f"on {res.date}, {len(wrong)} of {len(submitted)} orders were not rejected with {reason}: "
        + ", ".join(wrong[:8])
        + "\n"
        + _rejections(res)
    )
