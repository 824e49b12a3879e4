"""Steps for auditors: the day as of a valid time and as known at a recorded time (bitemporal),
deterministic re-runs and what-if re-runs with another configuration (rebasing the day's order
flow onto another date is in steps/library/rebase.py). Every answer comes from the scenario's log
through the replayer (sim/replay, what `chronex replay|diff` run), by way of the driver.

"as of T" is the corrected view at valid time T; "as of T, as known at R" leaves out what was
recorded after R (a bust at 16:05 is not known at 16:00). Times are in the scenario's zone unless
they name one.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from steps import describe
from steps import values as V
from steps.context import Scenario
from steps.drivers.base import AsOfView, Difference, RerunView
from steps.errors import StepInputError
from steps.registry import then, when
from steps.tables import Table, diff
from system.corrections import LateTradeReported, PriceCorrected, TradeBusted, TradeCorrected
from system.engine import Instrument, TradeExecuted
from system.eventlog import LoggedEvent

_WHEN = re.compile(r"^(?P<t>.+?)(?:,?\s+as known at\s+(?P<r>.+))?$")
_NS = re.compile(r"\b(trade_time|at)=(\d{16,})")  # instants in corrections, shown as local times
_AUDITED = (TradeExecuted, TradeBusted, TradeCorrected, LateTradeReported, PriceCorrected)


# -- as-of views ----------------------------------------------------------------------------------
def times(ctx: Scenario, text: str) -> tuple[int, int | None]:
    """(valid time, recorded time or None) of 'T' or 'T, as known at R'."""
    m = _WHEN.match(text.strip())
    assert m is not None  # the pattern matches any text
    return ctx.instant(m["t"]), (ctx.instant(m["r"]) if m["r"] else None)


def as_of_view(ctx: Scenario, valid: int, known: int | None) -> AsOfView:
    """The driver's as-of answer, cached per (T, R, log head) for the scenario."""
    drv = ctx.system()
    events = drv.events()
    key = (valid, known, events[-1].seq if events else 0)
    cache: dict[tuple[int, int | None, int], AsOfView] = ctx.bag.setdefault("as_of", {})
    if key not in cache:
        try:
            cache[key] = drv.as_of(valid, known)
        except ValueError as e:  # a time outside the log: the scenario asked the wrong question
            raise StepInputError(_outside(ctx, events, valid) or str(e)) from None
    return cache[key]


def _outside(ctx: Scenario, events: list[LoggedEvent], valid: int) -> str | None:
    """Why ``valid`` is outside the log, in the scenario's zone (None: it is not)."""
    if not events:
        return None
    z = ctx.zone()
    lo, hi = min(e.valid_time for e in events), max(e.valid_time for e in events)
    if lo <= valid <= hi:
        return None
    # With dates: '10:30 is outside 10:00..10:00' read as a same-day problem when the days differ.
    return (
        f"{V.local(valid, z, with_date=True)} is outside the log, whose entries are valid from "
        f"{V.local(lo, z, with_date=True)} to {V.local(hi, z, with_date=True)}: the replayer answers "
        "only within them (let the clock run past it first)"
    )


def _view(ctx: Scenario, when_text: str) -> AsOfView:
    return as_of_view(ctx, *times(ctx, when_text))


def basis(ctx: Scenario, v: AsOfView) -> str:
    """One line saying which view this is and what it was computed from."""
    z = ctx.zone()
    known = f", as known at {V.local(v.known_at, z)}" if v.known_at is not None else " (the corrected view)"
    return (
        f"As of {V.local(v.as_of, z)}{known}: folded log entries up to #{v.seq}; "
        f"{v.late_included} correction(s) counted, {v.late_excluded} recorded later left out"
    )


def _verdict(ev: LoggedEvent, v: AsOfView) -> str:
    if ev.valid_time > v.as_of:
        return "not yet valid"
    if v.known_at is not None and ev.recorded_time > v.known_at:
        return "not yet known"
    return "counts"


def explain(ctx: Scenario, v: AsOfView, *, account: str | None = None, instrument: str | None = None) -> str:
    """The basis, then the last trades and corrections of the account or instrument with both
    their times and whether they count in this view."""
    z = ctx.zone()
    picked = [
        e
        for e in ctx.events()
        if isinstance(e.record, _AUDITED)
        and ((account is None and instrument is None) or describe.touches(e, instrument, account))
    ]
    lines = [basis(ctx, v)]
    if not picked:
        return "\n".join([*lines, "  (no trades or corrections)"])
    what = account or instrument or "the day"
    lines.append(f"Trades and corrections of {what} (valid time, recorded time, in this view):")
    for e in picked[-10:]:
        rec = "" if e.recorded_time == e.valid_time else f" [recorded {V.local(e.recorded_time, z)}]"
        text = _NS.sub(
            lambda m: f"{m[1]}={V.local(int(m[2]), z)}", describe.line(e, ctx.instruments, z, ctx.name_of)
        )
        lines.append(f"  {text}{rec}  -> {_verdict(e, v)}")
    return "\n".join(lines)


