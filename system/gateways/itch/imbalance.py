"""The auction's indicative result for Imbalance (I) messages, computed fast enough to follow every
entry of a call phase.

It returns exactly what the engine's ``uncross_price`` (system/engine/auction.py) returns for the
same book, by the same rules (most volume, then least imbalance, then nearest the reference, then
the lowest price), but evaluates only the candidates that can win. B(p), the buy quantity at p or
better, never rises with p, and S(p), the sell quantity, never falls; so the volume min(B, S)
rises up to where S meets B and falls after it. A binary search finds that point; only the
candidates on either side whose volume equals the maximum are compared. B and S at a price come
from prefix sums and a bisection, so a call costs a sort and a few dozen steps, not a pass with a
tuple per candidate. ``tests/unit/test_itch_imbalance.py`` checks it against ``uncross_price``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate

from system.engine.auction import Uncross
from system.engine.orders import Side

NONE = Uncross(None, 0, None, 0)
_INF = float("inf")


def unmoved(
    volume: int,
    bp: list[int],
    bcum: list[int],
    ap: list[int],
    acum: list[int],
    market_buy: int,
    market_sell: int,
) -> tuple[float, float]:
    """Where a resting order can change without moving an indicative result of ``volume``: a buy
    below the first price ``a``, a sell above ``b``.

    A candidate at or below a buy's price p trades at most S(p), the sell quantity at p or better;
    below ``a`` (the lowest ask at which S reaches ``volume``) that is less than ``volume``, so
    however B changes there no such candidate ties the result, and every candidate above p keeps
    its B and S. The same for a sell above ``b`` (the highest bid at which B reaches ``volume``).
    (-inf, inf) when nothing is safe to skip. Same inputs as ``indicative_sorted``."""
    if volume <= 0:
        return -_INF, _INF
    a: float = -_INF
    if market_sell < volume and ap:  # else S >= volume everywhere
        a = ap[bisect_left(acum, volume - market_sell) - 1]
    b: float = _INF
    if market_buy < volume and bp:
        b = bp[min(bisect_right(bcum, market_buy + bcum[-1] - volume) - 1, len(bp) - 1)]
    return a, b


def indicative(
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    market_buy: int,
    market_sell: int,
    reference: int | None,
    lo: int = 0,
    hi: int | None = None,
) -> Uncross:
    """``bids``/``asks`` are (price, open quantity >= 0) in any order, as ``uncross_price`` takes."""
    bids = sorted(bids)
    asks = sorted(asks)
    return indicative_sorted(
        [p for p, _ in bids],
        [0, *accumulate([q for _, q in bids])],
        [p for p, _ in asks],
        [0, *accumulate([q for _, q in asks])],
        market_buy,
        market_sell,
        reference,
        lo,
        hi,
    )


def indicative_sorted(
    bp: list[int],
    bcum: list[int],
    ap: list[int],
    acum: list[int],
    market_buy: int,
    market_sell: int,
    reference: int | None,
    lo: int = 0,
    hi: int | None = None,
) -> Uncross:
    """The same from the sides' prices ascending (``bp``, ``ap``) and their running quantities
    (``bcum[i]``: the quantity of the ``i`` lowest bids, so ``bcum[0] == 0``)."""
    buy_all = market_buy + bcum[-1]
    prices = set(bp)
    prices.update(ap)
    if reference is not None:
        prices.add(reference)
    cands = sorted(prices)
    if cands and (cands[0] < lo or (hi is not None and cands[-1] > hi)):
        cands = cands[bisect_left(cands, lo) : len(cands) if hi is None else bisect_right(cands, hi)]
    n = len(cands)
    if not n:
        return NONE
    # k: the first candidate where S >= B (S - B never falls as p rises)
    left, right = 0, n
    while left < right:
        mid = (left + right) // 2
        c = cands[mid]
        if market_sell + acum[bisect_right(ap, c)] >= buy_all - bcum[bisect_left(bp, c)]:
            right = mid
        else:
            left = mid + 1
    k = left
    # before k the volume is S (rising with p), from k on it is B (falling)
    vl = market_sell + acum[bisect_right(ap, cands[k - 1])] if k else 0
    vr = buy_all - bcum[bisect_left(bp, cands[k])] if k < n else 0
    vmax = vl if vl > vr else vr
    if vmax <= 0:
        return NONE
    best: tuple[int, int, int, int] | None = None
    best_bs = (0, 0)
    i = k - 1
    while i >= 0:
        c = cands[i]
        s = market_sell + acum[bisect_right(ap, c)]
        if s != vmax:
            break
        b = buy_all - bcum[bisect_left(bp, c)]
        key = (-s, b - s, abs(c - reference) if reference is not None else 0, c)
        if best is None or key < best:
            best, best_bs = key, (b, s)
        i -= 1
    i = k
    while i < n:
        c = cands[i]
        b = buy_all - bcum[bisect_left(bp, c)]
        if b != vmax:
            break
        s = market_sell + acum[bisect_right(ap, c)]
        key = (-b, s - b, abs(c - reference) if reference is not None else 0, c)
        if best is None or key < best:
            best, best_bs = key, (b, s)
        i += 1
    assert best is not None
    b, s = best_bs
    side = Side.BUY if b > s else Side.SELL if s > b else None
    return Uncross(best[3], vmax, side, abs(b - s))
