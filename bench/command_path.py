"""The command path users run: the matching workload through ``Runtime.execute`` with the log.

    .venv/bin/python bench/command_path.py                  # 1,000,000 commands, 3 interleaved rounds
    .venv/bin/python bench/command_path.py --quick          # 100,000 commands, 1 round (a smoke run)
    .venv/bin/python bench/command_path.py --compare /tmp/base   # the same, paired with an older checkout
    .venv/bin/python bench/command_path.py --risk           # also pre-trade (a) and full risk (b) on memory

Workload A of bench/matching.py (fixed seed, generated up front, not timed): one instrument,
~60% limit adds near the touch, ~25% cancels, ~15% orders that cross the spread. Virtual time
moves 100 us per command. Paths, each in a fresh process per round (so peak RSS is its own):

  engine         the matching engine's handlers and appliers alone (bench/matching.py's driver)
  memory         TradingSystem.execute over the memory log, one append per command
  sqlite         the same over a SQLite file, one append (one transaction) per command
  sqlite-batch   the same inside runtime.batched(2000), as ``chronex sim`` runs a day
  memory+pre     memory, with pre-trade risk (a) in front (``--risk``)
  memory+full    memory, with full risk (b): ledger, margin, fees (``--risk``)
  log-memory     the memory log alone: each command's entries, captured from a memory run (not
                 timed), appended to a fresh log, one append per command (``--log-alone``)
  log-sqlite     the same into a SQLite file (``--log-alone``)

The log-alone paths bound the others: a command costs at least the engine's work plus the log's,
so 1 / (1/engine + 1/log) is the most its path can reach on this machine with nothing in between.

Every command is timed on its own (perf_counter_ns around execute); commands/s is the count over
the summed time. GC pauses come from gc.callbacks. The bench freezes the generated workload
(gc.freeze) before it builds the system, so only the system's own objects are collected. After
each run the final book is checked against the reference book. With ``--compare DIR`` every
path also runs on the checkout in DIR (its code on PYTHONPATH), interleaved round by round, and
the ratios new/old are printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import matching

STEP_NS = 100_000
BATCH = 2000  # SimulatedDay.run's default: what `chronex sim` uses
PATHS = ("engine", "memory", "sqlite", "sqlite-batch")
RISK_PATHS = ("memory+pre", "memory+full")
LOG_PATHS = ("log-memory", "log-sqlite")


class GcPauses:
    """Every collection's pause, by generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, int]] = []
        self._t0 = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            self.pauses.append((info["generation"], time.perf_counter_ns() - self._t0))


def _risk_config(kind: str) -> Any:
    import risk as risk_bench  # bench/risk.py: the same limits as the risk benchmark

    from system.risk import parse_risk

    return parse_risk(risk_bench.PRE_TRADE if kind == "pre" else risk_bench.RISK)


def child(path: str, n: int) -> dict[str, Any]:
    cmds, _kinds, _insts, refs = matching.generate(n, 1, matching.SEED)
    gc.collect()
    gc.freeze()  # the workload is the bench's, not the system's: keep it out of every collection
    # Peak RSS with only the workload generated: the share of "peak RSS" that is the bench's own.
    rss_workload = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lat = array("q", bytes(8 * n))
    pauses = GcPauses()
    clock_ns = time.perf_counter_ns
    cpu0 = time.process_time()
    if path in LOG_PATHS:
        cpu, entries = _log_alone(path, cmds, lat, pauses)
    elif path == "engine":
        eng, ctx, run = matching.new_engine([matching.instrument(0)])
        traded = matching.Traded(ctx)
        gc.callbacks.append(pauses)
        for i, c in enumerate(cmds):
            ctx.now += STEP_NS
            t0 = clock_ns()
            run(c)
            lat[i] = clock_ns() - t0
        gc.callbacks.remove(pauses)
        cpu = time.process_time() - cpu0
        matching.check(eng, refs, traded.qty)
        entries = 0
    else:
        from system.bootstrap import SystemConfig, TradingSystem
        from system.eventlog import open_log

        class Clock:
            t = 1_800_000_000 * 10**9

            def now_ns(self) -> int:
                return self.t

        clock = Clock()
        tmp = tempfile.mkdtemp(prefix="chronex-bench-")
        url = "memory://" if path.startswith("memory") else os.path.join(tmp, "log.db")
        store = open_log(url, clock)
        risk = _risk_config(path.split("+")[1]) if "+" in path else None
        system = TradingSystem(
            SystemConfig(seed=1, instruments=(matching.instrument(0),), risk=risk), store, clock
        )
        system.start()
        setup_cpu = time.process_time() - cpu0
        execute = system.execute
        gc.callbacks.append(pauses)
        if path == "sqlite-batch":
            with system.runtime.batched(BATCH):
                for i, c in enumerate(cmds):
                    clock.t += STEP_NS
                    t0 = clock_ns()
                    execute(c)
                    lat[i] = clock_ns() - t0
        else:
            for i, c in enumerate(cmds):
                clock.t += STEP_NS
                t0 = clock_ns()
                execute(c)
                lat[i] = clock_ns() - t0
        gc.callbacks.remove(pauses)
        cpu = time.process_time() - cpu0 - setup_cpu
        # The final book must equal the reference book (a rejected order would change it).
        matching.check(system.engine, refs, _traded(store))
        entries = store.head().seq
        store.close()
        for f in Path(tmp).iterdir():
            f.unlink()
        os.rmdir(tmp)
    total = sum(lat)
    s = sorted(lat)
    q = lambda p: s[min(n - 1, int(p * n))] / 1000  # noqa: E731
    full = [p for g, p in pauses.pauses if g == 2]
    return {
        "path": path,
        "commands": n,
        "entries": entries,
        "rate": n / (total / 1e9),
        # CPU seconds of this process over the loop: less disturbed by other load on a shared machine
        "cpu_rate": n / cpu,
        "p50": q(0.5),
        "p99": q(0.99),
        "p999": q(0.999),
        "max": s[-1] / 1000,
        "gc_count": len(pauses.pauses),
        "gc_full": len(full),
        "gc_max_ms": max((p for _, p in pauses.pauses), default=0) / 1e6,
        "gc_total_ms": sum(p for _, p in pauses.pauses) / 1e6,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_workload_mb": rss_workload,
    }


