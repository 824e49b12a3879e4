"""Calendar and clock query rates: phase lookups per second (target >= 1,000,000/s), other queries,
cold calendar builds, and the session scheduler driving a virtual year.

    .venv/bin/python bench/clock.py

Workloads: 200,000 seeded-random instants, either within one trading day (the hot path of a
simulated day) or spread over 2020-2030 (chunk misses included). Figures are best of 3 runs.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime

from sim.clock import VirtualClock
from sim.clock.registry import _cached, venue_calendar
from sim.clock.scheduler import SessionScheduler
from system.clock import NS_PER_SECOND, from_datetime

N = 200_000
VENUES = ["XTKS", "CME", "FX-JP", "CRYPTO", "XNYS"]


def rate(fn: Callable[[int], object], xs: list[int]) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for x in xs:
            fn(x)
        best = min(best, time.perf_counter() - t0)
    return len(xs) / best


def main() -> None:
    warnings.simplefilter("ignore")
    rng = random.Random(7)
    day0 = from_datetime(datetime(2025, 6, 3, 0, tzinfo=UTC))
    one_day = [day0 + rng.randrange(86_400 * NS_PER_SECOND) for _ in range(N)]
    lo = from_datetime(datetime(2020, 1, 1, tzinfo=UTC))
    hi = from_datetime(datetime(2030, 12, 1, tzinfo=UTC))
    decade = sorted(rng.randrange(lo, hi) for _ in range(N))  # a replay walks time forward
    shuffled = [rng.randrange(lo, hi) for _ in range(N)]

    print(f"{'venue':8} {'build 2020-30':>13} {'phase/s day':>12} {'phase/s 10y':>12} "
          f"{'random 10y':>11} {'is_open/s':>10} {'trade_date/s':>13} {'next_open/s':>12}")
    for v in VENUES:
        _cached.cache_clear()
        t0 = time.perf_counter()
        cal = venue_calendar(v)
        cal.sessions(date(2020, 1, 1), date(2030, 12, 31))
        build = time.perf_counter() - t0
        cal.phase(decade[0])
        print(f"{v:8} {build:12.2f}s {rate(cal.phase, one_day):12,.0f} {rate(cal.phase, decade):12,.0f} "
              f"{rate(cal.phase, shuffled):11,.0f} {rate(cal.is_open, one_day):10,.0f} "
              f"{rate(cal.trade_date, one_day):13,.0f} {rate(cal.next_open, one_day):12,.0f}")

    # The scheduler over a virtual year: every phase change of five venues through a fake executor.
    class Sink:
        n = 0

        def execute(self, command: object) -> None:
            self.n += 1

    sink = Sink()
    start = from_datetime(datetime(2025, 1, 1, tzinfo=UTC))
    end = from_datetime(datetime(2026, 1, 1, tzinfo=UTC))
    clock = VirtualClock(start)
    SessionScheduler(clock, sink, VENUES, until_ns=end).start()
    t0 = time.perf_counter()
    clock.run()
    dt = time.perf_counter() - t0
    print(f"scheduler: a virtual year of {len(VENUES)} venues, {sink.n:,} ChangePhase commands in {dt:.2f}s "
          f"({sink.n / dt:,.0f}/s)")


if __name__ == "__main__":
    main()
