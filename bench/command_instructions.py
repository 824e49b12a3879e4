"""Instructions per command on the command path, counted by callgrind (independent of machine load).

    .venv/bin/python bench/command_instructions.py                  # engine, memory, sqlite, sqlite-batch
    .venv/bin/python bench/command_instructions.py --only memory+pre --only memory+full   # with risk
    .venv/bin/python bench/command_instructions.py --only memory --tree /tmp/base   # another checkout

Runs workload A (bench/matching.py) under ``valgrind --tool=callgrind`` twice, to command N1 and
to command N2, and prints (instructions(N2) - instructions(N1)) / (N2 - N1): start-up, imports and
the workload's generation cancel out. Judge a lever by this figure when the machine is shared.

Caveat: valgrind's CPU has no SHA extensions, so OpenSSL's SHA-256 runs its generic code there
(~9,000 instructions per entry); on a CPU with SHA-NI the real hash is several times cheaper. The
hash is fixed by the log format, so it cancels out of before/after comparisons.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PATHS = ("engine", "memory", "sqlite", "sqlite-batch", "memory+pre", "memory+full")
DEFAULT_PATHS = PATHS[:4]  # the risk paths run when asked for with --only
GENERATED = 20_000  # commands generated in every run; --n2 may not exceed it
HERE = Path(__file__).resolve().parent


def run(path: str, n: int) -> None:
    """The measured program: ``n`` commands of workload A on ``path`` (nothing else after them)."""
    import matching

    # Always the same generation (it runs inside the count), cut to the first n commands.
    cmds = matching.generate(GENERATED, 1, matching.SEED)[0][:n]
    if path == "engine":
        _eng, ctx, execute = matching.new_engine([matching.instrument(0)])
        for c in cmds:
            ctx.now += 100_000
            execute(c)
        return
    from system.bootstrap import SystemConfig, TradingSystem
    from system.eventlog import open_log

    class Clock:
        t = 1_800_000_000 * 10**9

        def now_ns(self) -> int:
            return self.t

    risk = None
    if "+" in path:  # bench/risk.py's limits: pre-trade (a) or full risk (b)
        import risk as risk_bench

        from system.risk import parse_risk

        risk = parse_risk(risk_bench.PRE_TRADE if path.endswith("pre") else risk_bench.RISK)
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="chronex-cg-") as tmp:
        url = "memory://" if path.startswith("memory") else os.path.join(tmp, "log.db")
        store = open_log(url, clock)
        config = SystemConfig(seed=1, instruments=(matching.instrument(0),), risk=risk)
        system = TradingSystem(config, store, clock)
        system.start()
        ex = system.execute
        if path == "sqlite-batch":
            with system.runtime.batched(2000):
                for c in cmds:
                    clock.t += 100_000
                    ex(c)
        else:
            for c in cmds:
                clock.t += 100_000
                ex(c)
        store.close()


def warm(tree: Path, path: str) -> None:
    """Run ``path`` once outside valgrind: the first run after an edit compiles the changed modules
    and writes their .pyc files, and that parse and compile (~100 million instructions) must not
    land in the first count only, or it is subtracted from the per-command figure."""
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", path, "--n", "50", "--tree", str(tree)],
        capture_output=True, check=True,
    )  # fmt: skip


def count(tree: Path, path: str, n: int) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         str(Path(__file__).resolve()), "--child", path, "--n", str(n), "--tree", str(tree)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"callgrind printed no count for {path}:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=PATHS, action="append", help="run only these paths")
    ap.add_argument("--tree", default=str(HERE.parent), help="the checkout to measure (default: this one)")
    ap.add_argument("--n1", type=int, default=2000)
    ap.add_argument("--n2", type=int, default=6000)
    ap.add_argument("--quick", action="store_true", help="memory only, commands 1,000 to 3,000")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        # The measured tree's code (and its bench/matching.py) first, whichever tree this file is in.
        sys.path[:0] = [str(Path(args.tree) / "bench"), args.tree]
        run(args.child, args.n)
        return
    if shutil.which("valgrind") is None:  # make bench runs every script: say so, do not fail
        print("skipped: valgrind is not installed (apt-get install valgrind)")
        return
    if args.quick:
        args.only, args.n1, args.n2 = args.only or ["memory"], 1000, 3000
    if not 0 <= args.n1 < args.n2 <= GENERATED:
        raise SystemExit(f"need 0 <= --n1 < --n2 <= {GENERATED:,}")
    tree = Path(args.tree).resolve()
    print(f"{tree}: workload A, instructions per command between commands {args.n1:,} and {args.n2:,}")
    for path in args.only or DEFAULT_PATHS:
        warm(tree, path)
        a, b = count(tree, path, args.n1), count(tree, path, args.n2)
        print(f"  {path:<13} {(b - a) / (args.n2 - args.n1):>10,.0f}", flush=True)


if __name__ == "__main__":
    main()
