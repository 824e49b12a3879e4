"""Steps for the hedging engine (docs/hedging.md): which assets the house hedges, where, past
which threshold; the hedge venues' liquidity and faults; the hedge orders, the exposure left and
the account events that say why hedging stopped.

Given steps build the ``[hedging]`` table; the system starts with it. Each hedge venue is built
by ``venue_factory`` once the system runs: an in-process venue (a second matching engine) unless a
test swaps in another (tests/integration/test_hedging_fix.py serves each venue over FIX). Then
steps first let the hedge desk settle: send what the engine decided, record what venues answer.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import given, step, then
from steps.tables import Table, diff
from system.engine.orders import Side
from system.engine.refdata import Instrument


class VenueHandle(Protocol):
    """A hedge venue as scenarios drive it: the port adapter plus the venue's controls. A control
    a transport cannot offer raises StepInputError naming it."""

    adapter: Any  # system.hedging.HedgeVenue
    wait_s: float  # how long the desk waits for an answer (0: the venue answers at once)

    def rest(self, instrument: Instrument, side: Side, qty: int, price: int) -> None: ...
    def go_down(self) -> None: ...
    def come_up(self) -> None: ...
    def down_on_next_order(self) -> None: ...
    def hold(self) -> None: ...
    def release(self) -> None: ...
    def reject_next(self, n: int) -> None: ...
    def stop(self) -> None: ...


class _DriverClock:
    """The scenario system's clock, read through the driver (so any driver will do)."""

    def __init__(self, ctx: Scenario) -> None:
        self.ctx = ctx

    def now_ns(self) -> int:
        return self.ctx.system().now()


class InProcessHandle:
    """The default: ``system.hedging.inproc.InProcessVenue`` with its controls."""

    wait_s = 0.0

    def __init__(self, name: str, instruments: list[Instrument], ctx: Scenario) -> None:
        from system.hedging.inproc import InProcessVenue

        self.venue = InProcessVenue(name, instruments, _DriverClock(ctx))
        self.adapter = self.venue
        self._down_next = False

    def rest(self, instrument: Instrument, side: Side, qty: int, price: int) -> None:
        self.venue.rest(instrument.id, side, qty, price)

    def go_down(self) -> None:
        self.venue.go_down()

    def come_up(self) -> None:
        self.venue.come_up()

    def down_on_next_order(self) -> None:
        # The order reaches the venue, which then dies before answering: hold it, and go down
        # on the next send.
        venue = self.venue
        venue.hold()
        original = venue.send

        def send(order: Any) -> None:
            original(order)
            venue.send = original  # type: ignore[method-assign]
            venue.holding = False
            venue.go_down("connection lost with an order in flight")

        venue.send = send  # type: ignore[method-assign]

    def hold(self) -> None:
        self.venue.hold()

    def release(self) -> None:
        self.venue.release()

    def reject_next(self, n: int) -> None:
        self.venue.reject_next(n)

    def stop(self) -> None:
        self.venue.close()


VenueFactory = Callable[[str, list[Instrument], Scenario], VenueHandle]


def _inprocess(name: str, instruments: list[Instrument], ctx: Scenario) -> VenueHandle:
    return InProcessHandle(name, instruments, ctx)


venue_factory: VenueFactory = _inprocess  # a test may swap in another transport (monkeypatch)


# -- configuration ------------------------------------------------------------------------------------
def _raw(ctx: Scenario) -> dict[str, Any]:
    if ctx.started:
        raise StepInputError(
            "hedging must be set up before the system starts (move this step above the first order)"
        )
    raw: dict[str, Any] | None = ctx.bag.get("hedging_raw")
    if raw is None:
        raw = {"assets": {}}
        ctx.bag["hedging_raw"] = raw
        ctx.bag["hedge_assets"] = {}
        ctx.on_start.append(_configure)
        ctx.after_start.append(_open_desk)
    return raw


def _parse(raw: dict[str, Any]) -> Any:
    from system.hedging import parse_hedging
    from system.pricing import ConfigError

    try:
        return parse_hedging(raw, "scenario")
    except ConfigError as e:
        raise StepInputError(str(e)) from None


def _house_instrument(ctx: Scenario, asset: str) -> Instrument | None:
    for inst in ctx.instruments.values():
        if inst.base_currency == asset:
            return inst
    return None


