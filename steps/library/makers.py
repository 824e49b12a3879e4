"""Steps for market makers quoting around a fair value: several compete at their own widths,
widen when the market turns fast and narrow again when it calms (the makers mock's policy,
mocks/makers/policy.py, driving orders through the scenario's driver: in process or over FIX).

The fair value is the venue profile's model (sim/markets/fairvalue.py), seeded by the scenario's
seed; each quote step moves the scenario's clock by the quoting interval. Spreads in the Then
steps are read from the makers' resting orders, as the venue holds them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from random import Random
from typing import Any

import msgspec

from mocks.makers.policy import QuotePolicy
from steps import values as V
from steps.context import Scenario
from steps.errors import StepFailed, StepInputError
from steps.registry import given, then, when
from system.engine import Instrument, OrderAccepted, ReplaceOrder, Side, SubmitOrder, TimeInForce

_DAY_S = 18_000.0


@dataclass
class _Maker:
    account: str
    policy: QuotePolicy
    orders: dict[Side, int] = field(default_factory=dict)  # resting order id per side
    prices: dict[Side, int] = field(default_factory=dict)


@dataclass
class _Makers:
    inst: Instrument
    model: Any
    every_ns: int
    makers: list[_Maker]
    marks: dict[str, dict[str, int]] = field(default_factory=dict)  # named spread snapshots


def _state(ctx: Scenario) -> _Makers:
    st = ctx.bag.get("makers")
    if st is None:
        raise StepInputError("no market makers set up (add 'Given 3 market makers quote XTKS:7203 ...')")
    assert isinstance(st, _Makers)
    return st


@given(
    "{n:Int} market makers quote {ref:Ref} around {p:Price} every {d:Duration}, "
    "{k:Int} ticks a side at the narrowest",
    "Given 3 market makers quote XTKS:7203 around 2850 every 500 ms, 2 ticks a side at the narrowest",
)
def makers_quote(ctx: Scenario, n: str, ref: str, p: str, d: str, k: str) -> None:
    """Market makers mm1..mmN quote ``ref`` around a fair value starting at ``p`` (the venue
    profile's model); maker i quotes k + i - 1 ticks either side of it in a calm market (mm1 is
    the narrowest)."""
    from sim.markets import ProfileError, load_profile
    from sim.markets.fairvalue import FairValueModel

    count, base = V.integer(n, "makers"), V.integer(k, "ticks")
    if not 1 <= count <= 20 or base < 1:
        raise StepInputError(f"{n} makers at {k} ticks: use 1-20 makers and at least 1 tick")
    every = V.duration(d)
    if every <= 0:
        raise StepInputError(f"quoting every {d!r}: the interval must be positive")
    inst = ctx.inst(ref)
    start = V.price(inst, p)
    try:
        prof = load_profile(inst.venue)
        spec = replace(prof.spec(inst.id), instrument=msgspec.structs.replace(inst, reference_price=start))
    except ProfileError as e:
        raise StepInputError(f"market makers follow a venue profile's fair value: {e}") from None
    step_s = every / 1e9
    model = FairValueModel([spec], prof.factors, Random(ctx.seed), step_s=step_s, day_seconds=_DAY_S)
    fvol = dict(prof.factors)
    calm = math.sqrt(spec.idio_daily_vol**2 + sum((b * fvol[f]) ** 2 for f, b in spec.factors))
    calm *= math.sqrt(step_s / _DAY_S)
    makers = [
        _Maker(
            f"mm{i + 1}", QuotePolicy(inst, base_half_ticks=base + i, calm_step_vol=calm, max_half_ticks=200)
        )
        for i in range(count)
    ]
    ctx.bag["makers"] = _Makers(inst, model, every, makers)


def _quote_for(ctx: Scenario, st: _Makers, total_ns: int, multiplier: float = 1.0) -> None:
    st.model.vol_multiplier = multiplier
    drv = ctx.system()
    for _ in range(max(1, total_ns // st.every_ns)):
        drv.advance(st.every_ns)
        st.model.step()
        fair = st.model.price(st.inst.id)
        for m in st.makers:
            m.policy.observe(fair)
            q = m.policy.quote(fair)
            for side, price in ((Side.BUY, q.bid), (Side.SELL, q.ask)):
                _place(ctx, st, m, side, price)
    st.model.vol_multiplier = 1.0


def _place(ctx: Scenario, st: _Makers, m: _Maker, side: Side, price: int) -> None:
    if m.prices.get(side) == price:
        return
    oid = m.orders.get(side)
    if oid is None:
        cid = ctx.new_order_name(m.account)
        reply = ctx.run(
            SubmitOrder(m.account, cid, st.inst.id, side, st.inst.lot_size, price=price, tif=TimeInForce.GTC)
        )
        acc = [e.record for e in reply.events if isinstance(e.record, OrderAccepted)]
        if not acc:
            raise StepFailed(f"{m.account}'s {side.value} quote at {V.fmt_price(st.inst, price)} was refused")
        m.orders[side] = acc[0].order_id
    else:
        ctx.run(ReplaceOrder(m.account, st.inst.id, oid, price=price))
    m.prices[side] = price


def _spreads(ctx: Scenario, st: _Makers) -> dict[str, int]:
    """Each maker's resting ask minus bid, in ticks, as the venue holds them."""
    out: dict[str, int] = {}
    tick = st.inst.tick_at(int(st.model.price(st.inst.id)))
    for m in st.makers:
        sides = {o.side: o.price for o in ctx.system().open_orders(m.account, st.inst.id) if o.price}
        if len(sides) != 2:
            raise StepFailed(f"{m.account} does not rest both a bid and an ask (it rests {sides})")
        out[m.account] = (sides[Side.SELL] - sides[Side.BUY]) // tick
    return out


