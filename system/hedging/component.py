"""The hedging engine: nets the house's exposure per asset across venues, values it in the base
currency through pricing's FX, and hedges past each asset's threshold on an external venue.

It runs after the matching engine and pricing, inside the runtime: its inputs are the house's
fills (``TradeExecuted``), prices, the kill switch and what hedge venues reported (commands in
system/hedging/events.py); its decisions are events. It never talks to a venue: the hedge desk
(system/hedging/desk.py) reads ``HedgeOrderPlaced``/``HedgeCancelRequested`` from the log and sends
them. So every decision is a fold over logged inputs and a replay makes the same ones.

One working hedge order per asset at a time; each is sized to bring the exposure to the target,
in whole lots, capped at ``max_order_qty``. See docs/hedging.md.
"""

from __future__ import annotations

from fractions import Fraction

from system.engine.events import FxRateSet, InstrumentListed, TradeExecuted
from system.engine.orders import Side
from system.engine.refdata import Instrument
from system.hedging.config import AssetHedge, HedgeRoute, HedgingConfig
from system.hedging.events import (
    EvaluateHedges,
    HedgeCancelRequested,
    HedgeCommandRejected,
    HedgeExposure,
    HedgeHalted,
    HedgeOrderDone,
    HedgeOrderFilled,
    HedgeOrderPlaced,
    HedgeOrderRejected,
    HedgeResumed,
    HedgeVenueDown,
    HedgeVenueUp,
    RecordHedgeDone,
    RecordHedgeFill,
    RecordHedgeReject,
    RecordVenueDown,
    RecordVenueUp,
    ResumeHedging,
)
from system.pricing.events import MarkPriceSet
from system.pricing.fx import FxTable
from system.risk.events import FIRM, KillSwitchEngaged, KillSwitchReleased
from system.risk.money import unit_of
from system.runtime import Component, Context, applies, handles, reacts

NO_PRICE = "no price"


class HedgeOrder:
    """One hedge order as the engine knows it."""

    __slots__ = ("asset", "filled", "lot_units", "open", "order_id", "qty", "side", "venue")

    def __init__(self, ev: HedgeOrderPlaced) -> None:
        self.order_id = ev.order_id
        self.asset = ev.asset
        self.venue = ev.venue
        self.side = ev.side
        self.qty = ev.qty
        self.lot_units = ev.lot_units
        self.filled = 0
        self.open = True

    def signed(self, lots: int) -> int:
        """Asset units ``lots`` of this order add to the house's position."""
        units = lots * self.lot_units
        return units if self.side is Side.BUY else -units


