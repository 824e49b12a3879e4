"""Fleet throughput: simulated days per hour on a LocalCluster of 1 and of 2 worker processes.

    .venv/bin/python bench/fleet.py [--days 8] [--until 09:30] [--instruments 7203,6758]
        [--rounds 3] [--workers 1,2] [--from 2027-01-04]

Both clusters are started first (their start-up is not timed), then each round runs the same
``--days`` sessions once on every cluster, alternating which goes first, into a fresh folder; the
time is from the first submit to the last result. Prints each round (with how many cores the
days' worker processes got: their CPU time over the wall time), the median days/hour per worker
count, the speed-up (ratio of medians, and the median of each round's paired ratio), and whether
every cluster wrote the same head hashes. Target on 2 cores: 1.7x at 2 workers. Other load on
the machine depresses it (the cores obtained show by how much): note the load average printed.
"""

# ruff: noqa: E402  (sys.path is fixed before the imports, see below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and bench/sim.py would shadow the
# `sim` package: drop the folder before importing anything from the project.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import shutil
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import date, timedelta

from chronex.commands.fleet import plan_fleet
from chronex.fleet.cluster import fleet_client, run_tasks
from chronex.fleet.days import simulate_day


def _warm() -> None:
    import chronex.fleet.days  # noqa: F401
    import sim.markets  # noqa: F401


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--venue", default="XTKS")
    ap.add_argument("--from", dest="first", default="2027-01-04")
    ap.add_argument("--days", type=int, default=8, help="sessions per fleet")
    ap.add_argument("--until", default="09:30", help="each day's end ('' for the close)")
    ap.add_argument("--instruments", default="7203,6758", help="'' for all of the profile's")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", default="1,2", help="worker counts to compare, first is the base")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 days to 09:05, 1 round")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.days = 2
        args.rounds = 1
        args.until = '09:05'

    counts = [int(w) for w in args.workers.split(",")]
    first = date.fromisoformat(args.first)
    tasks: list = []
    span = args.days * 2 + 10
    while len(tasks) < args.days:  # widen the date range until it holds enough sessions
        tasks, _, _ = plan_fleet(
            args.venue, first.isoformat(), (first + timedelta(days=span)).isoformat(), "1",
            [args.instruments] if args.instruments else None, None, args.until or None, 1.0, None, False,
        )  # fmt: skip
        span *= 2
    tasks = tasks[: args.days]
    print(f"fleet: {args.days} {args.venue} days from {tasks[0].trade_date}, "
          f"until {args.until or 'the close'}, instruments {args.instruments or 'all'}; "
          f"{args.rounds} rounds; cores {os.cpu_count()}")  # fmt: skip
    per: dict[int, list[float]] = {n: [] for n in counts}
    heads: dict[int, list[str]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="chronex-bench-fleet-"))
    try:
        with ExitStack() as stack:
            clients = {n: stack.enter_context(fleet_client(None, n, quiet=True)) for n in counts}
            for c in clients.values():
                c.run(_warm)  # imports on every worker, so round 0 does not pay them
            for r in range(args.rounds):
                order = counts if r % 2 == 0 else list(reversed(counts))
                for n in order:
                    out = scratch / f"r{r}-w{n}"
                    out.mkdir()
                    calls = [(f"bench-{r}-{n}-{t.key}", (t, str(out))) for t in tasks]
                    t0 = time.perf_counter()
                    batch = run_tasks(clients[n], simulate_day, calls, title=f"{n} workers", quiet=True)
                    wall = time.perf_counter() - t0
                    if batch.failures:
                        raise SystemExit(f"round {r}, {n} workers: {batch.failures[0]}")
                    heads[n] = [d.head_hash for d in batch.results]
                    per[n].append(args.days / wall * 3600)
                    cores = sum(d.cpu_seconds for d in batch.results) / wall  # cores the fleet got
                    print(f"round {r}: {n} worker(s) {wall:7.2f} s  {per[n][-1]:8.0f} days/hour  "
                          f"CPU {cores:.2f} cores  load {os.getloadavg()[0]:.1f}")  # fmt: skip
                    shutil.rmtree(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = statistics.median(per[counts[0]])
    for n in counts:
        med = statistics.median(per[n])
        # Paired: each round's ratio against the base run of the same round (shared load drifts).
        paired = statistics.median(a / b for a, b in zip(per[n], per[counts[0]], strict=True))
        print(f"{n} worker(s): median {med:8.0f} days/hour  speed-up {med / base:.2f}x of medians, "
              f"{paired:.2f}x median of paired rounds")  # fmt: skip
    same = all(heads[n] == heads[counts[0]] for n in counts)
    print(f"same head hashes under {', '.join(map(str, counts))} workers: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
