"""Steps that replay the scenario's log to a past instant and compare with what was live then."""

from __future__ import annotations

from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.library.audit import as_of_view, basis, check_positions, times
from steps.library.book import check_book
from steps.registry import step, then, when
from steps.tables import Table, diff
from system.engine import BookView, Instrument


@when("the day is replayed to {t:Time}", "When the day is replayed to 10:30 Asia/Tokyo")
def replay_to(ctx: Scenario, t: str) -> None:
    """Rebuild every book and position from the log as of that instant (valid time), with fresh
    components; 'T, as known at R' leaves out what was recorded after R (a later correction)."""
    at, known = times(ctx, t)
    drv = ctx.system()
    if at > drv.now():
        raise StepInputError(
            f"{t!r} is after the clock ({V.local(drv.now(), ctx.zone())}): nothing to replay yet"
        )
    view = as_of_view(ctx, at, known)
    ctx.replayed = {i: view.books[i] for i in ctx.instruments if i in view.books}
    ctx.replayed_at = at
    ctx.bag["replayed_view"] = view


def _replayed(ctx: Scenario, ref: str | None) -> tuple[str, BookView]:
    if ctx.replayed_at is None:
        raise StepInputError("nothing has been replayed yet (add 'When the day is replayed to 10:30')")
    inst = ctx.inst(ref)
    return inst.id, ctx.replayed[inst.id]


def live_book_at(ctx: Scenario, instrument: str, at: int) -> BookView:
    """The book as it was live at ``at``: after the last change at or before it."""
    history = [p for p in ctx.system().book_history(instrument) if p.time <= at]
    if not history:
        raise StepInputError(f"the {instrument} book had not changed yet at {V.local(at, ctx.zone())}")
    return history[-1].book


def _rows(view: BookView, inst: Instrument | None = None) -> list[dict[str, str]]:
    """The book order by order, then its phase and last price (decimals when ``inst`` is given)."""
    rows = []
    for side, levels in (("BUY", view.bids), ("SELL", view.asks)):
        for lvl in levels:
            for o in lvl.orders:
                rows.append(
                    {
                        "side": side,
                        "price": V.fmt_price(inst, lvl.price),
                        "order": str(o.order_id),
                        "leaves": V.fmt_qty(inst, o.leaves),
                        "visible": V.fmt_qty(inst, o.visible),
                    }
                )
    rows.append({"side": "phase", "price": str(view.phase), "order": "", "leaves": "", "visible": ""})
    last = V.fmt_price(inst, view.last_price) if view.last_price is not None else "None"
    rows.append({"side": "last", "price": last, "order": "", "leaves": "", "visible": ""})
    return rows


@then("the replayed book equals the book at {t:Time}", "Then the replayed book equals the book at 10:30")
def replayed_equals_live(ctx: Scenario, t: str) -> None:
    """For every instrument, the replayed book (order by order, phase, last price) equals the one
    that was live at that instant."""
    at = ctx.instant(t)
    for instrument in ctx.instruments:
        _, got = _replayed(ctx, instrument)
        want = live_book_at(ctx, instrument, at)
        problem = diff(
            f"The replayed {instrument} book differs from the live one at {t}",
            ["side", "price", "order", "leaves", "visible"],
            _rows(want),
            _rows(got),
        )
        assert problem is None, problem


@then(
    "the replayed {ref:Ref} book is:",
    "Then the replayed XTKS:7203 book is:\n  | bid qty | bid | ask | ask qty |",
)
def replayed_book_is(ctx: Scenario, ref: str, table: Table) -> None:
    """The replayed book, in any of the shapes of 'the ... book is:'."""
    instrument, view = _replayed(ctx, ref)
    check_book(ctx, view, ctx.inst(instrument), table, f"The replayed {instrument} book differs")


@then(
    "the {ref:Ref} book at {t:Time} was:",
    "Then the XTKS:7203 book at 10:30 was:\n  | bid qty | bid | ask | ask qty |",
)
def book_was(ctx: Scenario, ref: str, t: str, table: Table) -> None:
    """The book as it was live at that instant (from the book's history)."""
    inst = ctx.inst(ref)
    check_book(
        ctx, live_book_at(ctx, inst.id, ctx.instant(t)), inst, table, f"The {inst.id} book at {t} differs"
    )


@then(
    "the replayed positions are:",
    "Then the replayed positions are:\n  | account | instrument | qty | avg price |",
)
def replayed_positions(ctx: Scenario, table: Table) -> None:
    """The positions of the replayed instant (flat ones may be left out). Columns: account,
    instrument, qty, avg price, mark, p&l, currency."""
    if ctx.replayed_at is None:
        raise StepInputError("nothing has been replayed yet (add 'When the day is replayed to 10:30')")
    view = ctx.bag["replayed_view"]
    check_positions(ctx, view, table, f"The replayed positions differ ({basis(ctx, view)})")


def _captured(ctx: Scenario, name: str) -> tuple[str, BookView, int]:
    books: dict[str, tuple[str, BookView, int]] = ctx.bag.get("captured_books", {})
    if name not in books:
        known = ", ".join(books) or "none yet"
        raise StepInputError(f"no book captured as {name!r} (captured: {known})")
    return books[name]


@step(
    "the {ref:Ref} book is captured as {name:Name}",
    "When the XTKS:7203 book is captured as before_lunch",
)
def capture_book(ctx: Scenario, ref: str, name: str) -> None:
    """Keep the live book (order by order, phase, last price) under a name, to compare a replay
    or a later book with it."""
    inst = ctx.inst(ref)
    drv = ctx.system()
    books = ctx.bag.setdefault("captured_books", {})
    if name in books:
        raise StepInputError(f"a book is already captured as {name!r}; choose another name")
    books[name] = (inst.id, drv.book(inst.id), drv.now())


def _compare_captured(ctx: Scenario, what: str, instrument: str, got: BookView, name: str) -> None:
    captured_of, want, at = _captured(ctx, name)
    if captured_of != instrument:
        raise StepInputError(f"the book captured as {name!r} is of {captured_of}, not {instrument}")
    problem = diff(
        f"The {what} {instrument} book differs from the one captured as {name!r} "
        f"at {V.local(at, ctx.zone(), with_date=True)}",
        ["side", "price", "order", "leaves", "visible"],
        _rows(want, ctx.instruments.get(instrument)),
        _rows(got, ctx.instruments.get(instrument)),
    )
    assert problem is None, problem


@then(
    "the replayed {ref:Ref} book equals the book captured as {name:Name}",
    "Then the replayed XTKS:7203 book equals the book captured as before_lunch",
)
def replayed_equals_captured(ctx: Scenario, ref: str, name: str) -> None:
    """The replayed book is the captured one, order by order, with its phase and last price."""
    instrument, got = _replayed(ctx, ref)
    _compare_captured(ctx, "replayed", instrument, got, name)


@then(
    "the {ref:Ref} book equals the book captured as {name:Name}",
    "Then the XTKS:7203 book equals the book captured as before_lunch",
)
def live_equals_captured(ctx: Scenario, ref: str, name: str) -> None:
    """The live book now is the captured one (nothing changed it since, or it came back)."""
    inst = ctx.inst(ref)
    _compare_captured(ctx, "live", inst.id, ctx.system().book(inst.id), name)