def _log_alone(path: str, cmds: list[Any], lat: array, pauses: GcPauses) -> tuple[float, int]:
    """Each command's entries (its input and events) as a memory run appended them, appended
    again to a fresh log, one append per command: the log's own cost on the command path."""
    from system.bootstrap import SystemConfig, TradingSystem
    from system.eventlog import open_log

    class Clock:
        t = 1_800_000_000 * 10**9

        def now_ns(self) -> int:
            return self.t

    clock = Clock()
    source = open_log("memory://", clock)
    batches: list[list[Any]] = []
    append = source.append

    def capture(batch: Any, expected: Any = None) -> Any:
        batches.append(list(batch))
        return append(batch, expected)

    source.append = capture  # type: ignore[method-assign]
    system = TradingSystem(SystemConfig(seed=1, instruments=(matching.instrument(0),)), source, clock)
    system.start()
    start = len(batches)
    for c in cmds:
        clock.t += STEP_NS
        system.execute(c)
    source.close()
    del system, source
    setup, batches = batches[:start], batches[start:]
    assert len(batches) == len(cmds), "one append per command"
    gc.collect()
    gc.freeze()
    tmp = tempfile.mkdtemp(prefix="chronex-bench-")
    store = open_log("memory://" if path == "log-memory" else os.path.join(tmp, "log.db"), clock)
    for b in setup:
        store.append(b)
    clock_ns = time.perf_counter_ns
    put = store.append
    gc.callbacks.append(pauses)
    cpu0 = time.process_time()
    for i, b in enumerate(batches):
        clock.t += STEP_NS
        t0 = clock_ns()
        put(b)
        lat[i] = clock_ns() - t0
    cpu = time.process_time() - cpu0
    gc.callbacks.remove(pauses)
    entries = store.head().seq
    store.close()
    for f in Path(tmp).iterdir():
        f.unlink()
    os.rmdir(tmp)
    return cpu, entries


def _traded(store: Any) -> int:
    return sum(ev.record.qty for ev in store.read(1) if ev.type == "TradeExecuted")