def _configure(ctx: Scenario) -> None:
    raw = ctx.bag["hedging_raw"]
    for asset, (threshold, max_qty, venues) in ctx.bag["hedge_assets"].items():
        inst = _house_instrument(ctx, asset)
        qty_inc = inst.qty_increment if inst is not None else "1"
        px_inc = inst.price_increment if inst is not None else "1"
        quote = inst.quote_currency if inst is not None else raw.get("base_currency", "JPY")
        raw["assets"][asset] = {
            "threshold": threshold,
            "max_order_qty": max_qty,
            "venues": [
                {
                    "venue": v,
                    "instrument": f"{v}:{asset}/{quote}",
                    "qty_increment": qty_inc,
                    "price_increment": px_inc,
                }
                for v in venues
            ],
        }
    ctx.hedging = _parse(raw)


class _Desk:
    """The scenario's hedge desk and venue handles; closed with the scenario."""

    def __init__(self, ctx: Scenario) -> None:
        from system.hedging import HedgeDesk

        cfg = ctx.hedging
        self.handles: dict[str, VenueHandle] = {}
        by_venue: dict[str, list[Instrument]] = {}
        for asset, spec in sorted(cfg.assets.items()):
            for r in spec.venues:
                venue, _, symbol = r.instrument.partition(":")
                by_venue.setdefault(r.venue, []).append(
                    Instrument(
                        r.instrument,
                        venue,
                        symbol,
                        asset,
                        cfg.base_currency,
                        price_increment=r.price_increment,
                        qty_increment=r.qty_increment,
                    )
                )
        for name, insts in by_venue.items():
            self.handles[name] = venue_factory(name, insts, ctx)
        self.instruments = {i.id: i for insts in by_venue.values() for i in insts}
        driver = ctx.system()
        self.desk = HedgeDesk(driver.execute, driver.events, [h.adapter for h in self.handles.values()])

    def settle(self) -> None:
        wait = max((h.wait_s for h in self.handles.values()), default=0.0)
        self.desk.settle(wait_s=wait)

    def stop(self) -> None:
        for h in self.handles.values():
            h.stop()


def _open_desk(ctx: Scenario) -> None:
    d = _Desk(ctx)
    ctx.bag["hedge_desk"] = d
    ctx.simulators.append(d)  # closed with the scenario
    for fn in ctx.bag.pop("hedge_after_start", []):
        fn()
    d.settle()


def _desk(ctx: Scenario) -> _Desk:
    ctx.system()
    d: _Desk | None = ctx.bag.get("hedge_desk")
    if d is None:
        raise StepInputError("hedging is not set up (add 'Given BTC is hedged past ... on EXTA')")
    return d


def _settled(ctx: Scenario) -> _Desk:
    d = _desk(ctx)
    d.settle()
    return d


def _venue(ctx: Scenario, name: str) -> VenueHandle:
    h = _desk(ctx).handles.get(name)
    if h is None:
        raise StepInputError(f"no hedge venue {name!r} (hedge venues: {', '.join(_desk(ctx).handles)})")
    return h


def _later(ctx: Scenario, fn: Callable[[], None]) -> None:
    """Run ``fn`` now if the venues exist, else right after they are built."""
    if ctx.bag.get("hedge_desk") is not None:
        fn()
    else:
        ctx.bag.setdefault("hedge_after_start", []).append(fn)


# -- Given: what is hedged, where ---------------------------------------------------------------------
@given(
    "{asset:Word} is hedged past {threshold:Qty} {ccy:Word}, at most {qty:Qty} per order, on {venues:Text}",
    "Given BTC is hedged past 1,000,000 JPY, at most 1 per order, on EXTA then EXTB",
)
def hedged(ctx: Scenario, asset: str, threshold: str, ccy: str, qty: str, venues: str) -> None:
    """Hedge the house's net exposure in the asset once it is worth more than the threshold (in the
    hedging base currency), in orders of at most ``qty`` of the asset, on the venues in preference
    order ('EXTA then EXTB'). Each venue trades VENUE:ASSET/QUOTE with the house instrument's lots."""
    raw = _raw(ctx)
    raw["base_currency"] = ccy.upper()
    names = [v.strip() for v in venues.split(" then ") if v.strip()]
    ctx.bag["hedge_assets"][asset] = (
        str(V.decimal(threshold, "threshold")),
        str(V.decimal(qty, "order size")),
        names,
    )


