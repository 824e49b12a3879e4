"""Steps for venues, instruments, phases, reference prices and call auctions."""

from __future__ import annotations

from decimal import Decimal

from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.instruments import default_instrument
from steps.registry import given, step, then, when
from steps.tables import Table
from system.engine import (
    AuctionUncrossed,
    ChangePhase,
    Instrument,
    PriceLimits,
    SetReferencePrice,
    Side,
)


@given("the venue {venue:Venue}", "Given the venue XTKS")
def venue(ctx: Scenario, venue: str) -> None:
    """Take part in the scenario (its calendar drives phases when a date is set)."""
    ctx.add_venue(venue)


@given("the instrument {ref:Ref}", "Given the instrument XTKS:7203")
def instrument(ctx: Scenario, ref: str) -> None:
    """List an instrument with its venue's default terms (TSE ticks and lots, CME, FX, crypto)."""
    ctx.inst(ref)


@given(
    "the instrument {ref:Ref} with tick {tick:Price} and lot {lot:Qty}",
    "Given the instrument XTKS:9999 with tick 1 and lot 100",
)
def instrument_with(ctx: Scenario, ref: str, tick: str, lot: str) -> None:
    """List an instrument with a fixed tick and lot size (prices and quantities in those units)."""
    _define(ctx, {"instrument": ref, "tick": tick, "lot": lot})


INSTRUMENT_COLUMNS = (
    "instrument",
    "tick",
    "lot",
    "currency",
    "qty increment",
    "multiplier",
    "reference",
    "limits",
    "cross group",
)


@given("the instruments:", "Given the instruments:\n  | instrument | tick | lot | reference |")
def instruments(ctx: Scenario, table: Table) -> None:
    """List instruments; columns (all but instrument optional): tick (a fixed tick, also the price
    increment), lot, currency, qty increment, multiplier, reference (price), limits (a percent),
    cross group (books of one group, like BTC/JPY and BTC/USD in group BTC, may match each other's
    cross-currency orders through the FX rate; '-' for none)."""
    table.require(INSTRUMENT_COLUMNS, "instruments")
    for row in table.dicts():
        _define(ctx, row)


def _define(ctx: Scenario, row: dict[str, str]) -> None:
    ref = row.get("instrument", "")
    venue, _, symbol = ref.partition(":")
    try:
        base: Instrument | None = default_instrument(ref)
    except StepInputError:
        if not row.get("tick") or not symbol:
            raise  # without terms of its own an unknown instrument cannot be defined
        base = None
    kw: dict[str, object] = {}
    if row.get("tick"):
        tick = V.decimal(row["tick"], f"tick of {ref}")
        if tick <= 0:
            raise StepInputError(f"tick {row['tick']!r} of {ref} must be positive")
        kw["price_increment"] = str(tick)
        kw["tick_table"] = ((0, 1),)
    if row.get("qty increment"):
        kw["qty_increment"] = str(V.decimal(row["qty increment"], f"qty increment of {ref}"))
    if row.get("multiplier"):
        kw["multiplier"] = str(V.decimal(row["multiplier"], f"multiplier of {ref}"))
    if row.get("currency"):
        kw["quote_currency"] = row["currency"].upper()
    if "cross group" in row:
        group = row["cross group"].strip()
        kw["cross_group"] = "" if group in ("", "-", "none") else group
    if row.get("limits"):
        pct = V.decimal(row["limits"].rstrip("%"), f"limits of {ref}")
        kw["price_limits"] = PriceLimits(percent_bp=int(pct * 100))
    inst = (
        base
        if base is not None
        else Instrument(id=ref, venue=venue, symbol=symbol, base_currency=symbol, quote_currency="JPY")
    )
    import msgspec

    inst = msgspec.structs.replace(inst, **kw)
    if row.get("lot"):
        inc = Decimal(inst.qty_increment)
        lot = V.decimal(row["lot"], f"lot of {ref}") / inc
        if lot != lot.to_integral_value() or lot <= 0:
            raise StepInputError(f"lot {row['lot']!r} of {ref} is not a positive multiple of {inc}")
        inst = msgspec.structs.replace(inst, lot_size=int(lot), min_qty=int(lot))
    if row.get("reference"):
        inst = msgspec.structs.replace(inst, reference_price=V.price(inst, row["reference"]))
    if ref in ctx.instruments:
        raise StepInputError(f"instrument {ref} is already set up in this scenario")
    ctx.add_instrument(inst)


@step("the reference price of {ref:Ref} is {price:Price}", "Given the reference price of XTKS:7203 is 2500")
def reference_price(ctx: Scenario, ref: str, price: str) -> None:
    """Set the base of daily limits and the auction's reference (yesterday's close)."""
    inst = ctx.inst(ref)
    ctx.setup_command(SetReferencePrice(inst.id, V.price(inst, price)))


