"""REST gateway of `chronex serve`: read-model query latency under FIX order flow, and REST order
submit throughput and latency, on loopback, with the query side on the REST thread and the hot
queries answered by the HTTP protocol (the default), and, for comparison in the same run, every
request through uvicorn's request cycle (nohot) or everything on the sequencer's loop (inline).

    .venv/bin/python bench/rest.py [--seconds 5] [--rounds 3] [--query-rate 1000] [--fix-rate 5000]
                                   [--modes thread,inline,nohot]

Each mode is a `chronex serve --fix-port 0 --rest-port 0` in its own process (SQLite log in
/dev/shm when it exists, virtual clock, group commit; `CHRONEX_REST_THREAD` and
`CHRONEX_REST_HOTPATH` set as the mode says). Each load
generator is its own process: the FIX one is bench/fix.py's (10 initiator sessions, resting limit
orders); the REST one is a minimal HTTP/1.1 client on asyncio (32 keep-alive connections; httpx's
pool cost the generator about 5 ms of CPU a request with thousands in flight, so it set the
figures).

Each round, for each mode in turn (so the modes' figures are paired in time):
- FIX max: bench/fix.py's closed loop for --seconds, on this server, now;
- queries alone: open loop at --query-rate requests/s, alternating GET /v1/books/XTKS:7203/l2 and
  GET /v1/accounts/ACC1/positions; latency = response received - scheduled send instant (queueing
  counts); p50 / p99, and the server's CPU per query (from /proc: the machine's load moves it
  little, unlike the latencies);
- the same queries while FIX orders flow open loop at --fix-rate orders/s (the issue's target:
  p99 <= 5 ms at 1,000 requests/s beside 5,000 orders/s), then at half the FIX max just measured
  (the issue's rates were set on a machine ~2.4x faster than this one);
  answers still owed 10 s after the schedule ends are given up and count as infinite latency;
- REST submits: --clients concurrent clients each POSTing resting limit orders back to back for
  --seconds; orders/s and p50 / p99 per request.
Printed figures are medians over the rounds, and with more than one mode the ratios of the first
mode's figures to each other mode's, over paired rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# bench/sim.py would shadow the sim package for a script run from bench/.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

KEYS = """\
[[key]]
key = "bench-admin"
name = "bench"
role = "qa-admin"
"""


def _fix_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_fix", HERE / "fix.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fix_load(port: int, sessions: int, seconds: float, rate: int, out: Any) -> None:
    """bench/fix.py's open-loop FIX generator (bench/fixload.py: each order at its own instant),
    in this spawned process."""
    _fix_bench()._timed_generator(port, sessions, seconds, rate, out)


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


# -- the REST load generator (its own process) ----------------------------------------------------
GRACE_S = 10.0
"""How long the query generator waits, after its schedule ends, for answers still owed; what is
unanswered then counts as an infinite latency (so a server that cannot keep up shows in the p99
instead of the bench draining a backlog for minutes)."""
CONNECTIONS = 32


class _Http:
    """One keep-alive HTTP/1.1 connection, requests one at a time. A minimal client: httpx spent
    about 5 ms of CPU a request here with thousands in flight (its pool hands connections to
    waiters one scan at a time), so the generator, not the server, set the figures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> _Http:
        import socket

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: bench-admin\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        status = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        return int(status.split()[1]), data

    def close(self) -> None:
        self.writer.close()