@given("the house account is {account:Name}", "Given the house account is HOUSE")
def house(ctx: Scenario, account: str) -> None:
    """The account whose fills are the house's exposure (default HOUSE)."""
    _raw(ctx)["house_accounts"] = [account]


@given("hedging stops on a venue outage", "Given hedging stops on a venue outage")
def stops_on_outage(ctx: Scenario) -> None:
    """On an outage, halt the asset's hedging with an account event instead of failing over."""
    _raw(ctx)["on_outage"] = "stop"


@given("a hedge venue is given up after {n:Int} tries", "Given a hedge venue is given up after 2 tries")
def max_attempts(ctx: Scenario, n: str) -> None:
    """How many rejects or unfilled orders in a row on one venue before the next venue is tried."""
    _raw(ctx)["max_attempts"] = V.integer(n, "tries")


@step(
    "hedge venue {venue:Name} {side:Word} {qty:Qty} {asset:Word} at {price:Price}",
    "Given hedge venue EXTA offers 2 BTC at 5,000,000",
)
def liquidity(ctx: Scenario, venue: str, side: str, qty: str, asset: str, price: str) -> None:
    """Resting liquidity on a hedge venue: 'offers' (sell orders) or 'bids' (buy orders)."""
    if side not in ("offers", "bids"):
        raise StepInputError(f"{side!r}: say 'offers' or 'bids'")

    def go() -> None:
        d = _desk(ctx)
        inst = next(
            (i for i in d.instruments.values() if i.venue == venue and i.base_currency == asset), None
        )
        if inst is None:
            raise StepInputError(f"hedge venue {venue} does not trade {asset}")
        _venue(ctx, venue).rest(
            inst, Side.SELL if side == "offers" else Side.BUY, V.qty(inst, qty), V.price(inst, price)
        )

    _later(ctx, go)


@step("hedge venue {venue:Name} is down", "Given hedge venue EXTA is down")
def venue_down(ctx: Scenario, venue: str) -> None:
    """The venue cannot be reached (the desk hears it as a disconnect)."""
    _later(ctx, lambda: _venue(ctx, venue).go_down())


@step("hedge venue {venue:Name} comes back", "When hedge venue EXTB comes back")
def venue_up(ctx: Scenario, venue: str) -> None:
    """The venue can be reached again; halted hedging resumes."""
    _later(ctx, lambda: _venue(ctx, venue).come_up())


@step(
    "hedge venue {venue:Name} goes down when the next order arrives",
    "Given hedge venue EXTA goes down when the next order arrives",
)
def down_mid_hedge(ctx: Scenario, venue: str) -> None:
    """An outage mid-hedge: the next order reaches the venue, which dies before answering."""
    _later(ctx, lambda: _venue(ctx, venue).down_on_next_order())


@step("hedge venue {venue:Name} holds its orders", "Given hedge venue EXTA holds its orders")
def hold(ctx: Scenario, venue: str) -> None:
    """Orders stay working, unanswered, until the venue releases them."""
    _later(ctx, lambda: _venue(ctx, venue).hold())


@step("hedge venue {venue:Name} releases its orders", "When hedge venue EXTA releases its orders")
def release(ctx: Scenario, venue: str) -> None:
    """Held orders go to the venue's book now, and new ones are answered at once again."""
    _later(ctx, lambda: _venue(ctx, venue).release())


@step(
    "hedge venue {venue:Name} rejects the next {n:Int} orders",
    "Given hedge venue EXTA rejects the next 3 orders",
)
def reject_next(ctx: Scenario, venue: str, n: str) -> None:
    """The venue refuses the next N hedge orders it receives."""
    _later(ctx, lambda: _venue(ctx, venue).reject_next(V.integer(n, "orders")))


@step("the operator resumes hedging of {asset:Word}", "When the operator resumes hedging of BTC")
def resume(ctx: Scenario, asset: str) -> None:
    """Clear a halt and forget failed venues; hedge again."""
    from system.hedging import ResumeHedging

    _desk(ctx)
    ctx.run(ResumeHedging(asset))


# -- Then ---------------------------------------------------------------------------------------------
def _records(ctx: Scenario, *types: str) -> list[Any]:
    return [e.record for e in ctx.events() if e.type in types]


def _fmt(d: Decimal) -> str:
    return V._plain(d)


