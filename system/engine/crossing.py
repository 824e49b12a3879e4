"""Cross-currency matching: taking liquidity from another book of the same cross group when its
best price, converted at the FX rate (``cross.py`` holds the pure conversion), beats the local one.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from system.engine import cross
from system.engine.book import Book, Order, SideBook
from system.engine.checks import EngineChecks
from system.engine.events import IcebergReplenished, TradeExecuted
from system.engine.matching import _LIMIT, _STP
from system.engine.orders import SelfTradePrevention
from system.runtime.runtime import Context

STP_NONE = SelfTradePrevention.NONE


class CrossCurrencyMatching(EngineChecks):
    """The best converted price among the other books of a cross group, and one fill against it."""

    if TYPE_CHECKING:  # shared with local matching (matching.py), composed in MatchingEngine

        def _band_breach(self, book: Book, price: int, bb: tuple[int, int], ctx: Context) -> int: ...

        def _self_trade(self, o: Order, r: Order, ctx: Context) -> bool: ...

    def _cross_best(self, legs: list[cross.Leg], is_buy: bool, local: int | None) -> tuple[Any, ...] | None:
        """The other book whose best price, converted, beats ``local`` strictly (ties stay local)."""
        best: tuple[Any, ...] | None = None
        for leg in legs:
            side = leg.book.asks if is_buy else leg.book.bids
            p = side.best()
            if p is None:
                continue
            c = p * leg.factor
            if local is not None and (c >= local if is_buy else c <= local):
                continue
            if best is None or (c < best[0] if is_buy else c > best[0]):
                best = (c, p, leg, side)
        return best

    def _cross_fill(
        self, book: Book, o: Order, alt: tuple[Any, ...], bb: tuple[int, int] | None, ctx: Context
    ) -> int:
        c: Fraction = alt[0]
        p: int = alt[1]
        leg: cross.Leg = alt[2]
        side: SideBook = alt[3]
        is_buy = o.is_buy
        if o.price is not None and (c > o.price if is_buy else c < o.price):
            return -1  # nothing better within the limit: stop (non-zero, but not a special reason)
        if is_buy and book.hi_limit is not None and c > book.hi_limit:
            return _LIMIT
        if not is_buy and c < book.lo_limit:
            return _LIMIT
        if bb is not None and (c < bb[0] or c > bb[1]):
            return self._band_breach(book, math.ceil(c) if is_buy else math.floor(c), bb, ctx)
        r = side.levels[p].head()
        if o.stp is not STP_NONE and r.account == o.account:
            return _STP if self._self_trade(o, r, ctx) else 0
        q = min(o.leaves, r.visible)
        cp = math.ceil(c) if is_buy else math.floor(c)  # rounded against the aggressor
        buy, sell = (o, r) if is_buy else (r, o)
        ctx.emit(
            TradeExecuted(
                self.next_trade_id, leg.book.id, p, q, o.side, buy.id, sell.id, buy.account,
                sell.account, r.id, o.id, ctx.now, book.id, cp, leg.fx_base, leg.fx_quote,
                leg.mantissa, leg.exponent,
            )
        )  # fmt: skip
        if r.display and r.leaves and r.visible == 0:
            ctx.emit(IcebergReplenished(r.id, leg.book.id, min(r.display, r.leaves)))
        return 0
