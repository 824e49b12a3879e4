"""Steps for corrections: busting a trade, correcting its price or quantity, reporting a late trade,
correcting a published price, and the rejection of a bad correction.

A correction is logged when it is made (its recorded time is the clock's, "at 16:05" runs the
clock there first) and is valid at the time it amends (docs/replay.md), so the audit steps
("Then as of 10:30, as known at 16:00, ...") see the day both as it was known and as corrected.

Trades are named as "trade 2 of XTKS:7203" (the second trade of that instrument in the log, busted
ones included), "the trade of b1 and s1" (the one trade between two named orders) or "trade #7"
(the engine's trade id, sent as is: an unknown id is for the system to reject).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from steps import describe
from steps import values as V
from steps.context import Scenario
from steps.drivers import Reply
from steps.errors import StepInputError
from steps.registry import then, when
from system.corrections import CorrectionRejected
from system.engine import Instrument, TradeExecuted

_TRADE = re.compile(
    r"^(?:trade (?P<n>\S+) of (?P<ref>\S+)|trade #(?P<id>\S+)"
    r"|the trade (?:of|between) (?P<a>\S+) and (?P<b>\S+))$"
)
TRADE_FORMS = "'trade 1 of XTKS:7203', 'the trade of b1 and s1' or 'trade #7'"


def _trades(ctx: Scenario) -> list[TradeExecuted]:
    return [e.record for e in ctx.events() if isinstance(e.record, TradeExecuted)]


def _listing(ctx: Scenario, trades: list[TradeExecuted]) -> str:
    if not trades:
        return "no trade yet"
    lines = []
    numbers: dict[str, int] = {}
    for t in trades:
        n = numbers[t.instrument] = numbers.get(t.instrument, 0) + 1
        inst = ctx.instruments.get(t.instrument)
        lines.append(
            f"  trade {n} of {t.instrument} (#{t.trade_id}): {V.fmt_qty(inst, t.qty)} at "
            f"{V.fmt_price(inst, t.price)}, {t.buy_account} ({ctx.name_of(t.buy_order_id)}) buys from "
            f"{t.sell_account} ({ctx.name_of(t.sell_order_id)})"
        )
    return "trades so far:\n" + "\n".join(lines)


def trade_id(ctx: Scenario, text: str) -> int:
    """The engine's id of the trade a scenario names (see the module's docstring)."""
    m = _TRADE.match(text.strip())
    if m is None:
        raise StepInputError(f"{text!r} does not name a trade (use {TRADE_FORMS})")
    if m["id"]:
        return V.integer(m["id"], "trade id")
    trades = _trades(ctx)
    if m["ref"]:
        inst = ctx.inst(m["ref"])
        n = V.integer(m["n"], "trade number")
        mine = [t for t in trades if t.instrument == inst.id]
        if not 1 <= n <= len(mine):
            raise StepInputError(
                f"there is no trade {n} of {inst.id}: it has traded {len(mine)} times; "
                + _listing(ctx, trades)
            )
        return mine[n - 1].trade_id
    a, b = ctx.order_ref(m["a"]), ctx.order_ref(m["b"])
    hits = [t for t in trades if {t.buy_order_id, t.sell_order_id} == {a.order_id, b.order_id}]
    if len(hits) != 1:
        how = "never traded with each other" if not hits else f"traded {len(hits)} times"
        raise StepInputError(
            f"orders {a.name} and {b.name} {how}, so {text!r} names no single trade "
            f"(use 'trade N of INSTRUMENT'); {_listing(ctx, trades)}"
        )
    return hits[0].trade_id


def _at(ctx: Scenario, t: str | None, act: Callable[[], Reply]) -> None:
    """Run the clock to ``t`` (when given), then make the correction and keep its reply."""
    drv = ctx.system()
    if t is not None:
        at = ctx.instant(t)
        if at < drv.now():
            now = V.local(drv.now(), ctx.zone(), with_date=True)
            raise StepInputError(f"{t!r} is in the past (the clock reads {now}); corrections are made now")
        drv.run_until(at)
    ctx.last_reply = act()


@when("{trade:Text} is busted at {t:Time}", "When trade 1 of XTKS:7203 is busted at 16:05")
def bust_at(ctx: Scenario, trade: str, t: str) -> None:
    """At that time (the clock runs there), cancel the trade as if it never happened: positions,
    cash and the mark it set revert at the trade's own time. The trade is 'trade N of REF',
    'the trade of NAME and NAME' or 'trade #ID'."""
    tid = trade_id(ctx, trade)
    _at(ctx, t, lambda: ctx.system().bust_trade(tid, reason="busted by the scenario"))


@when("{trade:Text} is busted", "When the trade of b1 and s1 is busted")
def bust_now(ctx: Scenario, trade: str) -> None:
    """The same, now."""
    tid = trade_id(ctx, trade)
    _at(ctx, None, lambda: ctx.system().bust_trade(tid, reason="busted by the scenario"))


@when(
    "the price of {trade:Text} is corrected to {price:Price} at {t:Time}",
    "When the price of trade 1 of XTKS:7203 is corrected to 2498 at 16:05",
)
def correct_trade_price(ctx: Scenario, trade: str, price: str, t: str) -> None:
    """At that time, replace the trade's price (valid at the trade's time)."""
    tid = trade_id(ctx, trade)
    inst = _instrument_of(ctx, tid)
    p = V.raw_price(inst, price) if inst is not None else V.integer(price, "price")
    _at(ctx, t, lambda: ctx.system().correct_trade(tid, price=p, reason="price corrected by the scenario"))


@when(
    "the quantity of {trade:Text} is corrected to {qty:Qty} at {t:Time}",
    "When the quantity of trade 1 of XTKS:7203 is corrected to 50 at 16:05",
)
def correct_trade_qty(ctx: Scenario, trade: str, qty: str, t: str) -> None:
    """At that time, replace the trade's quantity (valid at the trade's time)."""
    tid = trade_id(ctx, trade)
    inst = _instrument_of(ctx, tid)
    q = V.raw_qty(inst, qty) if inst is not None else V.integer(qty, "quantity")
    _at(ctx, t, lambda: ctx.system().correct_trade(tid, qty=q, reason="quantity corrected by the scenario"))


def _instrument_of(ctx: Scenario, tid: int) -> Instrument | None:
    for t in _trades(ctx):
        if t.trade_id == tid:
            return ctx.instruments.get(t.instrument)
    return None  # an unknown id goes to the system as is (integer units), to be rejected there


@when(
    "a late trade is reported at {t:Time}: {buyer:Name} bought {qty:Qty} {ref:Ref} at {price:Price} "
    "from {seller:Name} at {when:Time}",
    "When a late trade is reported at 16:05: alice bought 100 XTKS:7203 at 2500 from bob at 10:15",
)
def late_trade(
    ctx: Scenario, t: str, buyer: str, qty: str, ref: str, price: str, seller: str, when: str
) -> None:
    """At the first time, report a trade done at the second (earlier) one: it counts from its own
    time in the corrected view, and only from the report on as known at a recorded time."""
    inst = ctx.inst(ref)
    p, q, at = V.price(inst, price), V.qty(inst, qty), ctx.instant(when)
    _at(ctx, t, lambda: ctx.system().report_late_trade(inst.id, p, q, buyer, seller, at, "reported late"))


@when(
    "the published price of {ref:Ref} at {at:Time} is corrected to {price:Price} at {t:Time}",
    "When the published price of XTKS:7203 at 10:15 is corrected to 2510 at 16:05",
)
def correct_price(ctx: Scenario, ref: str, at: str, price: str, t: str) -> None:
    """At the last time, say the instrument's price (its mark) at an earlier instant was wrong and
    give the right one; it holds until a later-timed mark."""
    inst = ctx.inst(ref)
    p, instant = V.price(inst, price), ctx.instant(at)
    _at(ctx, t, lambda: ctx.system().correct_price(inst.id, p, instant, "price corrected by the scenario"))


# -- outcomes -------------------------------------------------------------------------------------
def _outcome(ctx: Scenario) -> tuple[list[CorrectionRejected], list[str]]:
    reply = ctx.last_reply
    if reply is None:
        raise StepInputError("no correction has been made yet")
    rejected = [r for r in reply.records if isinstance(r, CorrectionRejected)]
    lines = [describe.line(e, ctx.instruments, ctx.zone(), ctx.name_of) for e in reply.events]
    return rejected, lines


@then("the correction is rejected: {why:Text}", "Then the correction is rejected: unknown trade id 99")
def correction_rejected(ctx: Scenario, why: str) -> None:
    """The last correction was refused with a reason containing that text (case ignored)."""
    rejected, lines = _outcome(ctx)
    caused = "\n".join(f"  {x}" for x in lines) or "  nothing"
    assert rejected, f"the correction was not rejected; it caused:\n{caused}"
    got = rejected[0].text
    assert why.strip().lower() in got.lower(), (
        f"the correction ({rejected[0].command}) was rejected with {got!r}, expected {why!r}"
    )


@then("the correction is accepted", "Then the correction is accepted")
def correction_accepted(ctx: Scenario) -> None:
    """The last correction was logged (not refused)."""
    rejected, lines = _outcome(ctx)
    assert not rejected, (
        f"the correction ({rejected[0].command}) was rejected: {rejected[0].text}" if rejected else ""
    )
    assert lines, "the correction caused nothing in the log"