@given("{target:Word} is in the {phase:Phase} phase", "Given XTKS is in the PRE_OPEN phase")
def in_phase(ctx: Scenario, target: str, phase: str) -> None:
    """Put a venue (every instrument on it) or one instrument (XTKS:7203) in a phase by hand."""
    ctx.setup_command(_phase_command(ctx, target, phase))


@when("{target:Word} enters the {phase:Phase} phase", "When XTKS enters the OPENING_AUCTION phase")
def enter_phase(ctx: Scenario, target: str, phase: str) -> None:
    """Move a venue or one instrument to a phase now (leaving an auction uncrosses it)."""
    ctx.run(_phase_command(ctx, target, phase))


@when("{ref:Ref} is halted", "When XTKS:7203 is halted")
def halt(ctx: Scenario, ref: str) -> None:
    """Halt one instrument: orders are kept, nothing trades."""
    inst = ctx.inst(ref)
    ctx.run(ChangePhase(venue=inst.venue, phase=V.phase("HALTED"), instrument=inst.id, reason="scenario"))


def _phase_command(ctx: Scenario, target: str, phase: str) -> ChangePhase:
    p = V.phase(phase)
    if ":" in target:
        inst = ctx.inst(target)
        return ChangePhase(venue=inst.venue, phase=p, instrument=inst.id, reason="scenario")
    ctx.add_venue(target)
    if not any(i.venue == target for i in ctx.instruments.values()):
        raise StepInputError(f"venue {target} has no instrument in this scenario (list one first)")
    return ChangePhase(venue=target, phase=p, reason="scenario")


@then("{target:Word} is in the {phase:Phase} phase", "Then XTKS:7203 is in the CONTINUOUS phase")
def phase_is(ctx: Scenario, target: str, phase: str) -> None:
    """The instrument (or every instrument of the venue) is in that phase now."""
    want = V.phase(phase)
    ids = (
        [ctx.inst(target).id]
        if ":" in target
        else [i for i, x in ctx.instruments.items() if x.venue == target]
    )
    if not ids:
        raise StepInputError(f"venue {target} has no instrument in this scenario")
    drv = ctx.system()
    for i in ids:
        got = drv.phase(i)
        assert got is want, f"{i} is in {got}, expected {want} (at {V.local(drv.now(), ctx.zone())})"


def _uncrosses(ctx: Scenario, ref: str) -> list[AuctionUncrossed]:
    inst = ctx.inst(ref)
    return [
        e.record
        for e in ctx.events()
        if isinstance(e.record, AuctionUncrossed) and e.record.instrument == inst.id
    ]


@then(
    "the auction of {ref:Ref} uncrossed at {price:Price} for {qty:Qty}",
    "Then the auction of XTKS:7203 uncrossed at 2500 for 700",
)
def auction_result(ctx: Scenario, ref: str, price: str, qty: str) -> None:
    """The latest call auction of the instrument ended at that price and volume."""
    inst = ctx.inst(ref)
    got = _uncrosses(ctx, ref)
    assert got, f"no auction of {inst.id} has uncrossed"
    a = got[-1]
    want = (V.price(inst, price), V.qty(inst, qty))
    have = f"at {V.fmt_price(inst, a.price) or 'no price'} for {V.fmt_qty(inst, a.qty)}"
    assert (a.price, a.qty) == want, (
        f"the auction of {inst.id} uncrossed {have}, expected at {price} for {qty}"
    )


@then(
    "the auction of {ref:Ref} uncrossed with no trade",
    "Then the auction of XTKS:7203 uncrossed with no trade",
)
def auction_empty(ctx: Scenario, ref: str) -> None:
    """The latest call auction ended without crossing."""
    inst = ctx.inst(ref)
    got = _uncrosses(ctx, ref)
    assert got, f"no auction of {inst.id} has uncrossed"
    a = got[-1]
    assert a.qty == 0, (
        f"the auction of {inst.id} crossed {V.fmt_qty(inst, a.qty)} at {V.fmt_price(inst, a.price)}"
    )


@then(
    "the auction of {ref:Ref} left a {side:Word} imbalance of {qty:Qty}",
    "Then the auction of XTKS:7203 left a buy imbalance of 200",
)
def auction_imbalance(ctx: Scenario, ref: str, side: str, qty: str) -> None:
    """What stayed unmatched at the auction price, and on which side."""
    inst = ctx.inst(ref)
    got = _uncrosses(ctx, ref)
    assert got, f"no auction of {inst.id} has uncrossed"
    a = got[-1]
    want_side: Side = V.side(side)
    have = f"{a.imbalance_side or 'no'} imbalance of {V.fmt_qty(inst, a.imbalance_qty)}"
    assert a.imbalance_side is want_side and a.imbalance_qty == V.qty(inst, qty), (
        f"the auction of {inst.id} left a {have}, expected a {want_side} imbalance of {qty}"
    )