@then(
    "the house's net {asset:Word} exposure is {qty:Qty}",
    "Then the house's net BTC exposure is -0.5",
)
def net_exposure(ctx: Scenario, asset: str, qty: str) -> None:
    """The house's net position in the asset, hedges included, after the desk settles."""
    _settled(ctx)
    cfg = ctx.hedging
    got = [r for r in _records(ctx, "HedgeExposure") if r.asset == asset]
    units = got[-1].position if got else 0
    have = units * cfg.unit(asset)
    want = V.decimal(qty, "exposure")
    assert have == want, f"the house's net {asset} exposure is {_fmt(have)}, expected {_fmt(want)}"


@then(
    "the {asset:Word} exposure is inside the threshold",
    "Then the BTC exposure is inside the threshold",
)
def inside(ctx: Scenario, asset: str) -> None:
    """Its value in the base currency is at most the configured threshold."""
    _settled(ctx)
    got = [r for r in _records(ctx, "HedgeExposure") if r.asset == asset]
    assert got, f"no exposure in {asset} was ever recorded"
    last = got[-1]
    limit = ctx.hedging.base_units(ctx.hedging.assets[asset].threshold)
    assert last.value is not None and abs(last.value) <= limit, (
        f"{asset} exposure {last.position} worth {last.value} {last.currency} is past the threshold {limit}"
    )


@then("the hedge orders are:", "Then the hedge orders are:\n  | order | venue | side | qty | filled | end |")
def hedge_orders(ctx: Scenario, table: Table) -> None:
    """Every hedge order so far, in order: order id, asset, venue, side, qty and filled (in the
    asset), end (filled, rejected, ended, working) and text (why it ended)."""
    d = _settled(ctx)
    rows: dict[str, dict[str, str]] = {}
    for e in ctx.events():
        r: Any = e.record
        if e.type == "HedgeOrderPlaced":
            inst = d.instruments.get(r.instrument)
            rows[r.order_id] = {
                "order": r.order_id, "asset": r.asset, "venue": r.venue, "side": r.side.value.lower(),
                "qty": V.fmt_qty(inst, r.qty), "filled": "0", "end": "working", "text": "",
                "_inst": r.instrument,
            }  # fmt: skip
        elif e.type == "HedgeOrderFilled" and r.order_id in rows:
            row = rows[r.order_id]
            row["filled"] = V.fmt_qty(d.instruments.get(row["_inst"]), r.filled)
            if r.leaves == 0 and row["end"] == "working":
                row["end"] = "filled"
        elif e.type == "HedgeOrderRejected" and r.order_id in rows:
            rows[r.order_id].update(end="rejected", text=r.text)
        elif e.type == "HedgeOrderDone" and r.order_id in rows:
            rows[r.order_id].update(end="ended", text=r.text)
    problem = diff("The hedge orders differ", list(table.headers), table.dicts(), list(rows.values()))
    if problem is not None:
        raise AssertionError(problem)


@then("no hedge order was sent", "Then no hedge order was sent")
def none_sent(ctx: Scenario) -> None:
    """The desk sent no hedge order to any venue (placed ones may have been cancelled first)."""
    d = _settled(ctx)
    assert not d.desk.sent, f"hedge orders were sent: {', '.join(d.desk.sent)}"


@then("hedging of {asset:Word} is halted: {why:Text}", "Then hedging of BTC is halted: no hedge venue left")
def halted(ctx: Scenario, asset: str, why: str) -> None:
    """A HedgeHalted account event for the asset is in force, its reason containing the text."""
    _settled(ctx)
    state: str | None = None
    for r in _records(ctx, "HedgeHalted", "HedgeResumed"):
        if r.asset == asset:
            state = r.reason if type(r).__name__ == "HedgeHalted" else None
    assert state is not None, f"hedging of {asset} is not halted"
    assert why in state, f"hedging of {asset} is halted because {state!r}, not {why!r}"


@then("the hedge events of {account:Name} are:", "Then the hedge events of HOUSE are:\n  | event | asset |")
def hedge_account_events(ctx: Scenario, account: str, table: Table) -> None:
    """The hedging account events (HedgeHalted, HedgeResumed) on the account, in order."""
    _settled(ctx)
    rows = []
    for e in ctx.events():
        r: Any = e.record
        if e.type in ("HedgeHalted", "HedgeResumed") and r.account == account:
            rows.append({"event": e.type, "asset": r.asset, "reason": getattr(r, "reason", "")})
    problem = diff(f"The hedge events of {account} differ", list(table.headers), table.dicts(), rows)
    if problem is not None:
        raise AssertionError(problem)
