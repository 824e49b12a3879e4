"""FIX order entry through `chronex serve`: NewOrderSingle in, ExecutionReport out, on loopback.

    .venv/bin/python bench/fix.py [--seconds 5] [--rounds 3] [--sessions 10]

The server is `chronex serve` in its own process (SQLite log in /dev/shm when it exists, virtual
clock, group commit). The load generator is a second process driving 10 initiator sessions over
the project's own FIX session layer. Workload: limit orders that rest (buys at 2500, sells at
2510 on XTKS:7203, account per session), so each order is one OrderAccepted and one ER.

Figures, each the median of --rounds interleaved rounds in one run:
- max: each session keeps a window of 64 orders outstanding (closed loop: one order out for each
  ER back); orders/s = ERs received / seconds; and the server's CPU time per order (from /proc),
  which a loaded machine inflates far less than it does wall-clock rates;
- open loop at 10,000 orders/s (and at half the max): bench/fixload.py sends each order at its
  own scheduled instant on plain sockets, whatever came back; latency = ER received - scheduled
  instant (a late send counts: no coordinated omission), and apart from the instant of sending;
  p50 / p99 / max, and the generator's own send lag;
- in-process: the same orders through World.execute (Runtime.execute, SQLite log), orders/s and
  CPU per order, and with runtime.batched() (the server's group commit path);
- the served path without sockets: the same orders as FIX frames through the acceptor, session
  layer, sequencer, router and ExecutionReports into in-memory transports, CPU per order: the
  gateway's own cost beside the engine path's, without the kernel's.

Neither generator spins (they wait for ERs or for the next order's instant): on a 2-core machine
a busy-polling generator took the core the server needed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/sim.py would shadow the sim package for a script run from bench/.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

WINDOW = 64
SESSION_TOML = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "L{i}"
accounts = ["ACC{i}"]
heartbeat_s = 30
sending_time_tolerance_s = 0
validate = true
"""


def _scratch() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="chronex-bench-fix-", dir=shm if shm.is_dir() else None))


# -- the load generator (its own process) ---------------------------------------------------------
def _generator(port: int, sessions: int, seconds: float, out: Any, tag: str = "m") -> None:
    """The closed loop (max): drive ``sessions`` initiators, each keeping WINDOW orders out, one
    sent for each ER back. It never spins (it waits for ERs), so on a 2-core machine it leaves the
    server its core. The open loop is bench/fixload.py's. The cycle collector is off: its pauses
    (the table of orders in flight grows by one tracked tuple an order) would count as the server's
    latency, and a run's garbage is freed by reference counting."""
    import gc

    gc.disable()
    from system.clock import FixedClock
    from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
    from system.gateways.fix.config import parse_sessions
    from system.gateways.fix.mapping import chronex_dictionary

    sent: set[bytes] = set()  # ClOrdIDs in flight
    received = [0]
    rejected = [0]  # ERs with ExecType Rejected: the run did not measure orders
    index: dict[str, int] = {}  # session's TargetCompID... our SenderCompID -> k
    inits: list[Any] = []
    n = [0]
    sending = [True]

    def send(k: int) -> None:
        n[0] += 1
        side, px = ("1", "2500") if n[0] % 2 else ("2", "2510")
        clid = f"{tag}{n[0]}"
        sent.add(clid.encode())
        inits[k].session.send(
            "D",
            [(11, clid), (1, f"ACC{k}"), (55, "XTKS:7203"), (54, side), (60, "20310106-01:00:00"),
             (38, "100"), (40, "2"), (44, px)],
        )  # fmt: skip

    class App:
        def on_logon(self, session: FixSession) -> None:
            pass

        def on_logout(self, session: FixSession) -> None:
            pass

        def from_app(self, msg: FixMessage, session: FixSession) -> None:
            if msg.msg_type != "8":
                return
            received[0] += 1
            if msg.get(150) == b"8":
                rejected[0] += 1
            sent.discard(msg.get(11) or b"")
            if sending[0]:
                send(index[session.settings.sender_comp_id])  # closed loop: one out per one back

    async def main() -> None:
        clock = FixedClock(1_925_434_800 * 10**9)
        for i in range(sessions):
            s = parse_sessions(
                {"session": [{"sender_comp_id": f"L{i}", "target_comp_id": "CHRONEX",
                              "sending_time_tolerance_s": 0, "validate": False}]}
            ).sessions[0]  # fmt: skip
            ini = FixInitiator(s, App(), clock, store_factory("memory:"), host="127.0.0.1", port=port,
                               dictionary=chronex_dictionary())  # fmt: skip
            for attempt in range(50):  # the last round's logout may still be finishing
                try:
                    await ini.connect(reset=True)
                    break
                except (ConnectionError, OSError):
                    if attempt == 49:
                        raise
                    await asyncio.sleep(0.2)
            index[s.sender_comp_id] = i
            inits.append(ini)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for k in range(sessions):
            for _ in range(WINDOW):
                send(k)
        await asyncio.sleep(seconds)
        got = received[0]
        elapsed = time.perf_counter() - t0
        sending[0] = False
        await asyncio.sleep(0.5)
        out.send({"orders": got, "seconds": elapsed, "gen_cpu": time.process_time() - cpu0,
                  "rejected": rejected[0]})  # fmt: skip
        for ini in inits:
            await ini.stop(timeout_s=0.5)

    asyncio.run(main())