def _position_qty(v: AsOfView, account: str, instrument: str) -> int:
    return next((p.qty for p in v.positions if (p.account, p.instrument) == (account, instrument)), 0)


def _qty_units(inst: Instrument, text: str) -> int:
    """A signed quantity (a short position is negative) in the instrument's units."""
    d = V.decimal(text, "quantity", inst.id) / Decimal(inst.qty_increment)
    if d != d.to_integral_value():
        raise StepInputError(
            f"quantity {text} is not a multiple of the increment {inst.qty_increment} of {inst.id}"
        )
    return int(d)


@then(
    "as of {when:Text}, the position of {account:Name} in {ref:Ref} is {qty:Qty}",
    "Then as of 10:30, as known at 16:00, the position of alice in XTKS:7203 is 100",
)
def position_as_of(ctx: Scenario, when: str, account: str, ref: str, qty: str) -> None:
    """The account's net position at valid time T ('T', or 'T, as known at R' to leave out what
    was recorded after R)."""
    inst = ctx.inst(ref)
    v = _view(ctx, when)
    got = _position_qty(v, account, inst.id)
    assert got == _qty_units(inst, qty), (
        f"as of {when}, {account} holds {V.fmt_qty(inst, got)} {inst.id}, expected {qty}\n"
        + explain(ctx, v, account=account)
    )


@then(
    "as of {when:Text}, the P&L of {account:Name} in {ref:Ref} is {amount:Qty}",
    "Then as of 15:00, the P&L of alice in XTKS:7203 is 500",
)
def pnl_as_of(ctx: Scenario, when: str, account: str, ref: str, amount: str) -> None:
    """Position at the mark less its cost, in the quote currency, at valid time T (as known at R)."""
    inst = ctx.inst(ref)
    v = _view(ctx, when)
    p = next((p for p in v.positions if (p.account, p.instrument) == (account, inst.id)), None)
    got = Decimal(0) if p is None or p.pnl is None else p.pnl
    want = V.decimal(amount, "P&L")
    assert got == want, (
        f"as of {when}, the P&L of {account} in {inst.id} is {V._plain(got)}, expected {amount} "
        f"(mark {V.fmt_price(inst, v.marks.get(inst.id)) or 'none'})\n" + explain(ctx, v, account=account)
    )


@then(
    "as of {when:Text}, the mark of {ref:Ref} is {price:Price}",
    "Then as of 10:30, the mark of XTKS:7203 is 2500",
)
def mark_as_of(ctx: Scenario, when: str, ref: str, price: str) -> None:
    """The instrument's mark at valid time T (as known at R): its last standing trade, late trade
    or price correction up to T ('none' when there is none)."""
    inst = ctx.inst(ref)
    v = _view(ctx, when)
    got = v.marks.get(inst.id)
    ok = got is None if price.lower() == "none" else got == V.price(inst, price)
    assert ok, (
        f"as of {when}, the mark of {inst.id} is {V.fmt_price(inst, got) or 'none'}, expected {price}\n"
        + explain(ctx, v, instrument=inst.id)
    )


@then(
    "as of {when:Text}, the trade count is {n:Int}",
    "Then as of 15:00, as known at 16:00, the trade count is 2",
)
def trades_as_of(ctx: Scenario, when: str, n: str) -> None:
    """Trades that stand at valid time T (as known at R): executed, less busted, plus late reports."""
    v = _view(ctx, when)
    want = V.integer(n, "trade count")
    assert v.standing == want, (
        f"as of {when}, {v.standing} trades stand ({v.trades} executed, {v.busted} busted, "
        f"{v.late} reported late, {v.corrected} corrected), expected {want}\n" + explain(ctx, v)
    )


POSITION_COLUMNS = ("account", "instrument", "qty", "avg price", "mark", "p&l", "currency")