@when("the market makers quote for {d:Duration}", "When the market makers quote for 30 seconds")
def quote_for(ctx: Scenario, d: str) -> None:
    """Time passes in quoting steps: each moves the fair value and the makers' quotes."""
    _quote_for(ctx, _state(ctx), V.duration(d))


@when(
    "the market turns fast, volatility x {m:Word}, for {d:Duration}",
    "When the market turns fast, volatility x 8, for 30 seconds",
)
def fast_market(ctx: Scenario, m: str, d: str) -> None:
    """The fair value moves ``m`` times as fast for ``d``; the makers' spreads just before and at
    the end are kept for the Then steps ('before the fast market', 'at the end of it')."""
    mult = float(V.decimal(m, "volatility multiplier"))
    if mult <= 0:
        raise StepInputError(f"volatility x {m}: must be positive")
    st = _state(ctx)
    st.marks["before"] = _spreads(ctx, st)
    _quote_for(ctx, st, V.duration(d), mult)
    st.marks["fast"] = _spreads(ctx, st)


@then(
    "every market maker's spread is wider than before the fast market",
    "Then every market maker's spread is wider than before the fast market",
)
def wider(ctx: Scenario) -> None:
    """Each maker quotes wider at the end of the fast market than just before it."""
    st = _state(ctx)
    before, fast = st.marks.get("before"), st.marks.get("fast")
    if before is None or fast is None:
        raise StepInputError("no fast market yet (add 'When the market turns fast, volatility x 8, ...')")
    narrow = [f"{a}: {before[a]} -> {fast[a]} ticks" for a in before if fast[a] <= before[a]]
    if narrow:
        raise StepFailed("spreads did not widen: " + "; ".join(narrow))


@then(
    "every market maker's spread is narrower than at the end of the fast market",
    "Then every market maker's spread is narrower than at the end of the fast market",
)
def narrower(ctx: Scenario) -> None:
    """Each maker quotes narrower now than at the end of the fast market."""
    st = _state(ctx)
    fast = st.marks.get("fast")
    if fast is None:
        raise StepInputError("no fast market yet (add 'When the market turns fast, volatility x 8, ...')")
    now = _spreads(ctx, st)
    wide = [f"{a}: {fast[a]} -> {now[a]} ticks" for a in fast if now[a] >= fast[a]]
    if wide:
        raise StepFailed("spreads did not narrow: " + "; ".join(wide))


@then(
    "every market maker's spread is at most {k:Int} ticks",
    "Then every market maker's spread is at most 10 ticks",
)
def at_most(ctx: Scenario, k: str) -> None:
    """Each maker's resting ask minus bid is at most ``k`` ticks."""
    limit = V.integer(k, "ticks")
    wide = {a: s for a, s in _spreads(ctx, _state(ctx)).items() if s > limit}
    if wide:
        raise StepFailed(f"spreads above {limit} ticks: {wide}")


@then(
    "market maker {name:Name} holds the best bid and offer of {ref:Ref}",
    "Then market maker mm1 holds the best bid and offer of XTKS:7203",
)
def at_the_touch(ctx: Scenario, name: str, ref: str) -> None:
    """The best bid and the best offer of the book are ``name``'s quotes (alone at the touch)."""
    book = ctx.system().book(ctx.inst(ref).id)
    if not book.bids or not book.asks:
        raise StepFailed(f"the book of {ref} is not two-sided")
    bid = {o.account for o in book.bids[0].orders}
    ask = {o.account for o in book.asks[0].orders}
    if bid != {name} or ask != {name}:
        raise StepFailed(f"the best bid is {sorted(bid)}'s and the best offer {sorted(ask)}'s, not {name}'s")
