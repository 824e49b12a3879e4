"""REST gateway of `chronex serve`: read-model query latency under FIX order flow, and REST order
submit throughput and latency, on loopback.

    .venv/bin/python bench/rest.py [--seconds 5] [--rounds 3] [--query-rate 1000] [--fix-rate 5000]

The server is `chronex serve --fix-port 0 --rest-port 0` in its own process (SQLite log in /dev/shm
when it exists, virtual clock, group commit). Each load generator is its own process: the FIX one
is bench/fix.py's (10 initiator sessions, resting limit orders, open loop at --fix-rate); the REST
one is httpx on asyncio.

Each round, interleaved, in one run:
- queries alone: open loop at --query-rate requests/s, alternating GET /v1/books/XTKS:7203/l2 and
  GET /v1/accounts/ACC1/positions; latency = response received - scheduled send instant (queueing
  counts); p50 / p99;
- the same queries while FIX orders flow at --fix-rate orders/s (the issue's target: p99 <= 5 ms
  at 1,000 requests/s beside 5,000 orders/s);
- REST submits: --clients concurrent clients each POSTing resting limit orders back to back for
  --seconds; orders/s and p50 / p99 per request.
Printed figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing as mp
import os
import statistics
import sys
import time
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
    """bench/fix.py's open-loop FIX generator, in this spawned process."""
    _fix_bench()._generator(port, sessions, "open", seconds, rate, out)


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


# -- the REST load generator (its own process) ----------------------------------------------------
def _queries(port: int, rate: int, seconds: float, out: Any) -> None:
    import httpx

    paths = ["/v1/books/XTKS:7203/l2", "/v1/accounts/ACC1/positions"]

    async def main() -> None:
        lat: list[float] = []
        errors = [0]
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"X-API-Key": "bench-admin"},
            limits=limits,
            timeout=httpx.Timeout(60.0, pool=None),  # queueing is measured, not cut off
        ) as c:
            await c.get(paths[0])  # warm the connection pool

            async def one(i: int, due: int) -> None:
                try:
                    r = await c.get(paths[i % 2])
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if not ok:
                    errors[0] += 1
                lat.append((time.perf_counter_ns() - due) / 1e6)

            tasks = []
            interval = 1e9 / rate
            t0 = time.perf_counter_ns()
            i = 0
            while True:
                now = time.perf_counter_ns()
                if now - t0 >= seconds * 1e9:
                    break
                due_n = int((now - t0) / interval)
                while i <= due_n:
                    tasks.append(asyncio.create_task(one(i, t0 + int(i * interval))))
                    i += 1
                await asyncio.sleep(0.0005)
            await asyncio.gather(*tasks)
        out.send({"sent": i, "lat": lat, "errors": errors[0]})

    asyncio.run(main())


def _submits(port: int, clients: int, seconds: float, out: Any) -> None:
    import httpx

    async def main() -> None:
        lat: list[float] = []
        bad = [0]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"X-API-Key": "bench-admin"},
            limits=httpx.Limits(max_connections=clients),
            timeout=60.0,
        ) as c:
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
                    r = await c.post("/v1/orders", json=body)
                    lat.append((time.perf_counter_ns() - t) / 1e6)
                    if r.status_code != 201:
                        bad[0] += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(client(k) for k in range(clients)))
            dt = time.perf_counter() - t0
        out.send({"orders": len(lat), "seconds": dt, "lat": lat, "bad": bad[0]})

    asyncio.run(main())


def _spawn(target: Any, *args: Any) -> tuple[Any, Any]:
    ctx = mp.get_context("spawn")
    a, b = ctx.Pipe()
    p = ctx.Process(target=target, args=(*args, b))
    p.start()
    return p, a


