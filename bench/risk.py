"""Pre-trade risk benchmark: the matching workload with and without the risk engine in front.

    .venv/bin/python bench/risk.py            # workloads A and B, 1,000,000 commands, 3 rounds
    .venv/bin/python bench/risk.py --quick    # 100k commands, 1 round (a smoke run)

Workloads are bench/matching.py's (same generator and seed, generated up front, not timed):
  A  one instrument: ~60% limit adds near the touch, ~25% cancels, ~15% crossing orders.
  B  the same mix over 100 instruments with Pareto-weighted activity.

"matching" drives the engine alone. The two risk runs put the Risk component first in the
handler chain, with reactions drained after each command: the same handlers, appliers and
reactions the Runtime runs, without the log. "matching (chain)" is the engine alone in that same
chain: the risk runs' cost is printed against both, since part of the gap to "matching" is the
chain's dispatch (a list of handlers and appliers per type, a reaction queue), which every
Runtime pays with or without risk. The verdict is on "matching", the stricter of the two.
  pre-trade   (a) order-level and counter limits only: order qty, notional, collar, open orders,
              order rate (account and firm); no buying power, position limit or margin, so the
              engine keeps no positions or P&L (the accounts read model does, off the command path).
  full risk   (b) every limit on: (a) plus position limits, buying power with margin, fees,
              margin status on each trade. Limits are set so nothing is rejected, and the
final books are checked against the reference book, so both runs do the same matching work.
Command time advances 100 us per command (10k orders/s) for the rate window.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matching

from system.engine import MatchingEngine
from system.engine.events import InstrumentListed, TradeExecuted
from system.risk import Risk, parse_risk
from system.runtime import Component

STEP_NS = 100_000
# Issue 12: what each kind of risk may cost, as a share of matching alone's throughput.
TARGETS = {"pre-trade (a)": 0.25, "full risk (b)": 0.40}

RISK: dict[str, Any] = {
    "margin": {"initial_bp": 2000, "maintenance_bp": 1000},
    "firm": {
        "max_order_qty": "1000000",
        "max_notional": "100000000000",
        "collar_bp": 5000,
        "max_open_orders": 100000000,
        "max_orders_per_second": 100000000,
        "max_position": "1000000000000",
    },
    "default_account": {
        "balances": {"JPY": "100000000000"},
        "credit": "100000000000000",
        "max_order_qty": "100000",
        "max_notional": "10000000000",
        "collar_bp": 2000,
        "max_open_orders": 10000000,
        "max_orders_per_second": 1000000,
        "max_position": "1000000000000",
        "maker_fee_bp": 1,
        "taker_fee_bp": 3,
    },
}

# (a): the same limits without the ledger-dependent ones (no credit, no position limit, no margin)
PRE_TRADE = {
    "margin": {"initial_bp": 0, "maintenance_bp": 0},
    "firm": {k: v for k, v in RISK["firm"].items() if k != "max_position"},
    "default_account": {
        k: v
        for k, v in RISK["default_account"].items()
        if k not in ("credit", "max_position")
    },
}


class ChainContext:
    """What handlers need of ``system.runtime.Context`` for several components: ``now``, ``emit``
    (apply to every component at once, queue reactions), ``execute`` and ``component``."""

    __slots__ = ("_apply", "_components", "_handlers", "_react", "events", "now", "queue")

    def __init__(self, components: list[Component]) -> None:
        apply: dict[type, list[Callable[..., Any]]] = {}
        react: dict[type, list[Callable[..., Any]]] = {}
        handlers: dict[type, list[Callable[..., Any]]] = {}
        for c in components:
            for table, mine in ((apply, c.appliers()), (react, c.reactors()), (handlers, c.handlers())):
                for t, fns in mine.items():
                    table.setdefault(t, []).extend(fns)
        self._components = components
        self._apply = {t: tuple(f) for t, f in apply.items()}
        self._react = {t: tuple(f) for t, f in react.items()}
        self._handlers = {t: tuple(f) for t, f in handlers.items()}
        self.now = 1
        self.events = 0
        self.queue: deque[Any] = deque()

    def component(self, kind: type[Any]) -> Any:
        for c in self._components:
            if isinstance(c, kind):
                return c
        raise LookupError(kind.__name__)

    def emit(self, event: Any, *, valid_time: int | None = None) -> None:
        self.events += 1
        t = type(event)
        for fn in self._apply[t]:
            fn(event)
        if t in self._react:
            self.queue.append(event)

    def execute(self, command: Any) -> None:
        for fn in self._handlers[type(command)]:
            if fn(command, self):
                break

    def run(self, command: Any) -> None:
        self.now += STEP_NS
        for fn in self._handlers[type(command)]:
            if fn(command, self):
                break
        q = self.queue
        while q:
            ev = q.popleft()
            for fn in self._react[type(ev)]:
                fn(ev, self)


def with_risk(
    insts: list[str], config: dict[str, Any] = RISK
) -> tuple[MatchingEngine, ChainContext, Callable[[Any], Any], Risk]:
    risk = Risk(parse_risk(config))
    eng = MatchingEngine(tuple(matching.instrument(i) for i in range(len(insts))))
    for i in range(len(insts)):
        risk.on_listed(InstrumentListed(matching.instrument(i)))  # the bench engine lists without events
    ctx = ChainContext([risk, eng])
    return eng, ctx, ctx.run, risk


def pre_trade(insts: list[str]) -> tuple[MatchingEngine, ChainContext, Callable[[Any], Any], Risk]:
    return with_risk(insts, PRE_TRADE)


def chained(insts: list[str]) -> tuple[MatchingEngine, ChainContext, Callable[[Any], Any], None]:
    """The engine alone in the risk runs' chain (their dispatch, without the Risk component)."""
    eng = MatchingEngine(tuple(matching.instrument(i) for i in range(len(insts))))
    ctx = ChainContext([eng])
    return eng, ctx, ctx.run, None


