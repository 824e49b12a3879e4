"""Matching-engine benchmark: throughput, latency by command type, GC share and peak memory.

    .venv/bin/python bench/matching.py            # all workloads, 3 interleaved rounds
    .venv/bin/python bench/matching.py --quick    # 100k commands, 1 round (a smoke run)
    flock /tmp/chronex-bench.lock .venv/bin/python bench/matching.py --only B   # shared machine

Workloads (fixed seed, commands generated up front against a reference book, not timed):
  A  1,000,000 commands on one instrument: ~60% limit adds near the touch, ~25% cancels,
     ~15% orders that cross the spread.
  B  the same mix over 100 instruments with Pareto-weighted activity.
  C  an opening auction (itayose): 100,000 resting orders, then the uncross.

The engine is driven directly through a minimal context that applies emitted events (no log,
no fsync): the same handlers and appliers the Runtime uses. After each run the final book is
checked against the reference book (levels, quantities, order counts, traded volume).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import resource
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from system.engine import (
    ChangePhase,
    Instrument,
    MatchingEngine,
    Phase,
    Side,
    SubmitOrder,
    TradeExecuted,
)
from system.engine.auction import uncross_price
from system.engine.commands import CancelOrder

SEED = 20240607
LOT = 100


class BenchContext:
    """What a handler needs from ``system.runtime.Context``: ``now`` and ``emit`` (apply at once)."""

    __slots__ = ("_apply", "events", "now")

    def __init__(self, engine: MatchingEngine) -> None:
        self._apply = {t: fns[0] for t, fns in engine.appliers().items()}
        self.now = 1
        self.events = 0

    def emit(self, event: Any, *, valid_time: int | None = None) -> None:
        self.events += 1
        self._apply[type(event)](event)


def new_engine(
    instruments: list[Instrument], phase: Phase = Phase.CONTINUOUS
) -> tuple[MatchingEngine, BenchContext, Callable[[Any], Any]]:
    eng = MatchingEngine(tuple(instruments), default_phase=phase)
    ctx = BenchContext(eng)
    table = {t: fns[0] for t, fns in eng.handlers().items()}

    def run(cmd: Any) -> Any:
        return table[type(cmd)](cmd, ctx)

    return eng, ctx, run


def instrument(i: int) -> Instrument:
    sym = f"S{i:03d}"
    return Instrument(f"BENCH:{sym}", "BENCH", sym, sym, "JPY", lot_size=LOT)


# -- the reference book: a deliberately plain price-time book used to generate and check ---------
class RefBook:
    """Price levels of [order id, qty] entries; a cancel zeroes its entry (skipped when matching)."""

    def __init__(self) -> None:
        self.bids: dict[int, deque[list[int]]] = {}
        self.asks: dict[int, deque[list[int]]] = {}
        self.count: dict[tuple[bool, int], int] = {}  # live entries per (is_buy, price)
        self.entry: dict[int, tuple[bool, int, list[int]]] = {}  # oid -> (is_buy, price, entry)
        self.live: list[int] = []  # open order ids, for picking cancels
        self.pos: dict[int, int] = {}
        self.traded = 0
        self.heaps: dict[bool, list[int]] = {True: [], False: []}  # -bid / ask prices, lazily pruned

    def best(self, is_bid: bool) -> int | None:
        side = self.bids if is_bid else self.asks
        heap = self.heaps[is_bid]
        while heap:
            p = -heap[0] if is_bid else heap[0]
            if p in side:
                return p
            heapq.heappop(heap)
        return None

    def _forget(self, oid: int) -> None:
        i = self.pos.pop(oid)
        last = self.live.pop()
        if last != oid:
            self.live[i] = last
            self.pos[last] = i
        is_buy, price, _ = self.entry.pop(oid)
        key = (is_buy, price)
        self.count[key] -= 1
        if not self.count[key]:
            del self.count[key]
            del (self.bids if is_buy else self.asks)[price]

    def add(self, oid: int, is_buy: bool, price: int, qty: int) -> None:
        opp = self.asks if is_buy else self.bids
        while qty and opp:
            p = self.best(not is_buy)
            assert p is not None
            if (p > price) if is_buy else (p < price):
                break
            q = opp[p]
            while qty and p in opp:
                head = q[0]
                if head[1] == 0:
                    q.popleft()
                    continue
                f = min(qty, head[1])
                head[1] -= f
                qty -= f
                self.traded += f
                if head[1] == 0:
                    q.popleft()
                    self._forget(head[0])
        if qty:
            side = self.bids if is_buy else self.asks
            if price not in side:
                side[price] = deque()
                heapq.heappush(self.heaps[is_buy], -price if is_buy else price)
            e = [oid, qty]
            side[price].append(e)
            self.count[(is_buy, price)] = self.count.get((is_buy, price), 0) + 1
            self.entry[oid] = (is_buy, price, e)
            self.pos[oid] = len(self.live)
            self.live.append(oid)

    def cancel(self, oid: int) -> None:
        self.entry[oid][2][1] = 0
        self._forget(oid)

    def levels(self) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        def lv(side: dict[int, deque[list[int]]], is_buy: bool) -> list[tuple[int, int, int]]:
            return [
                (p, sum(e[1] for e in side[p]), self.count[(is_buy, p)]) for p in sorted(side, reverse=is_buy)
            ]

        return lv(self.bids, True), lv(self.asks, False)


# -- workload generation ---------------------------------------------------------------------------
def generate(
    n: int, n_instruments: int, seed: int
) -> tuple[list[Any], list[str], list[str], dict[str, RefBook]]:
    rng = random.Random(seed)
    insts = [instrument(i).id for i in range(n_instruments)]
    # Pareto-weighted activity: a few instruments take most of the flow.
    weights = [1.0] if n_instruments == 1 else sorted((rng.paretovariate(1.16) for _ in insts), reverse=True)
    refs = {i: RefBook() for i in insts}
    cmds: list[Any] = []
    kinds: list[str] = []
    oid = 0
    cid = 0
    picks = rng.choices(insts, weights=weights, k=n)
    for inst in picks:
        ref = refs[inst]
        r = rng.random()
        if r < 0.25 and ref.live:
            victim = ref.live[rng.randrange(len(ref.live))]
            cmds.append(CancelOrder("acct", inst, victim))
            kinds.append("cancel")
            ref.cancel(victim)
            continue
        is_buy = rng.random() < 0.5
        bb, ba = ref.best(True), ref.best(False)
        mid = 10_000 if bb is None or ba is None else (bb + ba) // 2
        qty = rng.randint(1, 10) * LOT
        if r < 0.40:  # crossing: through the touch by up to 3 ticks
            opp = ba if is_buy else bb
            base = opp if opp is not None else mid
            price = base + rng.randint(0, 3) if is_buy else base - rng.randint(0, 3)
            kind = "cross"
        else:  # passive add near the touch
            touch = bb if is_buy else ba
            if touch is None:
                touch = mid - 1 if is_buy else mid + 1
            off = rng.randint(-1, 8)
            price = touch - off if is_buy else touch + off
            opp = ba if is_buy else bb
            if opp is not None and (price >= opp if is_buy else price <= opp):
                price = opp - 1 if is_buy else opp + 1
            kind = "add"
        price = max(price, 1)
        oid += 1
        cid += 1
        side = Side.BUY if is_buy else Side.SELL
        cmds.append(SubmitOrder("acct", f"c{cid}", inst, side, qty, price=price))
        kinds.append(kind)
        ref.add(oid, is_buy, price, qty)
    return cmds, kinds, insts, refs


def check(eng: MatchingEngine, refs: dict[str, RefBook], traded: int) -> None:
    total = 0
    for inst, ref in refs.items():
        view = eng.book(inst, orders=False)
        got = (
            [(lv.price, lv.qty, lv.count) for lv in view.bids],
            [(lv.price, lv.qty, lv.count) for lv in view.asks],
        )
        if got != ref.levels():
            raise SystemExit(f"final book of {inst} differs from the reference book")
        total += ref.traded
    if traded != total:
        raise SystemExit(f"traded volume {traded} differs from the reference {total}")


class Traded:
    """Counts traded volume by wrapping the trade applier (so the check sees every fill)."""

    def __init__(self, ctx: BenchContext) -> None:
        self.qty = 0
        self.count = 0
        inner = ctx._apply[TradeExecuted]

        def apply(ev: TradeExecuted) -> None:
            self.qty += ev.qty
            self.count += 1
            inner(ev)

        ctx._apply[TradeExecuted] = apply


# -- measurement -----------------------------------------------------------------------------------
class GcTimer:
    def __init__(self) -> None:
        self.total = 0
        self._t0 = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            self.total += time.perf_counter_ns() - self._t0


def run_throughput(cmds: list[Any], insts: list[str], refs: dict[str, RefBook]) -> tuple[float, float]:
    eng, ctx, run = new_engine([instrument(i) for i in range(len(insts))])
    traded = Traded(ctx)
    gc.collect()
    gc.freeze()
    timer = GcTimer()
    gc.callbacks.append(timer)
    t0 = time.perf_counter_ns()
    for c in cmds:
        run(c)
    elapsed = time.perf_counter_ns() - t0
    gc.callbacks.remove(timer)
    check(eng, refs, traded.qty)
    gc.unfreeze()
    return len(cmds) / (elapsed / 1e9), timer.total / elapsed


def run_latency(cmds: list[Any], kinds: list[str], insts: list[str]) -> dict[str, list[int]]:
    _, _, run = new_engine([instrument(i) for i in range(len(insts))])
    gc.collect()
    gc.freeze()
    lat: dict[str, list[int]] = {"add": [], "cancel": [], "cross": []}
    clock = time.perf_counter_ns
    for c, k in zip(cmds, kinds, strict=True):
        t0 = clock()
        run(c)
        lat[k].append(clock() - t0)
    gc.unfreeze()
    lat["all"] = [x for xs in lat.values() for x in xs]
    return lat


def pct(xs: list[int], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] / 1000


def auction_workload(n: int, seed: int, overlap: int) -> tuple[list[SubmitOrder], int]:
    """``n`` limit orders, half bids around 10,000 + overlap, half asks around 10,000 - overlap
    (sd 25 ticks): a larger overlap means more of the book trades in the uncross."""
    rng = random.Random(seed)
    inst = instrument(0).id
    cmds = []
    for i in range(n):
        is_buy = i % 2 == 0
        price = int(rng.gauss(10_000 + overlap if is_buy else 10_000 - overlap, 25))
        cmds.append(
            SubmitOrder(
                "acct",
                f"a{i}",
                inst,
                Side.BUY if is_buy else Side.SELL,
                rng.randint(1, 10) * LOT,
                price=price,
            )
        )
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for c in cmds:
        d = bids if c.side is Side.BUY else asks
        assert c.price is not None
        d[c.price] = d.get(c.price, 0) + c.qty
    u = uncross_price(list(bids.items()), list(asks.items()), 0, 0, 10_000)
    return cmds, u.qty


def brute_max_volume(cmds: list[SubmitOrder]) -> int:
    """Independent check of the uncross volume: scan every price."""
    prices = sorted({c.price for c in cmds if c.price is not None})
    best = 0
    for p in prices:
        b = sum(c.qty for c in cmds if c.side is Side.BUY and c.price is not None and c.price >= p)
        s = sum(c.qty for c in cmds if c.side is Side.SELL and c.price is not None and c.price <= p)
        best = max(best, min(b, s))
    return best


def run_auction(cmds: list[SubmitOrder], expected: int) -> tuple[float, float, int]:
    eng, ctx, run = new_engine([instrument(0)], phase=Phase.PRE_OPEN)
    traded = Traded(ctx)
    for c in cmds:
        run(c)
    run(ChangePhase("BENCH", Phase.OPENING_AUCTION))
    gc.collect()
    gc.freeze()
    timer = GcTimer()
    gc.callbacks.append(timer)
    t0 = time.perf_counter_ns()
    run(ChangePhase("BENCH", Phase.CONTINUOUS))
    elapsed = time.perf_counter_ns() - t0
    gc.callbacks.remove(timer)
    gc.unfreeze()
    if traded.qty != expected:
        raise SystemExit(f"uncross traded {traded.qty}, expected {expected}")
    if eng.book(instrument(0).id, orders=False).crossed():
        raise SystemExit("book crossed after the uncross")
    return elapsed / 1e6, timer.total / elapsed, traded.count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100k commands, 1 round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--commands", type=int, default=1_000_000)
    ap.add_argument("--auction-orders", type=int, default=100_000)
    ap.add_argument("--only", choices=["A", "B", "C"], action="append")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.commands
    rounds = 1 if args.quick else args.rounds
    only = set(args.only or ["A", "B", "C"])

    t = time.perf_counter()
    work = {}
    if "A" in only:
        work["A"] = generate(n, 1, SEED)
    if "B" in only:
        work["B"] = generate(n, 100, SEED + 1)
    # C: a typical pre-open book (bids centred 20 ticks below the asks; ~1/5 of the orders
    # trade); C-heavy: bids centred 10 ticks above the asks (~2/3 trade), a stress case.
    auctions = {}
    if "C" in only:
        auctions["C"] = auction_workload(args.auction_orders, SEED + 2, -20)
        auctions["C-heavy"] = auction_workload(args.auction_orders, SEED + 2, 10)
    if args.auction_orders <= 20_000:
        for cmds_c, q in auctions.values():
            assert brute_max_volume(cmds_c) == q
    print(f"generated in {time.perf_counter() - t:.1f}s (not timed); {rounds} interleaved round(s)")

    thr: dict[str, list[float]] = {k: [] for k in work}
    gcs: dict[str, list[float]] = {k: [] for k in work}
    lat: dict[str, dict[str, list[float]]] = {k: {} for k in work}
    auc: dict[str, list[float]] = {k: [] for k in auctions}
    auc_gc: dict[str, list[float]] = {k: [] for k in auctions}
    fills: dict[str, int] = {}
    rss: dict[str, int] = {}
    for _ in range(rounds):
        for name, (cmds, kinds, insts, refs) in work.items():
            rate, share = run_throughput(cmds, insts, refs)
            thr[name].append(rate)
            gcs[name].append(share)
            for kind, xs in run_latency(cmds, kinds, insts).items():
                d = lat[name].setdefault(kind, [])
                d.append(pct(xs, 0.5))
                d.append(pct(xs, 0.99))
                d.append(pct(xs, 0.999))
            rss[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name, auction in auctions.items():
            ms, share, fills[name] = run_auction(*auction)
            auc[name].append(ms)
            auc_gc[name].append(share)
            rss[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    for name in work:
        print(
            f"\nworkload {name}: {n:,} commands, {'1 instrument' if name == 'A' else '100 instruments'}"
            " (reference final book: match)"
        )
        print(
            f"  throughput  {statistics.median(thr[name]):>12,.0f} commands/s   (rounds: "
            + ", ".join(f"{x:,.0f}" for x in thr[name])
            + ")"
        )
        print(f"  GC share    {statistics.median(gcs[name]) * 100:>11.1f} %   (gc.freeze after setup)")
        for kind, ps in lat[name].items():
            p50 = statistics.median(ps[0::3])
            p99 = statistics.median(ps[1::3])
            p999 = statistics.median(ps[2::3])
            print(f"  {kind:<7} latency  p50 {p50:6.2f} us   p99 {p99:7.2f} us   p99.9 {p999:8.2f} us")
        print(f"  peak RSS    {rss[name] / 1024:>10.0f} MB (process so far)")
    for name, (_, q) in auctions.items():
        print(
            f"\nworkload {name}: opening uncross over {args.auction_orders:,} resting orders, "
            f"{fills[name]:,} fills, {q:,} shares executed (volume checked)"
        )
        rounds_ms = ", ".join(f"{x:.1f}" for x in auc[name])
        print(f"  uncross     {statistics.median(auc[name]):>10.1f} ms   (rounds: {rounds_ms})")
        print(f"  GC share    {statistics.median(auc_gc[name]) * 100:>10.1f} %")
        print(f"  peak RSS    {rss[name] / 1024:>10.0f} MB (process so far)")


if __name__ == "__main__":
    main()
