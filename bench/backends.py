"""Service backends beside the embedded default, measured in one run.

    .venv/bin/python bench/backends.py [--events 200000] [--batch 1000] [--rounds 3]
                                       [--rate 20000] [--pg postgresql://postgres@127.0.0.1/test]

1. Append and full replay, SQLite and PostgreSQL: ``--rounds`` paired rounds, the order of the
   two backends alternating, each round a fresh log of ``--events`` small events appended in
   batches of ``--batch`` (one transaction each), then ``store.replay()`` over all of them (every
   hash rechecked, every record decoded). Medians and the PostgreSQL/SQLite ratio are printed.
   Target: PostgreSQL batched append >= 50,000 events/s.
2. Archive lag under a full simulated day: a TSE day (two instruments, pre-open to close) is
   simulated once, then re-appended to a fresh log at ``--rate`` events/s in 50 ms batches while
   ``chronex archive`` follows it in another process. Lag of a batch = the time from its append
   returning to the archive's stored position reaching it (polled every 5 ms). Done with the log
   on SQLite and on PostgreSQL. Target: lag under 1 s at 20,000 events/s.
3. NATS publish rate: ``--events`` entries of a log published by ``NatsPublisher`` (a JetStream
   stream of its own, acks awaited per batch of ``--batch``), ``--rounds`` rounds.

The machine is shared: figures move from run to run; compare the columns of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from system.clock import FixedClock, from_datetime  # noqa: E402
from system.eventlog import Event, EventStore, NewEvent, open_log  # noqa: E402
from system.eventlog.postgres import split_url  # noqa: E402


class BenchTrade(Event, frozen=True):
    """A small event: about 60 bytes of canonical body (the same as bench/eventlog.py)."""

    instrument: int
    price: int
    qty: int
    side: str

    def stream(self) -> str:
        return f"book/{self.instrument}"


def make_events(n: int) -> list[NewEvent]:
    return [
        NewEvent(BenchTrade(i % 100, 10_000 + i % 97, 1 + i % 13, "B" if i % 2 else "S"), i)
        for i in range(n)
    ]


def pg_url(base: str, prefix: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}schema={prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def drop(url: str) -> None:
    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def append_replay(url: str, events: list[NewEvent], batch: int) -> tuple[float, float]:
    store = open_log(url, FixedClock(1))
    try:
        t0 = time.perf_counter()
        for i in range(0, len(events), batch):
            store.append(events[i : i + batch])
        t_append = time.perf_counter() - t0
        t0 = time.perf_counter()
        count = sum(1 for _ in store.replay())
        t_replay = time.perf_counter() - t0
        assert count == len(events), (count, len(events))
    finally:
        store.close()
    return len(events) / t_append, len(events) / t_replay


def bench_append_replay(base: str, n: int, batch: int, rounds: int) -> None:
    events = make_events(n)
    got: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
    print(f"== append (batches of {batch}) and full replay, {n:,} events, {rounds} paired rounds")
    for r in range(rounds):
        order = ["sqlite", "postgresql"] if r % 2 == 0 else ["postgresql", "sqlite"]
        for backend in order:
            if backend == "sqlite":
                tmp = tempfile.mkdtemp(prefix="chronex-bench-")
                url = os.path.join(tmp, "bench.db")
            else:
                url = pg_url(base, "bench")
            try:
                a, p = append_replay(url, events, batch)
            finally:
                if backend == "postgresql":
                    drop(url)
                else:
                    shutil.rmtree(tmp, ignore_errors=True)
            got[backend].append((a, p))
            print(f"  round {r + 1} {backend:<10} append {a:>10,.0f} ev/s   replay {p:>10,.0f} ev/s")
    med = {
        b: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for b, v in got.items()
    }
    print(f"  {'median':<8} {'append ev/s':>14} {'replay ev/s':>14}")
    for b, (a, p) in med.items():
        print(f"  {b:<10} {a:>12,.0f} {p:>14,.0f}")
    ratios = [(pg[0] / lt[0], pg[1] / lt[1]) for lt, pg in zip(got["sqlite"], got["postgresql"], strict=True)]
    print(
        f"  PostgreSQL/SQLite per round, median: append {statistics.median(r[0] for r in ratios):.2f}x, "
        f"replay {statistics.median(r[1] for r in ratios):.2f}x"
    )
    verdict = "meets" if med["postgresql"][0] >= 50_000 else "MISSES"
    print(f"  PostgreSQL batched append {med['postgresql'][0]:,.0f} ev/s {verdict} the 50,000 ev/s target")


def simulated_day_log(path: Path) -> str:
    """A full TSE day (pre-open to close, two instruments) in a SQLite log, made once per run."""
    from sim.markets import simulated_day

    day = date(2027, 1, 4)
    tokyo = ZoneInfo("Asia/Tokyo")
    start = from_datetime(datetime.combine(day, dtime(8, 0), tzinfo=tokyo))
    close = from_datetime(datetime.combine(day, dtime(15, 30), tzinfo=tokyo))
    d = simulated_day("XTKS", day, instruments=["7203", "9432"], seed=1, log=str(path),
                      start_ns=start, until_ns=close)  # fmt: skip
    d.run()
    d.world.runtime.flush()
    d.close()
    return str(path)


def archive_lag(day_log: str, log_url: str, archive_url: str, rate: int) -> dict[str, float]:
    """Re-append the day to ``log_url`` at ``rate`` events/s with `chronex archive` following."""
    import system.bootstrap
    import system.corrections
    import system.pricing
    import system.risk  # noqa: F401 - every record type of the day

    with open_log(day_log, FixedClock(0), create=False) as src:
        entries = list(src.read())
    step = max(1, rate // 20)  # one append every 50 ms
    batches = [
        [NewEvent(e.record, e.valid_time, e.correlation_id, e.causation_id, e.stream) for e in chunk]
        for chunk in (entries[i : i + step] for i in range(0, len(entries), step))
    ]
    live: EventStore = open_log(log_url, FixedClock(1))
    live.append(batches[0])  # the log exists before the archiver opens it
    cli = "import sys; from chronex.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", cli, "archive", "--from", log_url, "--to", archive_url, "--poll", "0.01",
         "--quiet"],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    conninfo, schema = split_url(archive_url)
    watch = psycopg.connect(conninfo, autocommit=True)
    q = sql.SQL("SELECT seq FROM {}.archive_position").format(sql.Identifier(schema))

    def position() -> int:
        try:
            row = watch.execute(q).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0

    try:
        while position() < len(batches[0]):  # archiver up and caught up with the first batch
            time.sleep(0.01)
        pending: list[tuple[int, float]] = []  # (last seq of a batch, when its append returned)
        lags: list[float] = []
        t_start = time.perf_counter()
        nxt = t_start
        seq = len(batches[0])
        for b in batches[1:]:
            now = time.perf_counter()
            while now < nxt:  # pace the appends; watch the archive meanwhile
                pos = position()
                now = time.perf_counter()
                while pending and pending[0][0] <= pos:
                    lags.append(now - pending.pop(0)[1])
                time.sleep(min(0.005, max(0.0, nxt - now)))
                now = time.perf_counter()
            live.append(b)
            seq += len(b)
            pending.append((seq, time.perf_counter()))
            nxt += len(b) / rate
        achieved = (seq - len(batches[0])) / (time.perf_counter() - t_start)
        deadline = time.perf_counter() + 60
        while pending and time.perf_counter() < deadline:
            pos = position()
            now = time.perf_counter()
            while pending and pending[0][0] <= pos:
                lags.append(now - pending.pop(0)[1])
            time.sleep(0.005)
        if pending:
            raise SystemExit(f"archive stuck at seq {position()} of {seq}")
    finally:
        child.terminate()
        child.wait(30)
        watch.close()
        live.close()
    lags.sort()
    return {
        "events": float(len(entries)),
        "rate": achieved,
        "median": statistics.median(lags),
        "p99": lags[int(len(lags) * 0.99)],
        "max": lags[-1],
    }


def bench_archive(base: str, rate: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="chronex-bench-"))
    t0 = time.perf_counter()
    day = simulated_day_log(tmp / "day.db")
    with open_log(day, FixedClock(0), create=False) as s:
        n = s.head().seq
    made = time.perf_counter() - t0
    print(f"\n== archive lag: a full simulated TSE day ({n:,} entries, made in {made:.0f} s) "
          f"re-appended at {rate:,} events/s")  # fmt: skip
    for backend in ("sqlite", "postgresql"):
        log_url = str(tmp / "live.db") if backend == "sqlite" else pg_url(base, "benchlog")
        arch = pg_url(base, "bencharch")
        try:
            r = archive_lag(day, log_url, arch, rate)
        finally:
            drop(arch)
            if backend == "postgresql":
                drop(log_url)
        verdict = "meets" if r["p99"] < 1.0 else "MISSES"
        print(
            f"  log on {backend:<10} appended at {r['rate']:>8,.0f} ev/s: "
            f"archive lag median {r['median'] * 1000:6.0f} ms"
            f"  p99 {r['p99'] * 1000:6.0f} ms  max {r['max'] * 1000:6.0f} ms  ({verdict} < 1 s at p99)"
        )  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)


def bench_nats(url: str, n: int, batch: int, rounds: int) -> None:
    from system.feed.nats import NatsPublisher

    store = open_log("memory://", FixedClock(1))
    events = make_events(n)
    for i in range(0, n, batch):
        store.append(events[i : i + batch])
    entries = list(store.read())
    print(f"\n== NATS JetStream publish: {n:,} entries in batches of {batch}, {rounds} rounds")
    rates = []
    for r in range(rounds):
        tag = uuid.uuid4().hex[:8]
        pub = NatsPublisher(url, stream_name=f"BENCH{tag}", root=f"bench{tag}")
        try:
            t0 = time.perf_counter()
            for i in range(0, n, batch):
                pub.handle(entries[i : i + batch])
            rates.append(n / (time.perf_counter() - t0))
            assert pub.position() == n
        finally:
            pub._loop.run(pub._js.delete_stream(pub.stream_name))
            pub.close()
        print(f"  round {r + 1}: {rates[-1]:>10,.0f} entries/s")
    print(f"  median {statistics.median(rates):,.0f} entries/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--pg", default=os.environ.get("CHRONEX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--nats", default=os.environ.get("CHRONEX_TEST_NATS_URL", "nats://127.0.0.1:4222"))
    ap.add_argument("--skip-append", action="store_true")
    ap.add_argument("--skip-archive", action="store_true")
    ap.add_argument("--skip-nats", action="store_true")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 20,000 events, 1 round")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.events = 20_000
        args.rounds = 1
    try:
        psycopg.connect(args.pg, connect_timeout=3).close()
    except psycopg.Error as e:
        msg = f"bench/backends.py: PostgreSQL at {args.pg} does not answer ({e}); pass --pg"
        raise SystemExit(msg) from None
    if not args.skip_append:
        bench_append_replay(args.pg, args.events, args.batch, args.rounds)
    if not args.skip_archive:
        bench_archive(args.pg, args.rate)
    if not args.skip_nats:
        bench_nats(args.nats, args.events, args.batch, args.rounds)


if __name__ == "__main__":
    main()
