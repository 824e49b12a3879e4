"""freezegun vs time-machine: the cost of entering a patched-time block, of moving time inside
it, and what each one covers. The numbers behind docs/time-travel.md.

    .venv/bin/python bench/timepatch.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime

import freezegun
import pandas as pd
import time_machine

DEST = datetime(2031, 12, 31, 9, 0, tzinfo=UTC)


def per_call(fn: object, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - t0) / n


def enter_tm() -> None:
    with time_machine.travel(DEST, tick=False):
        pass


def enter_fg() -> None:
    with freezegun.freeze_time(DEST, tick=False):
        pass


def coverage(kind: str) -> dict[str, bool]:
    cm = time_machine.travel(DEST, tick=False) if kind == "time-machine" else freezegun.freeze_time(DEST)
    with cm:
        return {
            "datetime.now": datetime.now(UTC).year == 2031,
            "date.today": date.today().year == 2031,
            "time.time": time.gmtime(time.time()).tm_year == 2031,
            "pandas Timestamp.now": pd.Timestamp.now(tz="UTC").year == 2031,
        }


ASYNC_PROBE = """
import asyncio, sys
from datetime import datetime, UTC
kind, real = sys.argv[1], sys.argv[2] == "1"
if kind == "time-machine":
    import time_machine; cm = time_machine.travel(datetime(2031, 12, 31, tzinfo=UTC), tick=False)
else:
    import freezegun; cm = freezegun.freeze_time("2031-12-31", real_asyncio=real)
with cm:
    asyncio.run(asyncio.sleep(0.05))
print("ok")
"""


def asyncio_sleep(kind: str, real_asyncio: bool = False) -> str:
    try:
        p = subprocess.run([sys.executable, "-c", ASYNC_PROBE, kind, "1" if real_asyncio else "0"],
                           capture_output=True, text=True, timeout=5, check=False)
    except subprocess.TimeoutExpired:
        return "hangs (killed after 5 s)"
    return "returns" if p.stdout.strip() == "ok" else f"fails: {p.stderr.strip().splitlines()[-1:]}"


def main() -> None:
    enter_fg()  # warm imports and freezegun's module scan cache before timing
    tm = per_call(enter_tm, 2000)
    fg = per_call(enter_fg, 50)
    print(f"enter+exit a block: time-machine {tm * 1e3:.3f} ms, freezegun {fg * 1e3:.2f} ms "
          f"({fg / tm:,.0f}x)")

    with time_machine.travel(DEST, tick=False) as tr:
        tm_move = per_call(lambda: tr.move_to(DEST), 20000)
    with freezegun.freeze_time(DEST) as fz:
        fg_move = per_call(lambda: fz.move_to(DEST), 2000)
    print(f"move_to inside a block: time-machine {tm_move * 1e6:.1f} us, freezegun {fg_move * 1e6:.2f} us")

    for kind in ("time-machine", "freezegun"):
        cov = coverage(kind)
        print(f"{kind:13} covers: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in cov.items()))
    print(f"asyncio.sleep(0.05): time-machine {asyncio_sleep('time-machine')}; "
          f"freezegun {asyncio_sleep('freezegun')}; "
          f"freezegun real_asyncio=True {asyncio_sleep('freezegun', True)}")


if __name__ == "__main__":
    main()
