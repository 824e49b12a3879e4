"""Steps that look at the order book: as a ladder of levels, as levels by side, or order by order."""

from __future__ import annotations

import contextlib

from steps import describe
from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import then
from steps.tables import Table, diff
from system.engine import BookView, Instrument

LADDER = ("bid orders", "bid qty", "bid", "ask", "ask qty", "ask orders")
LEVELS = ("side", "price", "qty", "total", "orders")
ORDERS = ("side", "price", "qty", "total", "visible", "order", "account", "type", "tif")


def book_rows(
    view: BookView, inst: Instrument, table: Table, ctx: Scenario
) -> tuple[list[str], list[dict[str, str]]]:
    """The actual book in the shape of the expected table: (columns, rows)."""

    def px(p: int | None) -> str:
        return V.fmt_price(inst, p)

    def qt(q: int | None) -> str:
        return V.fmt_qty(inst, q)

    cols = list(table.headers)
    rows: list[dict[str, str]] = []
    if any(h in LADDER for h in cols):
        table.require(LADDER, "book ladder")
        for i in range(max(len(view.bids), len(view.asks))):
            row = dict.fromkeys(LADDER, "")
            if i < len(view.bids):
                b = view.bids[i]
                row.update({"bid orders": str(b.count), "bid qty": qt(b.qty), "bid": px(b.price)})
            if i < len(view.asks):
                a = view.asks[i]
                row.update({"ask": px(a.price), "ask qty": qt(a.qty), "ask orders": str(a.count)})
            rows.append(row)
    elif "order" in cols or "account" in cols:
        table.require(ORDERS, "book orders")
        for side, levels in (("BUY", view.bids), ("SELL", view.asks)):
            for lvl in levels:
                for o in lvl.orders:
                    rows.append(
                        {
                            "side": side,
                            "price": px(lvl.price),
                            "qty": qt(o.leaves),
                            "total": qt(o.qty),
                            "visible": qt(o.visible),
                            "order": ctx.name_of(o.order_id),
                            "account": o.account,
                            "type": str(o.order_type),
                            "tif": str(o.tif),
                        }
                    )
    else:
        table.require(LEVELS, "book levels")
        for side, levels in (("BUY", view.bids), ("SELL", view.asks)):
            for lvl in levels:
                rows.append(
                    {
                        "side": side,
                        "price": px(lvl.price),
                        "qty": qt(lvl.qty),
                        "total": qt(lvl.total),
                        "orders": str(lvl.count),
                    }
                )
    return cols, rows


def _norm_expected(table: Table) -> list[dict[str, str]]:
    out = []
    for row in table.dicts():
        if "side" in row:
            with contextlib.suppress(StepInputError):  # left as written, the diff shows it
                row["side"] = str(V.side(row["side"]))
        out.append(row)
    return out


def check_book(ctx: Scenario, view: BookView, inst: Instrument, table: Table, title: str) -> None:
    cols, actual = book_rows(view, inst, table, ctx)
    problem = diff(title, cols, _norm_expected(table), actual)
    if problem is not None:
        raise AssertionError(problem + "\n" + _recent(ctx, inst.id))


def _recent(ctx: Scenario, instrument: str) -> str:
    return describe.recent(ctx.events(), ctx.instruments, ctx.zone(), ctx.name_of, instrument=instrument)


@then("the {ref:Ref} book is:", "Then the XTKS:7203 book is:\n  | bid qty | bid | ask | ask qty |")
def book_is(ctx: Scenario, ref: str, table: Table) -> None:
    """Compare the whole book. The header picks the shape: a ladder (bid orders, bid qty, bid, ask,
    ask qty, ask orders: row n is the n-th best level of each side), levels (side, price, qty, total,
    orders: bids best first, then asks best first), or orders (with an order or account column:
    side, price, qty (open), total, visible, order, account, type, tif, in priority order). Only the
    columns given are compared; quantities shown are the displayed ones."""
    inst = ctx.inst(ref)
    check_book(ctx, ctx.system().book(inst.id), inst, table, f"The {inst.id} book differs")


@then("the {ref:Ref} book is empty", "Then the XTKS:7203 book is empty")
def book_empty(ctx: Scenario, ref: str) -> None:
    """No bids and no asks rest on the book."""
    inst = ctx.inst(ref)
    view = ctx.system().book(inst.id)
    if view.bids or view.asks:
        t = Table(("bid qty", "bid", "ask", "ask qty"), ())
        _, rows = book_rows(view, inst, t, ctx)
        problem = diff(f"The {inst.id} book is not empty", list(t.headers), [], rows)
        raise AssertionError(f"{problem}\n{_recent(ctx, inst.id)}")


@then("the best {which:Word} of {ref:Ref} is {price:Price}", "Then the best bid of XTKS:7203 is 2500")
def best(ctx: Scenario, which: str, ref: str, price: str) -> None:
    """The best bid or ask price ('none' for an empty side)."""
    inst = ctx.inst(ref)
    view = ctx.system().book(inst.id)
    if which not in ("bid", "ask"):
        raise StepInputError(f"'best {which}': say best bid or best ask")
    got = view.best_bid if which == "bid" else view.best_ask
    want = None if price.lower() == "none" else V.price(inst, price)
    assert got == want, (
        f"the best {which} of {inst.id} is {V.fmt_price(inst, got) or 'none'}, expected {price}\n"
        + _recent(ctx, inst.id)
    )


@then("the last price of {ref:Ref} is {price:Price}", "Then the last price of XTKS:7203 is 2500")
def last_price(ctx: Scenario, ref: str, price: str) -> None:
    """The price of the latest trade."""
    inst = ctx.inst(ref)
    got = ctx.system().book(inst.id).last_price
    assert got == V.price(inst, price), (
        f"the last price of {inst.id} is {V.fmt_price(inst, got) or 'none'}, expected {price}"
    )


@then("the {ref:Ref} book is not crossed", "Then the XTKS:7203 book is not crossed")
def not_crossed(ctx: Scenario, ref: str) -> None:
    """The best bid is below the best ask (or a side is empty)."""
    inst = ctx.inst(ref)
    view = ctx.system().book(inst.id)
    assert not view.crossed(), (
        f"the {inst.id} book is crossed: bid {V.fmt_price(inst, view.best_bid)} "
        f">= ask {V.fmt_price(inst, view.best_ask)}"
    )