def run_child(path: str, n: int, base: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if base:
        env["PYTHONPATH"] = base + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--child", path, "--commands", str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"{path} ({base or 'this tree'}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100k commands, 1 round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--commands", type=int, default=1_000_000)
    ap.add_argument(
        "--only", choices=PATHS + RISK_PATHS + LOG_PATHS, action="append", help="run only these paths"
    )
    ap.add_argument("--risk", action="store_true", help="add memory+pre and memory+full")
    ap.add_argument("--log-alone", action="store_true", help="add log-memory and log-sqlite (the log alone)")
    ap.add_argument("--compare", metavar="DIR", help="pair every run with the checkout in DIR")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = 100_000 if args.quick and args.commands == 1_000_000 else args.commands
    if args.child:
        print(json.dumps(child(args.child, n)))
        return
    rounds = 1 if args.quick else args.rounds
    paths = list(
        args.only or (PATHS + (RISK_PATHS if args.risk else ()) + (LOG_PATHS if args.log_alone else ()))
    )
    trees: list[tuple[str, str | None]] = [("new", None)]
    if args.compare:
        trees.append(("old", str(Path(args.compare).resolve())))
    print(
        f"workload A: {n:,} commands, 1 instrument, {rounds} interleaved round(s), each run a fresh process"
    )
    res: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in range(rounds):
        for path in paths:
            order = trees if r % 2 == 0 else trees[::-1]
            for label, base in order:
                got = run_child(path, n, base)
                res.setdefault((label, path), []).append(got)
                print(f"  round {r + 1} {label:<3} {path:<13} {got['rate']:>10,.0f} commands/s", flush=True)

    def med(label: str, path: str, key: str) -> float:
        return statistics.median(x[key] for x in res[(label, path)])

    def paired(a: tuple[str, str], b: tuple[str, str], key: str = "rate") -> list[float]:
        return [x[key] / y[key] for x, y in zip(res[a], res[b], strict=True)]

    def rounds_text(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    for label, base in trees:
        print(f"\n{label}: {base or 'this tree'}")
        print(
            f"  {'path':<13} {'commands/s':>11} {'(CPU)':>9} {'p50 us':>7} {'p99 us':>7} {'p99.9':>7}"
            f" {'max us':>8} {'GCs':>5} {'full':>4} {'GC max ms':>9} {'GC total':>9} {'peak RSS':>9}"
        )
        for path in paths:

            def m(key: str, path: str = path, label: str = label) -> float:
                return med(label, path, key)

            print(
                f"  {path:<13} {m('rate'):>11,.0f} {m('cpu_rate'):>9,.0f} {m('p50'):>7.1f} {m('p99'):>7.1f}"
                f" {m('p999'):>7.1f} {m('max'):>8.0f} {m('gc_count'):>5.0f} {m('gc_full'):>4.0f}"
                f" {m('gc_max_ms'):>9.1f} {m('gc_total_ms'):>7.0f}ms {m('rss_mb'):>7.0f}MB"
            )
        print(
            f"  (peak RSS includes the generated workload: {med(label, paths[0], 'rss_workload_mb'):,.0f} MB "
            "before any system is built)"
        )
        if "engine" in paths:
            for path in paths:
                if path != "engine" and path not in LOG_PATHS:
                    r = statistics.median(paired((label, path), (label, "engine")))
                    print(f"  {path} runs at {r:.2f}x the engine alone (paired by round)")
            for path, log in (("memory", "log-memory"), ("sqlite", "log-sqlite")):
                if log in paths:
                    bound = 1 / (1 / med(label, "engine", "rate") + 1 / med(label, log, "rate"))
                    per = 1e6 / med(label, log, "rate")
                    print(
                        f"  {path}: at most {bound:,.0f} commands/s here (the engine alone plus the log"
                        f" alone, nothing between; the log takes {per:.1f} us a command)"
                    )
        if "memory" in paths:
            for path in RISK_PATHS:
                if path in paths:
                    xs = [1 - r for r in paired((label, path), (label, "memory"))]
                    cs = [1 - r for r in paired((label, path), (label, "memory"), "cpu_rate")]
                    print(
                        f"  {path}: risk costs {statistics.median(xs) * 100:.0f}% of the memory path's"
                        f" throughput (paired by round: {rounds_text(xs)}; by CPU time"
                        f" {statistics.median(cs) * 100:.0f}%: {rounds_text(cs)})"
                    )
    if args.compare:
        print("\nnew / old, median of the per-round ratios (wall; CPU):")
        for path in paths:
            wall = paired(("new", path), ("old", path))
            cpu = paired(("new", path), ("old", path), "cpu_rate")
            print(
                f"  {path:<13} {statistics.median(wall):5.2f}x  {statistics.median(cpu):5.2f}x"
                f"   (rounds: {rounds_text(wall)})"
            )
    targets = {"memory": 100_000, "sqlite-batch": 80_000, "sqlite": 40_000, "engine": 250_000}
    print("\ntargets (this tree):")
    for path, want in targets.items():
        if path in paths:
            got = med("new", path, "rate")
            verdict = "met" if got >= want else "NOT met"
            print(f"  {path:<13} {got:>10,.0f} commands/s  target >= {want:,}: {verdict}")
    for path in paths:
        if path == "engine" or path in LOG_PATHS:
            continue
        p99, gcmax, rss = med("new", path, "p99"), med("new", path, "gc_max_ms"), med("new", path, "rss_mb")
        ok = p99 <= 40 and gcmax <= 5 and rss < 1024
        print(
            f"  {path:<13} p99 {p99:.1f} us (<= 40), GC max {gcmax:.1f} ms (<= 5), peak RSS {rss:.0f} MB"
            f" (< 1024 for 1M): {'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