def position_rows(ctx: Scenario, v: AsOfView) -> list[dict[str, str]]:
    """The view's positions as table rows (decimals in the instrument's units)."""
    rows = []
    for p in v.positions:
        inst = ctx.instruments.get(p.instrument)
        avg = ""
        if p.qty and inst is not None:
            avg = V._plain(Decimal(p.cost) / p.qty * Decimal(inst.price_increment))
        rows.append(
            {
                "account": p.account,
                "instrument": p.instrument,
                "qty": V.fmt_qty(inst, p.qty),
                "avg price": avg,
                "mark": V.fmt_price(inst, p.mark),
                "p&l": "" if p.pnl is None else V._plain(p.pnl),
                "currency": p.currency,
            }
        )
    return rows


def check_positions(ctx: Scenario, v: AsOfView, table: Table, title: str) -> None:
    """Exactly the table's positions (flat ones may be left out of it), or an aligned diff."""
    table.require(POSITION_COLUMNS, "positions")
    rows = position_rows(ctx, v)
    listed = {(r.get("account"), r.get("instrument")) for r in table.dicts()}
    # A position that went flat still has a row; leave it out unless the table names it.
    rows = [r for r in rows if V.decimal(r["qty"]) != 0 or (r["account"], r["instrument"]) in listed]
    problem = diff(title, list(table.headers), table.dicts(), rows)
    if problem is not None:
        raise AssertionError(problem + "\n" + explain(ctx, v))


@then(
    "as of {when:Text}, the positions are:",
    "Then as of 10:30, as known at 16:00, the positions are:\n  | account | instrument | qty |",
)
def positions_as_of(ctx: Scenario, when: str, table: Table) -> None:
    """Every open position at valid time T (as known at R), by account and instrument. Columns:
    account, instrument, qty, avg price, mark, p&l, currency."""
    check_positions(ctx, _view(ctx, when), table, f"The positions as of {when} differ")


@then(
    "as of {t:Time}, the corrected positions differ from those known at {r:Time} by:",
    "Then as of 15:00, the corrected positions differ from those known at 16:00 by:\n"
    "  | account | instrument | known | corrected |",
)
def views_differ(ctx: Scenario, t: str, r: str, table: Table) -> None:
    """Exactly the positions that differ between the view as known at R and the corrected view,
    both at valid time T. Columns: account, instrument, known, corrected (quantities)."""
    table.require(("account", "instrument", "known", "corrected"), "view difference")
    at = ctx.instant(t)
    known, corrected = as_of_view(ctx, at, ctx.instant(r)), as_of_view(ctx, at, None)
    keys = sorted({(p.account, p.instrument) for p in (*known.positions, *corrected.positions)})
    rows = []
    for account, inst_id in keys:
        a, b = _position_qty(known, account, inst_id), _position_qty(corrected, account, inst_id)
        if a != b:
            inst = ctx.instruments.get(inst_id)
            rows.append(
                {
                    "account": account,
                    "instrument": inst_id,
                    "known": V.fmt_qty(inst, a),
                    "corrected": V.fmt_qty(inst, b),
                }
            )
    problem = diff(
        f"As of {t}, the corrected view differs from the one known at {r} otherwise",
        list(table.headers),
        table.dicts(),
        rows,
    )
    if problem is not None:
        raise AssertionError(problem + "\n" + explain(ctx, known) + "\n" + basis(ctx, corrected))


# -- re-runs and what-if --------------------------------------------------------------------------
def _divergence(d: tuple[int, dict[str, Any] | None, dict[str, Any] | None]) -> str:
    seq, a, b = d

    def show(e: dict[str, Any] | None) -> str:
        if e is None:
            return "(the log ends here)"
        return f"{e['type']} {e['payload']}"

    return f"First divergence at entry #{seq}:\n  original: {show(a)}\n  re-run:   {show(b)}"


@then(
    "re-running the day reproduces the same head hash",
    "Then re-running the day reproduces the same head hash",
)
def rerun_same(ctx: Scenario) -> None:
    """Feed the log's recorded inputs (commands, clock, timers) through today's engines: the new
    log is the same, byte for byte (equal head hashes)."""
    res = ctx.system().rerun()
    if res.same:
        return
    failed = "".join(f"\n  input failed: {f}" for f in res.failed[:5])
    assert res.divergence is not None
    raise AssertionError(
        f"the re-run differs: original head #{res.original_head[0]} {res.original_head[1][:16]}, "
        f"re-run head #{res.rerun_head[0]} {res.rerun_head[1][:16]}\n{_divergence(res.divergence)}{failed}"
    )