def plain(insts: list[str]) -> tuple[MatchingEngine, Any, Callable[[Any], Any], None]:
    eng, ctx, run = matching.new_engine([matching.instrument(i) for i in range(len(insts))])
    return eng, ctx, run, None


def traded_volume(ctx: Any) -> Callable[[], int]:
    box = [0]
    table = ctx._apply
    inner = table[TradeExecuted]

    def count(ev: TradeExecuted) -> None:
        box[0] += ev.qty

    if isinstance(inner, tuple):
        table[TradeExecuted] = (count, *inner)
    else:

        def both(ev: TradeExecuted) -> None:
            count(ev)
            inner(ev)

        table[TradeExecuted] = both
    return lambda: box[0]


def throughput(build: Callable[..., Any], cmds: list[Any], insts: list[str], refs: Any) -> float:
    eng, ctx, run, _ = build(insts)
    volume = traded_volume(ctx)
    gc.collect()
    gc.freeze()
    t0 = time.perf_counter_ns()
    for c in cmds:
        run(c)
    elapsed = time.perf_counter_ns() - t0
    gc.unfreeze()
    matching.check(eng, refs, volume())  # a rejected order would leave a different book
    return len(cmds) / (elapsed / 1e9)


def latencies(build: Callable[..., Any], cmds: list[Any], insts: list[str]) -> list[int]:
    _, _, run, _ = build(insts)
    gc.collect()
    gc.freeze()
    clock = time.perf_counter_ns
    out = []
    for c in cmds:
        t0 = clock()
        run(c)
        out.append(clock() - t0)
    gc.unfreeze()
    return out


def pct(xs: list[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100k commands, 1 round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--commands", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["A", "B"], action="append")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.commands
    rounds = 1 if args.quick else args.rounds
    only = args.only or ["A", "B"]
    t = time.perf_counter()
    work = {}
    if "A" in only:
        work["A"] = matching.generate(n, 1, matching.SEED)
    if "B" in only:
        work["B"] = matching.generate(n, 100, matching.SEED + 1)
    print(f"generated in {time.perf_counter() - t:.1f}s (not timed); {rounds} interleaved round(s)")
    for name, (cmds, _kinds, insts, refs) in work.items():
        runs = (
            ("matching", plain),
            ("matching (chain)", chained),
            ("pre-trade (a)", pre_trade),
            ("full risk (b)", with_risk),
        )
        thr: dict[str, list[float]] = {label: [] for label, _ in runs}
        p50: dict[str, list[float]] = {k: [] for k in thr}
        p99: dict[str, list[float]] = {k: [] for k in thr}
        for _ in range(rounds):
            for label, build in runs:
                thr[label].append(throughput(build, cmds, insts, refs))
                lat = latencies(build, cmds, insts)
                p50[label].append(pct(lat, 0.5))
                p99[label].append(pct(lat, 0.99))
        desc = "1 instrument" if name == "A" else f"{len(insts)} instruments"
        print(f"\nworkload {name}: {n:,} commands, {desc} (final books match the reference in both runs)")
        for label in thr:
            print(
                f"  {label:<14} {statistics.median(thr[label]):>10,.0f} commands/s   "
                f"p50 {statistics.median(p50[label]):6.2f} us   p99 {statistics.median(p99[label]):6.2f} us"
                f"   (rounds: {', '.join(f'{x:,.0f}' for x in thr[label])})"
            )
        base = statistics.median(thr["matching"])
        chain = statistics.median(thr["matching (chain)"])
        for label, _ in runs[2:]:
            ratio = statistics.median(thr[label]) / base
            cost = 1 - ratio
            target = TARGETS[label]
            verdict = "within" if cost <= target else "OVER"
            paired = statistics.median(
                1 - r / c for r, c in zip(thr[label], thr["matching (chain)"], strict=True)
            )
            print(
                f"  {label}: ratio {ratio:.2f} of matching alone, risk costs {cost * 100:.0f}% of "
                f"matching throughput ({verdict} the {target:.0%} target); against matching in the "
                f"same chain {(1 - statistics.median(thr[label]) / chain) * 100:.0f}% "
                f"(paired by round {paired * 100:.0f}%)"
            )


if __name__ == "__main__":
    main()
