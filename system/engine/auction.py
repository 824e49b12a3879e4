"""The call-auction (itayose) price: a pure function of the book's aggregate supply and demand.

Rule (docs/matching.md): among candidate prices (every limit price in the book, and the
reference price), choose the one that
  1. maximises the executable volume  V(p) = min(B(p), S(p)),
  2. then minimises the imbalance      |B(p) - S(p)|,
  3. then is nearest the reference price (skipped without one),
  4. then is the lowest.
B(p) is the buy quantity willing to trade at p (market buys + bids priced >= p), S(p) the sell
quantity (market sells + asks priced <= p). Candidates outside the daily limits are dropped.
"""

from __future__ import annotations

from typing import NamedTuple

from system.engine.orders import Side


class Uncross(NamedTuple):
    price: int | None
    qty: int
    imbalance_side: Side | None
    imbalance_qty: int


def uncross_price(
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    market_buy: int,
    market_sell: int,
    reference: int | None,
    lo: int = 0,
    hi: int | None = None,
) -> Uncross:
    """``bids``/``asks`` are (price, open quantity) levels in any order."""
    prices = {p for p, _ in bids}
    prices.update(p for p, _ in asks)
    if reference is not None:
        prices.add(reference)
    cands = sorted(p for p in prices if p >= lo and (hi is None or p <= hi))
    if not cands:
        return Uncross(None, 0, None, 0)
    bid_sorted = sorted(bids)  # ascending
    ask_sorted = sorted(asks)
    buy = market_buy + sum(q for _, q in bids)  # B at the lowest price, shrinks as p rises
    sell = market_sell
    bi = ai = 0
    best: tuple[int, int, int, int] | None = None
    best_bs = (0, 0)
    for p in cands:
        while bi < len(bid_sorted) and bid_sorted[bi][0] < p:
            buy -= bid_sorted[bi][1]
            bi += 1
        while ai < len(ask_sorted) and ask_sorted[ai][0] <= p:
            sell += ask_sorted[ai][1]
            ai += 1
        v = buy if buy < sell else sell
        dist = abs(p - reference) if reference is not None else 0
        key = (-v, abs(buy - sell), dist, p)
        if best is None or key < best:
            best = key
            best_bs = (buy, sell)
    assert best is not None
    volume = -best[0]
    if volume == 0:
        return Uncross(None, 0, None, 0)
    b, s = best_bs
    side = Side.BUY if b > s else Side.SELL if s > b else None
    return Uncross(best[3], volume, side, abs(b - s))