class Hedger(Component):
    name = "hedging"

    def __init__(self, config: HedgingConfig) -> None:
        self.config = config
        self.house = frozenset(config.house_accounts)
        self.account = config.event_account()
        self.assets = sorted(config.assets)
        self._base_unit = Fraction(unit_of(config.base_currency, config.currencies))
        self._units = {a: Fraction(config.unit(a)) for a in self.assets}
        self.instruments: dict[str, Instrument] = {}
        self._inst_units: dict[str, Fraction] = {}  # asset units per int qty of a listed instrument
        self.position: dict[str, int] = dict.fromkeys(self.assets, 0)
        self.orders: dict[str, HedgeOrder] = {}
        self.working: dict[str, str] = {}  # asset -> its open hedge order
        self.exec_ids: set[str] = set()
        self.down: set[str] = set()
        self.attempts: dict[tuple[str, str], int] = {}
        self.cancelling: set[str] = set()  # orders the engine asked to cancel (not the venue's failure)
        self.failed: set[tuple[str, str]] = set()
        self.halted: dict[str, str] = {}
        self.killed: set[str] = set()
        self.fx = FxTable()
        self.marks: dict[str, int] = {}
        self.last: dict[str, int] = {}
        self.placed = 0
        self.shown: dict[str, tuple[int, int, int | None]] = {}

    # -- queries ---------------------------------------------------------------------------------
    def pending(self, asset: str) -> int:
        oid = self.working.get(asset)
        if oid is None:
            return 0
        o = self.orders[oid]
        return o.signed(o.qty - o.filled)

    def unit_price(self, asset: str) -> Fraction | None:
        """Base-currency money units per asset unit: FX first, then a mark, then a last trade of an
        instrument in the asset (lowest instrument id first), converted through FX."""
        base = self.config.base_currency
        per_asset = self.fx.fraction(asset, base)
        if per_asset is None:
            for source in (self.marks, self.last):
                for iid in sorted(source):
                    inst = self.instruments.get(iid)
                    if inst is None or inst.base_currency != asset:
                        continue
                    fx = self.fx.fraction(inst.quote_currency, base)
                    if fx is None:
                        continue
                    # price units -> quote amount per instrument unit -> per asset amount
                    per_asset = source[iid] * Fraction(inst.price_increment) * fx / Fraction(inst.multiplier)
                    break
                if per_asset is not None:
                    break
        if per_asset is None or per_asset <= 0:
            return None
        return per_asset * self._units[asset] / self._base_unit

    def value(self, asset: str, units: int | None = None) -> int | None:
        p = self.unit_price(asset)
        if p is None:
            return None
        v = (self.position[asset] if units is None else units) * p
        return int(v)  # toward zero, so a long and a short of one size are worth the same

    def summary(self) -> dict[str, object]:
        """Everything the engine decides on, in sorted plain values (replay tests compare it)."""
        return {
            "position": sorted(self.position.items()),
            "orders": sorted(
                (o.order_id, o.asset, o.venue, o.side.value, o.qty, o.filled, o.open)
                for o in self.orders.values()
            ),
            "working": sorted(self.working.items()),
            "down": sorted(self.down),
            "failed": sorted(self.failed),
            "attempts": sorted(self.attempts.items()),
            "cancelling": sorted(self.cancelling),
            "halted": sorted(self.halted.items()),
            "killed": sorted(self.killed),
            "placed": self.placed,
            "exec_ids": len(self.exec_ids),
        }

    def blocked(self) -> bool:
        return FIRM in self.killed or bool(self.killed & self.house)

    # -- deciding --------------------------------------------------------------------------------
    def _route(self, asset: str, spec: AssetHedge) -> tuple[HedgeRoute | None, str]:
        tried: list[str] = []
        for r in spec.venues:
            if (asset, r.venue) in self.failed:
                tried.append(f"{r.venue} failed {self.config.max_attempts} times")
                continue
            if r.venue in self.down:
                if self.config.on_outage == "stop":
                    return None, f"venue {r.venue} is down and on_outage is stop"
                tried.append(f"{r.venue} down")
                continue
            return r, ""
        return None, "no hedge venue left (" + ", ".join(tried) + ")"

    def _show(self, ctx: Context, asset: str) -> None:
        now = (self.position[asset], self.pending(asset), self.value(asset))
        if self.shown.get(asset) != now:
            ctx.emit(HedgeExposure(asset, now[0], now[1], now[2], self.config.base_currency))

    def _halt(self, ctx: Context, asset: str, reason: str) -> None:
        if asset not in self.halted:
            ctx.emit(HedgeHalted(self.account, asset, reason))

    def evaluate(self, ctx: Context, asset: str) -> None:
        """Hedge ``asset`` now if its exposure is past the threshold and nothing stops it."""
        spec = self.config.assets[asset]
        if asset in self.working or self.blocked():
            self._show(ctx, asset)
            return
        p = self.unit_price(asset)
        reason = self.halted.get(asset)
        if reason is not None and reason.startswith(NO_PRICE) and p is not None:
            ctx.emit(HedgeResumed(self.account, asset))  # the price it waited for has come
            reason = None
        if reason is not None:
            self._show(ctx, asset)
            return
        pos = self.position[asset]
        if p is None:
            if pos:
                self._halt(ctx, asset, f"{NO_PRICE} for {asset} in {self.config.base_currency}")
            self._show(ctx, asset)
            return
        threshold = self.config.base_units(spec.threshold)
        if abs(int(pos * p)) <= threshold:
            self._show(ctx, asset)
            return
        route, why = self._route(asset, spec)
        if route is None:
            self._halt(ctx, asset, why)
            self._show(ctx, asset)
            return
        lot = self.config.lot_units(asset, route)
        target_units = int(Fraction(self.config.base_units(spec.target)) / p)
        want = abs(pos) - target_units
        lots = want // lot
        if want % lot and abs(int((abs(pos) - (lots + 1) * lot) * p)) <= threshold:
            lots += 1  # a part lot more still lands inside the threshold: take it
        max_lots = int(Fraction(spec.max_order_qty) / Fraction(route.qty_increment))
        lots = min(lots, max_lots)
        if lots <= 0:
            self._halt(
                ctx, asset, f"one lot on {route.venue} is too coarse to bring {asset} inside the threshold"
            )
            self._show(ctx, asset)
            return
        side = Side.SELL if pos > 0 else Side.BUY
        oid = f"H{self.placed + 1}"
        ctx.emit(
            HedgeOrderPlaced(
                oid, asset, route.venue, route.instrument, side, lots, lot,
                f"exposure {pos} worth {int(pos * p)} {self.config.base_currency} past threshold {threshold}",
            )
        )  # fmt: skip
        self._show(ctx, asset)

    def evaluate_all(self, ctx: Context) -> None:
        for asset in self.assets:
            self.evaluate(ctx, asset)

    def _order(self, ctx: Context, command: str, order_id: str) -> HedgeOrder | None:
        o = self.orders.get(order_id)
        if o is None:
            ctx.emit(HedgeCommandRejected(command, f"unknown hedge order {order_id!r}"))
        return o

    # -- commands from venues --------------------------------------------------------------------
    @handles(RecordHedgeFill)
    def _fill(self, cmd: RecordHedgeFill, ctx: Context) -> bool:
        o = self._order(ctx, "RecordHedgeFill", cmd.order_id)
        if o is None or cmd.exec_id in self.exec_ids:
            return True
        if cmd.qty <= 0:
            ctx.emit(HedgeCommandRejected("RecordHedgeFill", f"fill qty {cmd.qty} must be positive"))
            return True
        # A fill after the order was given up (its venue went down) still moves the position.
        filled = o.filled + cmd.qty
        leaves = max(o.qty - filled, 0) if o.open else 0
        ctx.emit(
            HedgeOrderFilled(o.order_id, o.asset, o.venue, cmd.qty, cmd.price, cmd.exec_id, filled, leaves)
        )
        self.evaluate(ctx, o.asset)
        return True

    @handles(RecordHedgeReject)
    def _reject(self, cmd: RecordHedgeReject, ctx: Context) -> bool:
        o = self._order(ctx, "RecordHedgeReject", cmd.order_id)
        if o is None:
            return True
        if not o.open:
            ctx.emit(HedgeCommandRejected("RecordHedgeReject", f"hedge order {o.order_id} is already done"))
            return True
        ctx.emit(HedgeOrderRejected(o.order_id, o.asset, o.venue, cmd.text))
        self.evaluate(ctx, o.asset)
        return True

    @handles(RecordHedgeDone)
    def _done(self, cmd: RecordHedgeDone, ctx: Context) -> bool:
        o = self._order(ctx, "RecordHedgeDone", cmd.order_id)
        if o is None or not o.open:
            return True  # a cancel confirmed after the order ended: nothing left to end
        ctx.emit(HedgeOrderDone(o.order_id, o.asset, o.venue, o.filled, cmd.text or "ended by the venue"))
        self.evaluate(ctx, o.asset)
        return True

    @handles(RecordVenueDown)
    def _venue_down(self, cmd: RecordVenueDown, ctx: Context) -> bool:
        if cmd.venue in self.down:
            return True
        ctx.emit(HedgeVenueDown(cmd.venue, cmd.text))
        for asset in self.assets:
            oid = self.working.get(asset)
            if oid is not None and self.orders[oid].venue == cmd.venue:
                o = self.orders[oid]
                ctx.emit(HedgeOrderDone(oid, asset, o.venue, o.filled, f"venue {cmd.venue} down: {cmd.text}"))
        self.evaluate_all(ctx)
        return True

    @handles(RecordVenueUp)
    def _venue_up(self, cmd: RecordVenueUp, ctx: Context) -> bool:
        if cmd.venue not in self.down:
            return True
        ctx.emit(HedgeVenueUp(cmd.venue))
        for asset in self.assets:
            if asset in self.halted:
                ctx.emit(HedgeResumed(self.account, asset))
        self.evaluate_all(ctx)
        return True

    # -- commands from operators -----------------------------------------------------------------
    @handles(ResumeHedging)
    def _resume(self, cmd: ResumeHedging, ctx: Context) -> bool:
        if cmd.asset and cmd.asset not in self.config.assets:
            ctx.emit(
                HedgeCommandRejected("ResumeHedging", f"asset {cmd.asset!r} is not configured for hedging")
            )
            return True
        for asset in [cmd.asset] if cmd.asset else self.assets:
            if asset in self.halted or any(a == asset for a, _ in self.failed):
                ctx.emit(HedgeResumed(self.account, asset))
        self.evaluate_all(ctx)
        return True

    @handles(EvaluateHedges)
    def _evaluate(self, cmd: EvaluateHedges, ctx: Context) -> bool:
        self.evaluate_all(ctx)
        return True

    # -- reactions -------------------------------------------------------------------------------
    @reacts(TradeExecuted)
    def _on_trade(self, ev: TradeExecuted, ctx: Context) -> None:
        if ev.buy_account in self.house or ev.sell_account in self.house:
            inst = self.instruments.get(ev.instrument)
            if inst is not None and inst.base_currency in self.config.assets:
                self.evaluate(ctx, inst.base_currency)

    @reacts(FxRateSet, MarkPriceSet)
    def _on_price(self, ev: FxRateSet | MarkPriceSet, ctx: Context) -> None:
        self.evaluate_all(ctx)

    @reacts(KillSwitchEngaged)
    def _on_kill(self, ev: KillSwitchEngaged, ctx: Context) -> None:
        if ev.account != FIRM and ev.account not in self.house:
            return
        for asset in self.assets:
            oid = self.working.get(asset)
            if oid is not None:
                ctx.emit(
                    HedgeCancelRequested(oid, asset, self.orders[oid].venue, f"kill switch of {ev.account}")
                )

    @reacts(KillSwitchReleased)
    def _on_release(self, ev: KillSwitchReleased, ctx: Context) -> None:
        if not self.blocked():
            self.evaluate_all(ctx)

    # -- fold ------------------------------------------------------------------------------------
    @applies(InstrumentListed)
    def _listed(self, ev: InstrumentListed) -> None:
        inst = ev.instrument
        self.instruments[inst.id] = inst
        if inst.base_currency in self._units:
            self._inst_units[inst.id] = (
                Fraction(inst.qty_increment) * Fraction(inst.multiplier) / self._units[inst.base_currency]
            )

    @applies(TradeExecuted)
    def _traded(self, ev: TradeExecuted) -> None:
        self.last[ev.instrument] = ev.price
        per = self._inst_units.get(ev.instrument)
        if per is None:
            return
        delta = 0
        if ev.buy_account in self.house:
            delta += ev.qty
        if ev.sell_account in self.house:
            delta -= ev.qty
        if delta:
            asset = self.instruments[ev.instrument].base_currency
            self.position[asset] += int(delta * per)

    @applies(FxRateSet)
    def _fx(self, ev: FxRateSet) -> None:
        self.fx.set(ev.base, ev.quote, ev.mantissa, ev.exponent)

    @applies(MarkPriceSet)
    def _mark(self, ev: MarkPriceSet) -> None:
        self.marks[ev.instrument] = ev.price

    @applies(KillSwitchEngaged)
    def _killed(self, ev: KillSwitchEngaged) -> None:
        self.killed.add(ev.account)

    @applies(KillSwitchReleased)
    def _released(self, ev: KillSwitchReleased) -> None:
        self.killed.discard(ev.account)

    @applies(HedgeOrderPlaced)
    def _placed(self, ev: HedgeOrderPlaced) -> None:
        self.placed += 1
        self.orders[ev.order_id] = HedgeOrder(ev)
        self.working[ev.asset] = ev.order_id

    @applies(HedgeOrderFilled)
    def _filled(self, ev: HedgeOrderFilled) -> None:
        o = self.orders[ev.order_id]
        self.exec_ids.add(ev.exec_id)
        o.filled = ev.filled
        self.position[ev.asset] += o.signed(ev.qty)
        self.attempts.pop((ev.asset, ev.venue), None)  # progress: the venue works
        if o.open and ev.leaves == 0:
            self._close(o)

    @applies(HedgeOrderRejected)
    def _rejected(self, ev: HedgeOrderRejected) -> None:
        self._close(self.orders[ev.order_id])
        self._no_progress(ev.asset, ev.venue)

    @applies(HedgeOrderDone)
    def _ended(self, ev: HedgeOrderDone) -> None:
        o = self.orders[ev.order_id]
        self._close(o)
        if ev.filled == 0 and ev.venue not in self.down and ev.order_id not in self.cancelling:
            self._no_progress(ev.asset, ev.venue)
        self.cancelling.discard(ev.order_id)

    @applies(HedgeCancelRequested)
    def _cancel_asked(self, ev: HedgeCancelRequested) -> None:
        self.cancelling.add(ev.order_id)

    def _close(self, o: HedgeOrder) -> None:
        o.open = False
        if o.filled >= o.qty:
            self.cancelling.discard(o.order_id)
        if self.working.get(o.asset) == o.order_id:
            del self.working[o.asset]

    def _no_progress(self, asset: str, venue: str) -> None:
        n = self.attempts.get((asset, venue), 0) + 1
        self.attempts[(asset, venue)] = n
        if n >= self.config.max_attempts:
            self.failed.add((asset, venue))

    @applies(HedgeExposure)
    def _shown(self, ev: HedgeExposure) -> None:
        self.shown[ev.asset] = (ev.position, ev.pending, ev.value)

    @applies(HedgeVenueDown)
    def _down(self, ev: HedgeVenueDown) -> None:
        self.down.add(ev.venue)

    @applies(HedgeVenueUp)
    def _up(self, ev: HedgeVenueUp) -> None:
        self.down.discard(ev.venue)
        self.failed = {(a, v) for a, v in self.failed if v != ev.venue}
        for key in [k for k in self.attempts if k[1] == ev.venue]:
            del self.attempts[key]

    @applies(HedgeHalted)
    def _halted(self, ev: HedgeHalted) -> None:
        self.halted[ev.asset] = ev.reason

    @applies(HedgeResumed)
    def _resumed(self, ev: HedgeResumed) -> None:
        self.halted.pop(ev.asset, None)
        self.failed = {(a, v) for a, v in self.failed if a != ev.asset}
        for key in [k for k in self.attempts if k[0] == ev.asset]:
            del self.attempts[key]