def _queries(port: int, rate: int, seconds: float, out: Any) -> None:
    paths = ["/v1/books/XTKS:7203/l2", "/v1/accounts/ACC1/positions"]

    async def main() -> None:
        lat: list[float] = []
        errors = [0]
        conns = [await _Http.open(port) for _ in range(CONNECTIONS)]
        await conns[0].request("GET", paths[0])  # the server's first answer builds its caches
        todo: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()

        async def worker(c: _Http) -> None:
            while (job := await todo.get()) is not None:
                i, due = job
                try:
                    status, _ = await c.request("GET", paths[i % 2])
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    status = 0
                if status != 200:
                    errors[0] += 1
                lat.append((time.perf_counter_ns() - due) / 1e6)

        workers = [asyncio.create_task(worker(c)) for c in conns]
        cpu0 = time.process_time()
        interval = 1e9 / rate
        t0 = time.perf_counter_ns()
        i = 0
        while True:
            now = time.perf_counter_ns()
            if now - t0 >= seconds * 1e9:
                break
            due_n = int((now - t0) / interval)
            while i <= due_n:  # open loop: a request waits for a free connection, and that counts
                todo.put_nowait((i, t0 + int(i * interval)))
                i += 1
            await asyncio.sleep(0.0005)
        cpu = time.process_time()
        for _ in workers:
            todo.put_nowait(None)
        _, late = await asyncio.wait(workers, timeout=GRACE_S)
        for t in late:
            t.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        unanswered = i - len(lat)
        lat.extend([float("inf")] * unanswered)
        for c in conns:
            c.close()
        out.send(
            {"sent": i, "lat": lat, "errors": errors[0], "unanswered": unanswered, "gen_cpu": cpu - cpu0}
        )

    asyncio.run(main())


def _submits(port: int, clients: int, seconds: float, out: Any) -> None:
    import json

    async def main() -> None:
        lat: list[float] = []
        bad = [0]
        conns = [await _Http.open(port) for _ in range(clients)]
        t_end = time.perf_counter() + seconds

        async def client(k: int) -> None:
            n = 0
            while time.perf_counter() < t_end:
                n += 1
                side, px = ("BUY", "2500") if n % 2 else ("SELL", "2510")
                body = {
                    "account": f"ACC{k}",
                    "instrument": "XTKS:7203",
                    "side": side,
                    "qty": "100",
                    "price": px,
                }
                t = time.perf_counter_ns()
                status, _ = await conns[k].request("POST", "/v1/orders", json.dumps(body).encode())
                lat.append((time.perf_counter_ns() - t) / 1e6)
                if status != 201:
                    bad[0] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        dt = time.perf_counter() - t0
        for c in conns:
            c.close()
        out.send({"orders": len(lat), "seconds": dt, "lat": lat, "bad": bad[0]})

    asyncio.run(main())


def _quiet(target: Any, *args: Any) -> None:
    """Run a generator with the cycle collector off: its pauses (up to 28 ms measured in the query
    generator) would count as the server's latency. A run lasts seconds; its garbage is freed by
    reference counting."""
    import gc

    gc.disable()
    target(*args)


def _spawn(target: Any, *args: Any) -> tuple[Any, Any]:
    ctx = mp.get_context("spawn")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_quiet, args=(target, *args, b))
    p.start()
    return p, a


def _collect(p: Any, a: Any, timeout: float) -> dict[str, Any]:
    if not a.poll(timeout):
        p.kill()
        raise RuntimeError("a load generator sent no result")
    res: dict[str, Any] = a.recv()
    p.join(30)
    return res


def _fix_max(port: int, sessions: int, seconds: float) -> float:
    """FIX orders/s at saturation (bench/fix.py's closed loop), on this server, now."""
    p, a = _spawn(_fix_max_load, port, sessions, seconds)
    r = _collect(p, a, seconds + 120)
    return float(r["orders"] / r["seconds"])


def _fix_max_load(port: int, sessions: int, seconds: float, out: Any) -> None:
    _fix_bench()._generator(port, sessions, seconds, out)


MODES = {  # mode: (CHRONEX_REST_THREAD, CHRONEX_REST_HOTPATH)
    "thread": ("1", "1"),
    "inline": ("0", "1"),
    "nohot": ("1", "0"),
}


