"""Phase changes and auctions: the ``ChangePhase`` handler, what happens as a book leaves one
phase and arrives in the next (uncross, market-order remainders, ATO/ATC/DAY expiry, stops),
and the execution of the uncross (``auction.py`` holds the pure uncross price).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from system.engine.auction import uncross_price
from system.engine.book import LEVEL, Book, Order
from system.engine.checks import EngineChecks
from system.engine.events import AuctionUncrossed, IcebergReplenished, TradeExecuted
from system.engine.orders import CancelReason, ExpireReason, RejectReason, TimeInForce
from system.engine.phases import ChangePhase, Phase, PhaseChanged
from system.runtime.component import handles
from system.runtime.runtime import Context

CONTINUOUS = Phase.CONTINUOUS
AUCTIONS = (Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)
ATO_PHASES = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.BREAK)
R = RejectReason


class PhaseTransitions(EngineChecks):
    """Venue and instrument phase changes and the call-auction uncross they run."""

    if TYPE_CHECKING:  # stop triggering (matching.py), composed in MatchingEngine

        def _run_stops(self, book: Book, ctx: Context) -> None: ...

    @handles(ChangePhase)
    def _change_phase(self, cmd: ChangePhase, ctx: Context) -> bool:
        new = cmd.phase
        if cmd.instrument is not None:
            book = self.books.get(cmd.instrument)
            if book is None or book.venue != cmd.venue:
                return self._reject(
                    ctx, "ChangePhase", cmd.instrument, "", "", R.UNKNOWN_INSTRUMENT,
                    f"unknown instrument {cmd.instrument} on venue {cmd.venue}", "instrument", cmd.instrument,
                )  # fmt: skip
            old = book.phase
            self._leave(book, old, new, ctx)
            ctx.emit(PhaseChanged(cmd.venue, new, old, cmd.instrument, cmd.reason))
            self._arrive(book, new, ctx)
            return True
        previous = self.phase_of_venue(cmd.venue)
        affected = [
            (b, b.phase)
            for b in self._venue_books(cmd.venue)
            if b.phase is not new and (b.id not in self.overrides or new is Phase.CLOSED)
        ]
        for b, old in affected:
            self._leave(b, old, new, ctx)
        ctx.emit(PhaseChanged(cmd.venue, new, previous, None, cmd.reason))
        for b, _ in affected:
            self._arrive(b, new, ctx)
        return True

    def _leave(self, book: Book, old: Phase, new: Phase, ctx: Context) -> None:
        """What happens as ``book`` leaves ``old`` for ``new``, before the change is recorded."""
        if old is new:
            return
        ran = False
        if old in AUCTIONS or (new is CONTINUOUS and old is not CONTINUOUS):
            ran = self._uncross(book, old, ctx, report=old in AUCTIONS)
        if ran or new is CONTINUOUS or new is Phase.CLOSED:
            for side in (book.bids, book.asks):
                for o in side.market_orders():
                    self._cancel(ctx, o, CancelReason.MARKET_REMAINDER)
        if old is Phase.OPENING_AUCTION or new not in ATO_PHASES:
            for oid in sorted(book.ato):
                self._expire(ctx, book.ato[oid], ExpireReason.ATO)
        if old is Phase.CLOSING_AUCTION or new is Phase.CLOSED:
            for o in [o for o in self._book_orders(book) if o.tif is TimeInForce.ATC]:
                self._expire(ctx, o, ExpireReason.ATC)

    def _arrive(self, book: Book, new: Phase, ctx: Context) -> None:
        """What happens once ``book`` is in ``new``: DAY expiry at the close, stops in continuous."""
        if new is Phase.CLOSED:
            for o in [o for o in self._book_orders(book) if o.tif is TimeInForce.DAY]:
                self._expire(ctx, o, ExpireReason.DAY)
        elif new is CONTINUOUS and (book.stops_buy or book.stops_sell):
            self._run_stops(book, ctx)

    def _book_orders(self, book: Book) -> list[Order]:
        return [o for _, o in sorted(self.orders.items()) if o.inst == book.id]

    def _uncross(self, book: Book, phase: Phase, ctx: Context, *, report: bool) -> bool:
        """Run the call auction on ``book``; True if an uncross was attempted."""
        bids = [(lvl.price, lvl.qty) for lvl in book.bids.levels.values()]
        asks = [(lvl.price, lvl.qty) for lvl in book.asks.levels.values()]
        mb = sum(o.leaves for o in book.bids.market_orders())
        ms = sum(o.leaves for o in book.asks.market_orders())
        if not report and not mb and not ms and not book.crossed():
            return False
        ref = book.reference if book.reference is not None else book.last_price
        u = uncross_price(bids, asks, mb, ms, ref, book.lo_limit, book.hi_limit)
        if u.price is not None:
            self._execute_uncross(book, u.price, u.qty, ctx)
        ctx.emit(AuctionUncrossed(book.id, u.price, u.qty, u.imbalance_side, u.imbalance_qty, phase))
        return True

    def _execute_uncross(self, book: Book, price: int, qty: int, ctx: Context) -> None:
        """Fill ``qty`` at ``price``: market orders first, then by price, then by time, both sides."""
        # No order enters during the uncross, so each side's executable levels are fixed up front.
        queues = []
        for side in (book.bids, book.asks):
            lvls = [
                lv for lv in side.sorted_levels() if (lv.price >= price if side.is_bid else lv.price <= price)
            ]
            queues.append((side.market, lvls))
        (bm, blv), (sm, slv) = queues
        buys, sells = _auction_queue(bm, blv, qty), _auction_queue(sm, slv, qty)
        if buys is not None and sells is not None:
            self._fill_queues(book.id, price, qty, buys, sells, ctx)
        else:
            self._fill_levels(book.id, price, qty, queues, ctx)

    def _fill_queues(
        self, inst_id: str, price: int, qty: int, buys: list[Order], sells: list[Order], ctx: Context
    ) -> None:
        """The uncross fills when no iceberg takes part: both sides are plain queues whose orders
        leave only by filling, so the walk needs no state read back between fills."""
        emit = ctx.emit
        now = ctx.now
        tid = self.next_trade_id  # the trade applier advances it by one per trade
        bi = si = 0
        b, s = buys[0], sells[0]
        bl, sl = b.leaves, s.leaves
        left = qty
        while True:
            q = bl if bl < sl else sl
            if left < q:
                q = left
            emit(
                TradeExecuted(tid, inst_id, price, q, None, b.id, s.id, b.account, s.account, None, None, now)
            )
            left -= q
            if not left:
                return
            tid += 1
            bl -= q
            if not bl:
                bi += 1
                b = buys[bi]
                bl = b.leaves
            sl -= q
            if not sl:
                si += 1
                s = sells[si]
                sl = s.leaves

    def _fill_levels(
        self, inst_id: str, price: int, qty: int, queues: list[tuple[Any, list[Any]]], ctx: Context
    ) -> None:
        """The uncross fills in general: icebergs refill at the back of their level as they go."""
        emit = ctx.emit
        now = ctx.now
        (bm, blv), (sm, slv) = queues
        bi = si = 0
        b = s = None
        left = qty
        while left > 0:
            if b is None:
                while bm and not bm[0].live:
                    bm.popleft()
                if bm:
                    b = bm[0]
                else:
                    while bi < len(blv) and not blv[bi].count:
                        bi += 1
                    if bi == len(blv):
                        break  # cannot happen when qty came from this book
                    b = blv[bi].queue[0]
                    if not b.live:
                        b = blv[bi].head()
            if s is None:
                while sm and not sm[0].live:
                    sm.popleft()
                if sm:
                    s = sm[0]
                else:
                    while si < len(slv) and not slv[si].count:
                        si += 1
                    if si == len(slv):
                        break
                    s = slv[si].queue[0]
                    if not s.live:
                        s = slv[si].head()
            q = b.leaves if b.leaves < s.leaves else s.leaves
            if left < q:
                q = left
            emit(
                TradeExecuted(
                    self.next_trade_id,
                    inst_id,
                    price,
                    q,
                    None,
                    b.id,
                    s.id,
                    b.account,
                    s.account,
                    None,
                    None,
                    now,
                )
            )
            left -= q
            if b.leaves == 0:
                b = None
            elif b.display and b.visible == 0 and b.where == LEVEL:
                emit(IcebergReplenished(b.id, inst_id, min(b.display, b.leaves)))
                b = None
            if s.leaves == 0:
                s = None
            elif s.display and s.visible == 0 and s.where == LEVEL:
                emit(IcebergReplenished(s.id, inst_id, min(s.display, s.leaves)))
                s = None


def _auction_queue(market: Any, levels: list[Any], need: int) -> list[Order] | None:
    """The first open orders of one side in priority (market orders, then levels best first, then
    time) until their quantity covers ``need``; None if an iceberg with a hidden part is among them
    (it would refill at the back of its level as it fills)."""
    out: list[Order] = []
    for o in market:
        if o.live:
            out.append(o)
            need -= o.leaves
            if need <= 0:
                return out
    for lv in levels:
        if lv.shown != lv.qty:
            return None
        if lv.qty < need:  # the whole level trades: its live orders, without summing them
            out += [o for o in lv.queue if o.live]
            need -= lv.qty
            continue
        for o in lv.queue:
            if o.live:
                out.append(o)
                need -= o.leaves
                if need <= 0:
                    return out
    return out