def _collect(p: Any, a: Any, timeout: float) -> dict[str, Any]:
    if not a.poll(timeout):
        p.kill()
        raise RuntimeError("a load generator sent no result")
    res: dict[str, Any] = a.recv()
    p.join(30)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--query-rate", type=int, default=1000)
    ap.add_argument("--fix-rate", type=int, default=5000)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()

    from system.server.process import ServeProcess

    fix = _fix_bench()
    d = fix._scratch()
    toml = "\n".join(fix.SESSION_TOML.format(i=i) for i in range(args.sessions))
    (d / "sessions.toml").write_text(toml, encoding="utf-8")
    (d / "keys.toml").write_text(KEYS, encoding="utf-8")
    srv = ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(d / "day.db"),
         "--fix-port", "0", "--sessions", str(d / "sessions.toml"), "--start", "2031-01-06T10:00+09:00",
         "--rest-port", "0", "--api-keys", str(d / "keys.toml")]
    )  # fmt: skip
    rest = int(srv.info["rest_port"])
    s = args.seconds
    alone: dict[str, list[float]] = {"p50": [], "p99": [], "rate": []}
    loaded: dict[str, list[float]] = {"p50": [], "p99": [], "rate": [], "fix": []}
    sub: dict[str, list[float]] = {"rate": [], "p50": [], "p99": []}
    try:
        for r in range(args.rounds):
            q = _collect(*_spawn(_queries, rest, args.query_rate, s), s + 600)
            alone["p50"].append(_pct(q["lat"], 0.5))
            alone["p99"].append(_pct(q["lat"], 0.99))
            alone["rate"].append(len(q["lat"]) / s)
            fp, fa = _spawn(_fix_load, srv.fix_port, args.sessions, s + 1, args.fix_rate)
            time.sleep(1.0)  # the FIX sessions log on and the flow is running
            q = _collect(*_spawn(_queries, rest, args.query_rate, s), s + 600)
            f = _collect(fp, fa, s + 120)
            loaded["p50"].append(_pct(q["lat"], 0.5))
            loaded["p99"].append(_pct(q["lat"], 0.99))
            loaded["rate"].append(len(q["lat"]) / s)
            loaded["fix"].append(len(f["lat"]) / (s + 1))
            o = _collect(*_spawn(_submits, rest, args.clients, s), s + 120)
            sub["rate"].append(o["orders"] / o["seconds"])
            sub["p50"].append(_pct(o["lat"], 0.5))
            sub["p99"].append(_pct(o["lat"], 0.99))
            print(
                f"round {r + 1}: queries alone p50 {alone['p50'][-1]:.2f} ms p99 {alone['p99'][-1]:.2f} ms; "
                f"beside FIX ({loaded['fix'][-1]:,.0f} ERs/s) p50 {loaded['p50'][-1]:.2f} ms "
                f"p99 {loaded['p99'][-1]:.2f} ms ({q['errors']} errors); REST submits "
                f"{sub['rate'][-1]:,.0f}/s p99 {sub['p99'][-1]:.2f} ms ({o['bad']} not 201)",
                flush=True,
            )
    finally:
        srv.terminate()
    med = statistics.median
    load = os.getloadavg()[0]
    print()
    print(f"REST on loopback, server and generators in separate processes (medians of {args.rounds} "
          f"rounds, {os.cpu_count()} cores, load average {load:.1f}):")  # fmt: skip
    print(f"  queries (L2 book, positions) at {args.query_rate:,}/s alone: "
          f"achieved {med(alone['rate']):,.0f}/s, p50 {med(alone['p50']):.2f} ms, "
          f"p99 {med(alone['p99']):.2f} ms")  # fmt: skip
    print(f"  same, beside FIX at {args.fix_rate:,}/s offered ({med(loaded['fix']):,.0f} ERs/s achieved): "
          f"achieved {med(loaded['rate']):,.0f}/s, p50 {med(loaded['p50']):.2f} ms, "
          f"p99 {med(loaded['p99']):.2f} ms")  # fmt: skip
    print(f"  REST order submit, {args.clients} clients closed loop: {med(sub['rate']):,.0f} orders/s, "
          f"p50 {med(sub['p50']):.2f} ms, p99 {med(sub['p99']):.2f} ms")  # fmt: skip
    print(f"  p99 beside FIX / alone: {med(loaded['p99']) / med(alone['p99']):.2f}")


if __name__ == "__main__":
    main()
