"""The pricing engine: marks, FX and cross rates, and reference prices, as events in the log.

It runs after the matching engine. Marks are made by the instrument's configured method and
emitted as ``MarkPriceSet`` only when they change, so the mark at any past instant is a fold of
the log. See docs/pricing.md.
"""

from __future__ import annotations

from typing import Any

import msgspec

from system.corrections import PriceCorrected
from system.engine import MatchingEngine, SetReferencePrice
from system.engine.events import (
    FxRateSet,
    InstrumentListed,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    TradeExecuted,
)
from system.engine.refdata import Instrument
from system.pricing.config import SELF_SOURCE, PricingConfig
from system.pricing.events import (
    MarkPriceSet,
    PricingRejected,
    RecomputeMarks,
    RollReferencePrices,
    SetFxRate,
    SetMarkPrice,
    SetSourcePrice,
    SourcePriceSet,
)
from system.pricing.fx import FxTable
from system.pricing.marks import composite, mid
from system.pricing.tomlfile import duration_ns
from system.runtime import Component, Context, applies, handles, reacts


class _Composite:
    __slots__ = ("min_sources", "outlier_bp", "stale_ns", "weights")

    def __init__(
        self, weights: tuple[tuple[str, int], ...], stale_ns: int, outlier_bp: int, min_sources: int
    ):
        self.weights = weights
        self.stale_ns = stale_ns
        self.outlier_bp = outlier_bp
        self.min_sources = min_sources


class PricingState(msgspec.Struct, frozen=True):
    """Everything ``Pricing`` folds, sorted by key (the method tables follow from the
    configuration and the listed instruments)."""

    instruments: list[Instrument]
    marks: list[tuple[str, int, int]]  # instrument, price, time of the mark
    last: list[tuple[str, int, int]]  # instrument, price, time of its last trade
    sources: list[tuple[str, str, int, int]]  # instrument, source, price, time
    fx: list[tuple[str, str, int, int]]  # base, quote, mantissa, exponent (directly set rates)
    fx_published: list[tuple[str, str, int, int]]  # crosses as last emitted


