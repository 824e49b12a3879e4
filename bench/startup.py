"""CLI start-up: how long `chronex --help`, `chronex version` and a real command take to start.

    .venv/bin/python bench/startup.py [--rounds 15] [--before DIR]

Each figure is the wall and CPU time of a fresh interpreter running the command to its end, the
median over rounds. With ``--before DIR`` (a checkout of an older commit, e.g. made with
``git archive 5673ee6 | tar -x -C DIR``) the same commands run on that tree too (put first on
PYTHONPATH), interleaved round by round with this tree so load on the machine hits both alike,
and the ratio is printed. The real command is `log verify` of the committed sample day: it
imports the log's code but no engine, pandas or calendar.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "xtks-7203-open.db"
COMMANDS = {
    "chronex --help": ["--help"],
    "chronex version": ["version"],
    "chronex log verify SAMPLE": ["log", "verify", str(SAMPLE)],
}


def run_once(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one `chronex ARGS` in a fresh interpreter on ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", *args],
        env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--before", type=Path, help="an older checkout to compare with")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.rounds = 2
    trees = {"after": ROOT} if args.before is None else {"before": args.before.resolve(), "after": ROOT}
    got: dict[tuple[str, str], list[tuple[float, float]]] = {(t, c): [] for t in trees for c in COMMANDS}
    for tree in trees.values():  # warm the file cache and .pyc files; not measured
        for argv in COMMANDS.values():
            run_once(tree, argv)
    for _ in range(args.rounds):
        for cmd, argv in COMMANDS.items():
            for name, tree in trees.items():
                got[(name, cmd)].append(run_once(tree, argv))
    load = os.getloadavg()[0]
    print(f"CLI start-up, median of {args.rounds} interleaved rounds (wall / CPU, ms); load {load:.1f}")
    for cmd in COMMANDS:
        cells = []
        for name in trees:
            runs = got[(name, cmd)]
            wall = statistics.median(r[0] for r in runs) * 1000
            cpu = statistics.median(r[1] for r in runs) * 1000
            cells.append((name, wall, cpu))
        line = "  ".join(f"{n} {w:6.0f} / {c:5.0f}" for n, w, c in cells)
        if len(cells) == 2:
            line += f"  ratio wall {cells[0][1] / cells[1][1]:.1f}x, CPU {cells[0][2] / cells[1][2]:.1f}x"
        print(f"{cmd:28} {line}")


if __name__ == "__main__":
    main()