def _serve(d: Path, sessions: int, mode: str) -> Any:
    from system.server.process import ServeProcess

    os.environ["CHRONEX_REST_THREAD"], os.environ["CHRONEX_REST_HOTPATH"] = MODES[mode]
    log = d / f"day-{mode}.db"
    return ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(log),
         "--fix-port", "0", "--sessions", str(d / "sessions.toml"), "--start", "2031-01-06T10:00+09:00",
         "--rest-port", "0", "--api-keys", str(d / "keys.toml")]
    )  # fmt: skip


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _round(srv: Any, args: Any, fig: dict[str, list[float]]) -> str:
    """One round on one server: FIX max, queries alone, beside FIX at --fix-rate and at half the
    max just measured, then REST submits. Appends to ``fig``; returns a line for people."""
    rest, fix_port, s = int(srv.info["rest_port"]), srv.fix_port, args.seconds

    def queries(key: str, fix_rate: int | None) -> None:
        cpu0 = _cpu_s(srv.proc.pid)
        fp = fa = None
        if fix_rate is not None:
            fp, fa = _spawn(_fix_load, fix_port, args.sessions, s + 1, fix_rate)
            time.sleep(1.0)  # the FIX sessions log on and the flow is running
        q = _collect(*_spawn(_queries, rest, args.query_rate, s), s + 600)
        if fp is not None:
            f = _collect(fp, fa, s + 120)
            fig[f"{key}.fix"].append(len(f["lat"]) / (s + 1))
        fig[f"{key}.p50"].append(_pct(q["lat"], 0.5))
        fig[f"{key}.p99"].append(_pct(q["lat"], 0.99))
        fig[f"{key}.rate"].append((len(q["lat"]) - q["unanswered"]) / s)
        fig[f"{key}.bad"].append(q["errors"] + q["unanswered"])
        if fix_rate is None:  # the server's CPU per query: a figure the machine's load moves little
            fig[f"{key}.cpu"].append(
                (_cpu_s(srv.proc.pid) - cpu0) / max(len(q["lat"]) - q["unanswered"], 1) * 1e6
            )
        fig["gen"].append(q["gen_cpu"] / max(q["sent"], 1) * 1e6)

    fmax = _fix_max(fix_port, args.sessions, s)
    fig["fix.max"].append(fmax)
    queries("alone", None)
    queries("full", args.fix_rate)
    fig["half.offered"].append(fmax / 2)
    queries("half", int(fmax / 2))
    o = _collect(*_spawn(_submits, rest, args.clients, s), s + 120)
    fig["sub.rate"].append(o["orders"] / o["seconds"])
    fig["sub.p50"].append(_pct(o["lat"], 0.5))
    fig["sub.p99"].append(_pct(o["lat"], 0.99))
    fig["sub.bad"].append(o["bad"])
    return (
        f"FIX max {fmax:,.0f}/s; queries alone p99 {fig['alone.p99'][-1]:.2f} ms "
        f"({fig['alone.cpu'][-1]:,.0f} µs server CPU each); beside FIX at "
        f"{args.fix_rate:,}/s ({fig['full.fix'][-1]:,.0f} ERs/s) p99 {fig['full.p99'][-1]:.2f} ms; at half "
        f"the max ({fig['half.fix'][-1]:,.0f} ERs/s) p99 {fig['half.p99'][-1]:.2f} ms; REST submits "
        f"{fig['sub.rate'][-1]:,.0f}/s p99 {fig['sub.p99'][-1]:.2f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--query-rate", type=int, default=1000)
    ap.add_argument("--fix-rate", type=int, default=5000)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument(
        "--modes",
        default="thread,inline",
        help="REST serving modes to compare, interleaved: thread (hot queries on the REST thread, "
        "answered by the HTTP protocol: the default of chronex serve), inline (everything on the "
        "sequencer's loop) and nohot (the REST thread, every request through uvicorn's request "
        "cycle: CHRONEX_REST_HOTPATH=0); ratios are the first mode's to each other's",
    )
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 1 s")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.seconds = 1.0
        args.rounds = 1
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes takes {', '.join(MODES)}, got {args.modes!r}")

    fix = _fix_bench()
    d = fix._scratch()
    toml = "\n".join(fix.SESSION_TOML.format(i=i) for i in range(args.sessions))
    (d / "sessions.toml").write_text(toml, encoding="utf-8")
    (d / "keys.toml").write_text(KEYS, encoding="utf-8")
    servers = {m: _serve(d, args.sessions, m) for m in modes}
    figs: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in modes}
    loads: list[float] = []
    try:
        for r in range(args.rounds):
            for m in modes:
                line = _round(servers[m], args, figs[m])
                loads.append(os.getloadavg()[0])
                print(f"round {r + 1} {m}: {line} (load {loads[-1]:.1f})", flush=True)
    finally:
        for srv in servers.values():
            srv.terminate()
        # The logs (tens of MB a mode) live in /dev/shm, that is in memory: not left behind.
        shutil.rmtree(d, ignore_errors=True)
    med = statistics.median
    print()
    print(f"REST on loopback, server and generators in separate processes (medians of {args.rounds} "
          f"rounds, {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f}):")  # fmt: skip
    for m in modes:
        f = {k: med(v) for k, v in figs[m].items()}
        print(f"  [{m}] FIX max on this server {f['fix.max']:,.0f} orders/s")
        print(f"    queries (L2 book, positions) at {args.query_rate:,}/s alone: achieved "
              f"{f['alone.rate']:,.0f}/s, p50 {f['alone.p50']:.2f} ms, "
              f"p99 {f['alone.p99']:.2f} ms; server CPU {f['alone.cpu']:,.0f} µs a query")  # fmt: skip
        print(f"    beside FIX at {args.fix_rate:,}/s offered ({f['full.fix']:,.0f} ERs/s): achieved "
              f"{f['full.rate']:,.0f}/s, p50 {f['full.p50']:.2f} ms, p99 {f['full.p99']:.2f} ms")  # fmt: skip
        print(f"    beside FIX at 50% of its max ({f['half.offered']:,.0f}/s offered, {f['half.fix']:,.0f} "
              f"ERs/s): achieved {f['half.rate']:,.0f}/s, p50 {f['half.p50']:.2f} ms, "
              f"p99 {f['half.p99']:.2f} ms")  # fmt: skip
        print(f"    REST order submit, {args.clients} clients closed loop: {f['sub.rate']:,.0f} orders/s, "
              f"p50 {f['sub.p50']:.2f} ms, p99 {f['sub.p99']:.2f} ms")  # fmt: skip
        bad = sum(figs[m]["alone.bad"] + figs[m]["full.bad"] + figs[m]["half.bad"] + figs[m]["sub.bad"])
        if bad:
            print(f"    ({bad:,.0f} query errors or unanswered, and submits not 201, over all rounds)")
    gen = med([g for m in modes for g in figs[m]["gen"]])
    print(f"  (the query generator used {gen:,.0f} µs CPU a request)")
    for other in modes[1:]:
        t, i = figs[modes[0]], figs[other]
        pairs = (
            ("half.p99", "p99 beside FIX at half its max"),
            ("full.p99", "p99 beside FIX"),
            ("alone.p99", "p99 alone"),
            ("alone.cpu", "server CPU per query"),
            ("full.rate", "queries answered/s beside FIX"),
            ("half.rate", "queries answered/s beside FIX at half its max"),
            ("sub.rate", "REST submits/s"),
            ("fix.max", "FIX max"),
        )
        for key, what in pairs:
            # A pair with an infinite p99 (answers given up) has no ratio.
            ratios = [a / b for a, b in zip(t[key], i[key], strict=True) if b and math.isfinite(a + b)]
            if ratios:
                print(f"  {modes[0]} / {other}, {what}: {med(ratios):.2f} (median of paired rounds)")


if __name__ == "__main__":
    main()
