"""REST orders/s into the crypto mocks, one API style at a time, on loopback.

    .venv/bin/python bench/mocks_rest.py [--seconds 5] [--clients 8] [--rounds 3] [--quick]

Each style's mock (binance, coinbase, okx profiles; rate limit lifted, memory log) runs on uvicorn
in its own process on a fixed virtual clock; the load generator is httpx on asyncio in this
process, --clients concurrent clients each sending signed limit orders back to back (two accounts,
alternating sides around one price, so about half the orders trade), for --seconds.

The machine is shared, so absolute figures drift: each round also measures the same server's
cheapest answer (Binance GET /api/v3/ping, Coinbase GET /time, OKX GET /api/v5/public/time) with
the same clients, and prints orders/s as a ratio to that floor, which is what to compare across
runs. Printed figures are medians over the rounds, after one uncounted second of orders to warm up.

It also prints the CPU time one order costs in process (the ASGI app called directly, no sockets:
signing, authentication, validation, matching and logging), from ``time.process_time``, which a
loaded machine disturbs far less than wall-clock rates.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

T0 = 1_925_424_000 * 10**9
STYLES = {
    "binance": ("BTCUSDT", "/api/v3/ping"),
    "coinbase": ("BTC-USD", "/time"),
    "okx": ("BTC-USDT", "/api/v5/public/time"),
}


def _serve(name: str, ports: Any, stop: Any) -> None:
    from mocks.base import MockContext
    from mocks.crypto import PROFILES, CryptoMock
    from system.clock import FixedClock

    raw = tomllib.loads((PROFILES / f"{name}.toml").read_text())
    raw["rate_limit"] = {"limit": 10**12, "window_s": 60}

    async def main() -> None:
        mock = CryptoMock(MockContext(raw, FixedClock(T0)))
        await mock.start()
        ports.put(mock.http.port)
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await mock.stop()

    asyncio.run(main())


async def _load(port: int, name: str, seconds: float, clients: int, orders: bool) -> int:
    import httpx

    from mocks.crypto import PROFILES, parse_profile
    from mocks.crypto.client import order_request
    from system.clock import FixedClock

    profile = parse_profile(tomllib.loads((PROFILES / f"{name}.toml").read_text()))
    clock = FixedClock(T0)
    symbol, floor_path = STYLES[name]
    done = 0
    end = time.perf_counter() + seconds

    async def client(i: int) -> None:
        nonlocal done
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as c:
            n = 0
            while time.perf_counter() < end:
                if orders:
                    side = "SELL" if (i + n) % 2 else "BUY"
                    key = profile.keys[(i + n) % 2]
                    px = "30000" if side == "BUY" else "29999"
                    req = order_request(profile, key, clock, symbol, side, "0.01", px)
                    r = await c.request(req.method, req.target, headers=req.headers, content=req.body or None)
                else:
                    r = await c.get(floor_path)
                if r.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {r.status_code} {r.text}")
                n += 1
                done += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    return done


def _cpu_per_order(name: str, n: int) -> float:
    """CPU ms per signed order through the ASGI app in this process."""
    import httpx

    from mocks.base import MockContext
    from mocks.crypto import PROFILES, served
    from mocks.crypto.client import order_request
    from mocks.crypto.styles import build_app
    from system.clock import FixedClock

    raw = tomllib.loads((PROFILES / f"{name}.toml").read_text())
    raw["rate_limit"] = {"limit": 10**12, "window_s": 60}
    clock = FixedClock(T0)
    s = served(MockContext(raw, clock))
    app, profile, symbol = build_app(s), s.venue.profile, STYLES[name][0]

    async def go() -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as c:
            reqs = []
            for i in range(n + 50):
                side = "SELL" if i % 2 else "BUY"
                px = "30000" if side == "BUY" else "29999"
                reqs.append(order_request(profile, profile.keys[i % 2], clock, symbol, side, "0.01", px))
            for r in reqs[:50]:  # warm-up
                await c.request(r.method, r.target, headers=r.headers, content=r.body or None)
            t = time.process_time()
            for r in reqs[50:]:
                await c.request(r.method, r.target, headers=r.headers, content=r.body or None)
            return (time.process_time() - t) / n * 1000

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    ctx = mp.get_context("spawn")
    print(
        f"crypto mock REST orders/s: {args.clients} clients, "
        f"{args.seconds:g} s x {args.rounds} rounds, loopback"
    )
    for name in STYLES:
        ports, stop = ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve, args=(name, ports, stop), daemon=True)
        proc.start()
        port = ports.get(timeout=60)
        rates, floors = [], []
        # Warm up (connections, first-request imports) before anything is counted.
        asyncio.run(_load(port, name, 1.0, args.clients, True))
        for _ in range(args.rounds):
            floors.append(asyncio.run(_load(port, name, args.seconds, args.clients, False)) / args.seconds)
            rates.append(asyncio.run(_load(port, name, args.seconds, args.clients, True)) / args.seconds)
        stop.set()
        proc.join(30)
        o, f = statistics.median(rates), statistics.median(floors)
        print(f"  {name:9s} orders {o:8.0f}/s   floor (cheapest GET) {f:8.0f}/s   ratio {o / f:5.2f}")
    n = 200 if args.quick else 2_000
    print(f"CPU per order in process (ASGI, no sockets; {n} orders, about half trading):")
    for name in STYLES:
        print(f"  {name:9s} {_cpu_per_order(name, n):6.2f} ms")


if __name__ == "__main__":
    main()