class Pricing(Component):
    name = "pricing"

    def __init__(self, config: PricingConfig) -> None:
        self.config = config
        self.instruments: dict[str, Instrument] = {}
        self.marks: dict[str, int] = {}
        self.mark_time: dict[str, int] = {}
        self.last: dict[str, tuple[int, int]] = {}  # instrument -> (price, time) of its last trade
        self.sources: dict[str, dict[str, tuple[int, int]]] = {}  # instrument -> source -> (price, time)
        self.fx = FxTable(config.fx_pivots)
        self.crosses = tuple(config.crosses)
        self._cross_pairs = set(self.crosses)
        self.fx_published: dict[tuple[str, str], tuple[int, int]] = {}  # crosses as last emitted
        self._last_method: set[str] = set()
        self._mid_method: set[str] = set()
        self._composite: dict[str, _Composite] = {}
        for inst in config.marks:
            self._configure(inst)

    # -- configuration ---------------------------------------------------------------------------
    def _configure(self, inst: str) -> None:
        rule = self.config.rule(inst)
        self._last_method.discard(inst)
        self._mid_method.discard(inst)
        if rule.method == "last":
            self._last_method.add(inst)
        elif rule.method == "mid":
            self._mid_method.add(inst)
        elif rule.method == "composite":
            self._composite[inst] = _Composite(
                tuple((s.name, s.weight) for s in rule.sources),
                duration_ns(rule.stale_after, f"pricing.marks.{inst}.stale_after", "<config>"),
                rule.outlier_bp,
                rule.min_sources,
            )

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot_state(self) -> PricingState:
        return PricingState(
            [i for _, i in sorted(self.instruments.items())],
            sorted((i, p, self.mark_time.get(i, 0)) for i, p in self.marks.items()),
            sorted((i, p, t) for i, (p, t) in self.last.items()),
            sorted((i, s, p, t) for i, per in self.sources.items() for s, (p, t) in per.items()),
            sorted((b, q, m, e) for (b, q), (m, e) in self.fx.direct.items()),
            sorted((b, q, m, e) for (b, q), (m, e) in self.fx_published.items()),
        )

    def restore_state(self, state: Any) -> None:
        s = state if isinstance(state, PricingState) else msgspec.convert(state, PricingState)
        self.__init__(self.config)  # type: ignore[misc]
        for inst in s.instruments:
            self._listed(InstrumentListed(inst))
        for i, p, t in s.marks:
            self.marks[i] = p
            self.mark_time[i] = t
        self.last = {i: (p, t) for i, p, t in s.last}
        for i, src, p, t in s.sources:
            self.sources.setdefault(i, {})[src] = (p, t)
        for b, q, m, e in s.fx:
            self.fx.set(b, q, m, e)
        self.fx_published = {(b, q): (m, e) for b, q, m, e in s.fx_published}

    def method(self, instrument: str) -> str:
        return self.config.rule(instrument).method

    # -- queries ---------------------------------------------------------------------------------
    def mark(self, instrument: str) -> int | None:
        return self.marks.get(instrument)

    def fx_rate(self, base: str, quote: str) -> tuple[int, int] | None:
        return self.fx.rate(base, quote)

    def next_stale(self, now: int) -> int | None:
        """The first instant after ``now`` at which a composite mark's source goes stale (its
        mark may then change): whoever drives the clock sends ``RecomputeMarks`` then."""
        best: int | None = None
        for inst, comp in sorted(self._composite.items()):
            if inst not in self.instruments:
                continue
            seen = self.sources.get(inst, {})
            for name, _ in comp.weights:
                q = self.last.get(inst) if name == SELF_SOURCE else seen.get(name)
                if q is None:
                    continue
                t = q[1] + comp.stale_ns + 1  # composite() keeps a source while now - time <= stale
                if t > now and (best is None or t < best):
                    best = t
        return best

    # -- helpers ---------------------------------------------------------------------------------
    def _set_mark(
        self, ctx: Context, inst: str, price: int, method: str, sources: tuple[str, ...] = ()
    ) -> None:
        if self.marks.get(inst) != price:
            ctx.emit(MarkPriceSet(inst, price, method, ctx.now, sources))

    def _reject(self, ctx: Context, command: str, text: str, field: str = "", value: object = "") -> bool:
        ctx.emit(PricingRejected(command, text, field, str(value)))
        return True

    def _recompute(self, ctx: Context, inst: str) -> None:
        comp = self._composite.get(inst)
        if comp is None:
            return
        seen = self.sources.get(inst, {})
        quotes: list[tuple[str, int, int, int]] = []
        for name, w in comp.weights:
            q = self.last.get(inst) if name == SELF_SOURCE else seen.get(name)
            if q is not None:
                quotes.append((name, w, q[0], q[1]))
        got = composite(quotes, ctx.now, comp.stale_ns, comp.outlier_bp, comp.min_sources)
        if got is not None:
            self._set_mark(ctx, inst, got[0], "composite", got[1])

    # -- commands --------------------------------------------------------------------------------
    @handles(SetMarkPrice)
    def _set_mark_price(self, cmd: SetMarkPrice, ctx: Context) -> bool:
        if cmd.instrument not in self.instruments:
            return self._reject(
                ctx, "SetMarkPrice", f"unknown instrument {cmd.instrument}", "instrument", cmd.instrument
            )
        if cmd.price <= 0:
            return self._reject(ctx, "SetMarkPrice", f"mark {cmd.price} must be positive", "price", cmd.price)
        ctx.emit(MarkPriceSet(cmd.instrument, cmd.price, "manual", ctx.now))
        return True

    @handles(SetSourcePrice)
    def _set_source_price(self, cmd: SetSourcePrice, ctx: Context) -> bool:
        if cmd.instrument not in self.instruments:
            return self._reject(
                ctx, "SetSourcePrice", f"unknown instrument {cmd.instrument}", "instrument", cmd.instrument
            )
        if cmd.price <= 0:
            return self._reject(
                ctx, "SetSourcePrice", f"price {cmd.price} must be positive", "price", cmd.price
            )
        ctx.emit(SourcePriceSet(cmd.instrument, cmd.source, cmd.price, ctx.now))
        self._recompute(ctx, cmd.instrument)
        return True

    @handles(SetFxRate)
    def _set_fx(self, cmd: SetFxRate, ctx: Context) -> bool:
        pair = f"{cmd.base}/{cmd.quote}"
        if not cmd.base or not cmd.quote or cmd.base == cmd.quote:
            return self._reject(ctx, "SetFxRate", f"{pair} is not a currency pair", "pair", pair)
        if cmd.mantissa <= 0:
            return self._reject(
                ctx, "SetFxRate", f"rate mantissa {cmd.mantissa} must be positive", "mantissa", cmd.mantissa
            )
        if (cmd.base, cmd.quote) in self._cross_pairs:
            return self._reject(
                ctx, "SetFxRate", f"{pair} is a configured cross rate: set its legs instead", "pair", pair
            )
        ctx.emit(FxRateSet(cmd.base, cmd.quote, cmd.mantissa, cmd.exponent))
        for base, quote in self.crosses:
            r = self.fx.rate(base, quote)
            if r is not None and self.fx_published.get((base, quote)) != r:
                ctx.emit(FxRateSet(base, quote, r[0], r[1]))
        return True

    @handles(RecomputeMarks)
    def _recompute_all(self, cmd: RecomputeMarks, ctx: Context) -> bool:
        for inst in sorted(self._composite):
            if inst in self.instruments:
                self._recompute(ctx, inst)
        return True

    @handles(RollReferencePrices)
    def _roll(self, cmd: RollReferencePrices, ctx: Context) -> bool:
        for inst_id, inst in sorted(self.instruments.items()):
            if cmd.venue and inst.venue != cmd.venue:
                continue
            last = self.last.get(inst_id)
            price = last[0] if last is not None else self.marks.get(inst_id)
            if price is None:
                continue
            price -= price % inst.tick_at(price)  # a mark between ticks rounds down onto one
            if price > 0:
                ctx.execute(SetReferencePrice(inst_id, price))
        return True

    # -- reactions -------------------------------------------------------------------------------
    @reacts(TradeExecuted)
    def _on_trade(self, ev: TradeExecuted, ctx: Context) -> None:
        inst = ev.instrument
        if inst in self._last_method:
            self._set_mark(ctx, inst, ev.price, "last")
        elif inst in self._composite:
            self._recompute(ctx, inst)
        if inst in self._mid_method:
            self._mid(ctx, inst)

    @reacts(OrderAccepted, OrderCancelled, OrderExpired, OrderReduced, OrderReplaced)
    def _on_book(
        self, ev: OrderAccepted | OrderCancelled | OrderExpired | OrderReduced | OrderReplaced, ctx: Context
    ) -> None:
        if ev.instrument in self._mid_method:
            self._mid(ctx, ev.instrument)

    def _mid(self, ctx: Context, inst: str) -> None:
        engine: MatchingEngine = ctx.component(MatchingEngine)
        book = engine.books.get(inst)
        if book is None:
            return
        m = mid(book.bids.best(), book.asks.best())
        if m is not None:
            self._set_mark(ctx, inst, m, "mid")

    @reacts(PriceCorrected)
    def _on_price_corrected(self, ev: PriceCorrected, ctx: Context) -> None:
        # A correction of the mark in force now moves the current mark; older ones only revise
        # history (the marks read model answers "as of" with the correction).
        if ev.instrument in self.instruments and ev.at >= self.mark_time.get(ev.instrument, -1):
            self._set_mark(ctx, ev.instrument, ev.price, "corrected")

    # -- fold ------------------------------------------------------------------------------------
    @applies(InstrumentListed)
    def _listed(self, ev: InstrumentListed) -> None:
        self.instruments[ev.instrument.id] = ev.instrument
        if ev.instrument.id not in self.config.marks:
            self._configure(ev.instrument.id)

    @applies(MarkPriceSet)
    def _marked(self, ev: MarkPriceSet) -> None:
        self.marks[ev.instrument] = ev.price
        self.mark_time[ev.instrument] = ev.time

    @applies(SourcePriceSet)
    def _sourced(self, ev: SourcePriceSet) -> None:
        self.sources.setdefault(ev.instrument, {})[ev.source] = (ev.price, ev.time)

    @applies(TradeExecuted)
    def _traded(self, ev: TradeExecuted) -> None:
        self.last[ev.instrument] = (ev.price, ev.time)

    @applies(FxRateSet)
    def _fx_set(self, ev: FxRateSet) -> None:
        pair = (ev.base, ev.quote)
        if pair in self._cross_pairs:
            self.fx_published[pair] = (ev.mantissa, ev.exponent)
        else:
            self.fx.set(ev.base, ev.quote, ev.mantissa, ev.exponent)