def _overrides(ctx: Scenario, change: str) -> list[str]:
    out = []
    for part in re.split(r"\s+and\s+", change.strip()):
        m = re.fullmatch(r"max order qty (?P<q>\S+) (?P<prep>for|on) (?P<who>\S+)", part.strip())
        if m and m["prep"] == "for":
            q = V.decimal(m["q"], "max order qty")
            out.append(f'risk.accounts.{m["who"]}.max_order_qty="{V._plain(q)}"')
        elif m:
            inst = ctx.inst(m["who"])
            out.append(f"instruments.{inst.id}.max_qty={V.qty(inst, m['q'])}")
        elif "=" in part:
            out.append(part.strip())
        else:
            raise StepInputError(
                f"what-if change {part!r} is unknown (use 'max order qty 500 for alice', "
                "'max order qty 500 on XTKS:7203' or PATH=VALUE as `chronex replay --set` takes)"
            )
    return out


@when("the day is re-run with {change:Text}", "When the day is re-run with max order qty 500 for alice")
def rerun_with(ctx: Scenario, change: str) -> None:
    """Re-run the day's recorded inputs with a changed configuration (what-if): 'max order qty Q
    for ACCOUNT' (a risk limit), 'max order qty Q on INSTRUMENT' (the venue's), or PATH=VALUE;
    join several with 'and'."""
    sets = _overrides(ctx, change)
    try:
        ctx.bag["rerun"] = ctx.system().rerun(sets)
    except ValueError as e:  # a bad path or value in the override
        raise StepInputError(str(e)) from None
    ctx.bag["rerun_change"] = change


DIFF_COLUMNS = ("kind", "key", "original", "re-run")


def _instrument(ctx: Scenario, d: Difference) -> Instrument | None:
    side = d.original or d.rerun or {}
    inst_id = side.get("instrument") or next((w for w in d.key.split() if ":" in w), "")
    return ctx.instruments.get(str(inst_id))


def summary(ctx: Scenario, d: Difference, side: dict[str, Any] | None) -> str:
    """One cell for one side of a difference: an order's status, a trade's qty @ price, a
    position's qty, an account event's limit or reason; '-' when that side has none."""
    if side is None:
        return "-"
    inst = _instrument(ctx, d)
    if d.kind == "order":
        status = str(side.get("status", ""))
        if status == "rejected":
            return f"rejected {str(side.get('reason', '')).split(':', 1)[0]}".strip()
        if status == "open" and side.get("filled"):
            return f"partially filled {V.fmt_qty(inst, side['filled'])}"
        return status
    if d.kind == "trade":
        text = f"{V.fmt_qty(inst, side.get('qty'))} @ {V.fmt_price(inst, side.get('price'))}"
        return text if side.get("status", "ok") == "ok" else f"{text} {side['status']}"
    if d.kind == "position":
        return V.fmt_qty(inst, side.get("qty"))
    for k in ("limit", "reason", "level"):
        if side.get(k) not in (None, ""):
            return str(side[k])
    return "logged"


def _rerun_done(ctx: Scenario) -> RerunView:
    res: RerunView | None = ctx.bag.get("rerun")
    if res is None:
        raise StepInputError("the day has not been re-run (add 'When the day is re-run with ...')")
    return res


@then(
    "the re-run differs from the original by:",
    "Then the re-run differs from the original by:\n  | kind | key | original | re-run |",
)
def rerun_differs(ctx: Scenario, table: Table) -> None:
    """Exactly these differences between the day and its what-if re-run, as `chronex diff` lists
    them: kind (order, trade, position, account), key (orders 'account/name', trades
    'INSTRUMENT buyer/name x seller/name #n', positions 'account INSTRUMENT', account events
    'Type account #n'), original and re-run (order status, 'qty @ price', position qty, the
    event's limit or reason; '-' for none)."""
    table.require(DIFF_COLUMNS, "re-run difference")
    res = _rerun_done(ctx)
    rows = [
        {
            "kind": d.kind,
            "key": d.key,
            "original": summary(ctx, d, d.original),
            "re-run": summary(ctx, d, d.rerun),
        }
        for d in res.differences
    ]
    problem = diff(
        f"The re-run with {ctx.bag.get('rerun_change')} differs from the original otherwise",
        list(table.headers),
        table.dicts(),
        rows,
    )
    # The first divergence of a what-if is its configuration (RunStarted): not worth showing.
    if problem is not None:
        raise AssertionError(problem)


@then("the re-run does not differ from the original", "Then the re-run does not differ from the original")
def rerun_no_difference(ctx: Scenario) -> None:
    """The what-if changed nothing that `chronex diff` compares (orders, trades, positions, account
    events)."""
    res = _rerun_done(ctx)
    lines = [
        f"  {d.kind} {d.key}: {summary(ctx, d, d.original)} -> {summary(ctx, d, d.rerun)}"
        for d in res.differences
    ]
    assert not lines, f"the re-run differs from the original in {len(lines)} ways:\n" + "\n".join(lines)