def _timed_generator(port: int, sessions: int, seconds: float, rate: int, out: Any, tag: str) -> None:
    """The open-loop generator of bench/fixload.py (loaded by path: bench/ is not on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fixload", Path(__file__).with_name("fixload.py"))
    assert spec is not None and spec.loader is not None
    fixload = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixload)
    out.send(fixload.open_loop(port, sessions, seconds, rate, tag))


_RUNS = itertools.count(1)


def _round(port: int, sessions: int, mode: str, seconds: float, rate: int) -> dict[str, Any]:
    """One generator run. Its ClOrdIDs are its own (``r<run>-<n>``): the server rejects a
    ClOrdID it has seen in the session at the edge, so a run repeating an earlier run's ids
    would measure that cheaper reject path instead of orders (the rounds before 2026-12-08 did:
    every round after the first, and each round's second open loop, repeated ids)."""
    tag = f"r{next(_RUNS)}-"
    ctx = mp.get_context("spawn")
    a, b = ctx.Pipe()
    if mode == "open":
        p = ctx.Process(target=_timed_generator, args=(port, sessions, seconds, rate, b, tag))
    else:
        p = ctx.Process(target=_generator, args=(port, sessions, seconds, b, tag))
    p.start()
    if not a.poll(seconds + 120):
        p.kill()
        raise RuntimeError(f"the {mode} load generator sent no result (exit code {p.exitcode})")
    res: dict[str, Any] = a.recv()
    p.join(30)
    if res["rejected"]:
        raise RuntimeError(f"the {mode} run got {res['rejected']:,} rejected orders: it measured rejects")
    return res


# -- the in-process command path --------------------------------------------------------------------
def _inprocess(n: int, batched: bool, generated: int = 0) -> tuple[float, float]:
    """(orders/s, CPU µs per order) of the same orders through World.execute, in this process
    (``generated`` orders built, the first ``n`` executed)."""
    from sim.world import World
    from steps.instruments import default_instrument
    from system.bootstrap import SystemConfig
    from system.engine import Side, SubmitOrder

    d = _scratch()
    inst = default_instrument("XTKS:7203")
    w = World(SystemConfig(instruments=(inst,)), start_ns=1_925_434_800 * 10**9, log=str(d / "ip.db"),
              sessions=False)  # fmt: skip
    cmds = [
        SubmitOrder(f"ACC{i % 10}", f"c{i}", inst.id, Side.BUY if i % 2 else Side.SELL, 100,
                    price=25000 if i % 2 else 25100)
        for i in range(max(n, generated))
    ][:n]  # fmt: skip
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        if batched:
            with w.runtime.batched(512):
                for c in cmds:
                    w.execute(c)
        else:
            for c in cmds:
                w.execute(c)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        w.close()
        shutil.rmtree(d, ignore_errors=True)
    return n / dt, cpu / n * 1e6


def _served_no_sockets(n: int, sessions: int, generated: int = 0) -> float:
    """CPU µs per order of the served path without sockets or a second process: NewOrderSingle
    frames handed to the acceptor's connections (as `chronex serve` composes it: sessions TOML,
    file message store, SQLite log, the sequencer's group commit, the GC tuned as serve does; no
    snapshots),
    ExecutionReports written to in-memory transports. What the server does per order, minus the
    kernel's and the loop's share. ``generated``: frames built (at least ``n``), so callgrind counts
    at two values of ``n`` differ by the orders served only."""
    import gc

    from chronex.commands.serve import ServedWorld, WorldHost
    from chronex.serving import tune_gc
    from steps.instruments import default_instrument
    from system.bootstrap import SystemConfig
    from system.clock import FixedClock
    from system.gateways.fix.served import build_acceptor
    from system.gateways.fix.testkit import Peer
    from system.server.clockmode import ClockMode
    from system.server.server import Server

    d = _scratch()
    (d / "sessions.toml").write_text("\n".join(SESSION_TOML.format(i=i) for i in range(sessions)), "utf-8")
    t0 = 1_925_434_800 * 10**9
    # No snapshots: the served loop has a forked child encode them (system/server/forksnap.py).
    cfg = SystemConfig(instruments=(default_instrument("XTKS:7203"),), snapshot_every=0)
    world = ServedWorld(cfg, start_ns=t0, log=str(d / "day.db"), sessions=False)
    per = n // sessions

    async def main() -> float:
        server = Server(WorldHost(world), ClockMode(world.clock))
        acc = build_acceptor(
            server, sessions=str(d / "sessions.toml"), port=0, profile=None, wall=FixedClock(0)
        )
        clock = FixedClock(t0)
        peers = []
        for i in range(sessions):
            p = Peer(acc, sender=f"L{i}", target="CHRONEX", clock=clock)
            p.connect()
            p.send("A", [(98, 0), (108, 30), (141, "Y")])
            peers.append(p)

        def order(j: int, k: int) -> list[tuple[int, str | bytes | int]]:
            side, px = ("1", "2500") if j % 2 else ("2", "2510")
            return [(11, f"m{j}-{k}"), (1, f"ACC{k}"), (55, "XTKS:7203"), (54, side),
                    (60, "20310106-01:00:00"), (38, "100"), (40, "2"), (44, px)]  # fmt: skip

        built = max(n, generated) // sessions
        frames = [[p.build("D", order(j, k)) for k, p in enumerate(peers)] for j in range(built)]
        tune_gc()
        seq = server.sequencer
        c0 = time.process_time()
        for j in range(0, per, WINDOW):
            for k, p in enumerate(peers):
                assert p.conn is not None
                p.conn.data_received(b"".join(frames[x][k] for x in range(j, min(j + WINDOW, per))))
            while seq.step():
                pass
            await asyncio.sleep(0)  # the connections' batched writes
        cpu = time.process_time() - c0
        assert seq.executed == per * sessions
        return cpu / (per * sessions) * 1e6

    try:
        return asyncio.run(main())
    finally:
        world.close()
        shutil.rmtree(d, ignore_errors=True)
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open_figures(fig: dict[str, list[float]], key: str, res: dict[str, Any], seconds: float) -> None:
    lat, lat_sent = sorted(res["lat"]), sorted(res["lat_sent"])
    fig[key + "achieved"].append(len(lat) / seconds)
    fig[key + "lag"].append(res["tick_lag_p99"] / 1e3)
    if lat:
        fig[key + "p50"].append(lat[len(lat) // 2] / 1e3)
        fig[key + "p99"].append(lat[int(len(lat) * 0.99)] / 1e3)
        fig[key + "pmax"].append(lat[-1] / 1e3)
        fig[key + "p50_sent"].append(lat_sent[len(lat_sent) // 2] / 1e3)
        fig[key + "p99_sent"].append(lat_sent[int(len(lat_sent) * 0.99)] / 1e3)


# -- instructions per order (callgrind: independent of the machine's load) ------------------------
CG_GENERATED = 4_000  # orders built in every counted run: two counts differ by the orders served


def _instructions(path: str, n: int) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         str(Path(__file__).resolve()), "--cg-child", path, "--cg-n", str(n)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"callgrind printed no count for {path}:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def _instructions_report(n1: int, n2: int) -> None:
    if shutil.which("valgrind") is None:  # make bench runs every script: say so, do not fail
        print("skipped: valgrind is not installed (apt-get install valgrind)")
        return
    print(f"instructions per order between orders {n1:,} and {n2:,} (callgrind; 10 sessions, SQLite log):")
    per: dict[str, float] = {}
    for path, label in (("nosock", "served path without sockets"), ("batched", "in-process batched(512)")):
        a, b = _instructions(path, n1), _instructions(path, n2)
        per[path] = (b - a) / (n2 - n1)
        print(f"  {label:<30} {per[path]:>12,.0f}", flush=True)
    print(f"  served / in-process batched:   {per['nosock'] / per['batched']:>12.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--serve-arg", action="append", default=[], help="an extra chronex serve argument")
    ap.add_argument(
        "--instructions", action="store_true",
        help="count instructions per order with callgrind instead (served path without sockets and "
        "in-process batched; several minutes)",
    )  # fmt: skip
    ap.add_argument("--cg-child", help=argparse.SUPPRESS)
    ap.add_argument("--cg-n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 1 s")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.seconds = 1.0
        args.rounds = 1
    if args.cg_child:
        if args.cg_child == "nosock":
            _served_no_sockets(args.cg_n, 10, CG_GENERATED)
        else:
            _inprocess(args.cg_n, True, CG_GENERATED)
        return
    if args.instructions:
        _instructions_report(1_000, 3_000)
        return

    from system.server.process import ServeProcess

    d = _scratch()
    toml = "\n".join(SESSION_TOML.format(i=i) for i in range(args.sessions))
    (d / "sessions.toml").write_text(toml, encoding="utf-8")
    srv = ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(d / "day.db"),
         "--fix-port", "0", "--sessions", str(d / "sessions.toml"), "--start", "2031-01-06T10:00+09:00",
         *args.serve_arg]
    )  # fmt: skip
    port = srv.fix_port
    pid = srv.proc.pid
    opens = ("", "h_")  # open loop at --rate, and at half the max measured in the same round
    keys = ("achieved", "p50", "p99", "pmax", "p50_sent", "p99_sent", "lag")
    fig: dict[str, list[float]] = {k: [] for k in (
        "max", "srv_cpu", "gen_cpu", "half", "ip", "ip_cpu", "ipb", "ipb_cpu", "nosock",
        *(o + k for o in opens for k in keys))}  # fmt: skip
    try:
        for r in range(args.rounds):
            c0 = _cpu_s(pid)
            res = _round(port, args.sessions, "max", args.seconds, 0)
            served_cpu = _cpu_s(pid) - c0
            fig["max"].append(res["orders"] / res["seconds"])
            # Server CPU over the whole round (logons and the drain included) per ER counted.
            fig["srv_cpu"].append(served_cpu / max(res["orders"], 1) * 1e6)
            fig["gen_cpu"].append(res["gen_cpu"] / max(res["orders"], 1) * 1e6)
            half = max(100, round(fig["max"][-1] / 2, -2))
            fig["half"].append(half)
            for key, rate in (("", args.rate), ("h_", int(half))):
                _open_figures(fig, key, _round(port, args.sessions, "open", args.seconds, rate), args.seconds)
            for key, batched in (("ip", False), ("ipb", True)):
                rate, cpu = _inprocess(20_000, batched)
                fig[key].append(rate)
                fig[key + "_cpu"].append(cpu)
            fig["nosock"].append(_served_no_sockets(20_000, args.sessions))
            last = {k: (v[-1] if v else 0.0) for k, v in fig.items()}
            print(
                f"round {r + 1}: max {last['max']:,.0f} orders/s "
                f"(server {last['srv_cpu']:.0f} µs CPU/order); "
                f"open loop {args.rate:,}/s -> {last['achieved']:,.0f} ERs/s, p99 {last['p99']:,.0f} µs; "
                f"{last['half']:,.0f}/s -> p99 {last['h_p99']:,.0f} µs; "
                f"in-process {last['ip']:,.0f}/s, batched {last['ipb']:,.0f}/s",
                flush=True,
            )
    finally:
        srv.terminate()
        shutil.rmtree(d, ignore_errors=True)  # /dev/shm is memory: every run left ~60 MB there

    def med(key: str) -> float:
        return statistics.median(fig[key]) if fig[key] else float("nan")

    load = os.getloadavg()[0]
    print()
    print(f"FIX, {args.sessions} sessions, loopback, server and generator in separate processes")
    print(f"(medians of {args.rounds} rounds, {os.cpu_count()} cores, load average {load:.1f} at the end):")
    print(f"  max throughput (window {WINDOW}/session):   {med('max'):>10,.0f} orders/s")
    print(f"    server CPU per order:                   {med('srv_cpu'):>10,.1f} µs "
          f"(generator {med('gen_cpu'):,.1f} µs)")  # fmt: skip
    for key, rate in (("", float(args.rate)), ("h_", med("half"))):
        what = "" if key == "" else " (half the max)"
        print(f"  open loop {rate:,.0f}/s{what}, each order at its instant: "
              f"achieved {med(key + 'achieved'):,.0f} ERs/s")  # fmt: skip
        print(f"    latency from the scheduled instant:     p50 {med(key + 'p50'):,.0f} µs, "
              f"p99 {med(key + 'p99'):,.0f} µs, max {med(key + 'pmax'):,.0f} µs")  # fmt: skip
        print(f"    latency from the send:                  p50 {med(key + 'p50_sent'):,.0f} µs, "
              f"p99 {med(key + 'p99_sent'):,.0f} µs "
              f"(generator's send lag p99 {med(key + 'lag'):,.0f} µs)")  # fmt: skip
    print(f"  in-process World.execute (SQLite log):    {med('ip'):>10,.0f} orders/s, "
          f"{med('ip_cpu'):,.1f} µs CPU/order")  # fmt: skip
    print(f"  in-process, runtime.batched(512):         {med('ipb'):>10,.0f} orders/s, "
          f"{med('ipb_cpu'):,.1f} µs CPU/order")  # fmt: skip
    print(f"  served path without sockets (same process):           {med('nosock'):,.1f} µs CPU/order")
    print(
        f"  FIX max / in-process batched: {med('max') / med('ipb'):.2f} (orders/s); "
        f"{med('ipb_cpu') / med('srv_cpu'):.2f} (CPU per order, the load-robust ratio)"
    )


if __name__ == "__main__":
    main()
