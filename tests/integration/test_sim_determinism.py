"""A simulated day is a function of its seed: same seed, same log, in any process; another seed,
another log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sim.markets import simulated_day
from system.clock import from_datetime

DAY = date(2027, 1, 4)


def head_hash(seed: int, log: str = "memory://") -> bytes:
    start = from_datetime(datetime.combine(DAY, time(8, 58), tzinfo=ZoneInfo("Asia/Tokyo")))
    day = simulated_day(
        "XTKS", DAY, instruments=["7203", "9432"], seed=seed, log=log,
        start_ns=start, until_ns=start + 8 * 60 * 10**9,
    )  # fmt: skip
    day.run()
    day.world.runtime.flush()
    h = day.world.store.head()
    day.close()
    assert h.seq > 1000
    return h.hash


def head_hash_in_process(seed: int, hash_seed: str, log: str = "memory://") -> bytes:
    """``head_hash`` computed by a fresh interpreter with ``PYTHONHASHSEED=hash_seed``: string
    hashing, hence set and dict-of-set order, differs between such processes."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from test_sim_determinism import head_hash; "
        "print(head_hash(int(sys.argv[2]), sys.argv[3]).hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(seed), log],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return bytes.fromhex(done.stdout.strip())


def test_same_seed_same_head_hash_across_processes(tmp_path: Path) -> None:
    """One seed gives one head hash in separate processes with different hash seeds, on memory
    and SQLite alike, and the same as in this process."""
    a = head_hash_in_process(3, "1")
    assert a == head_hash_in_process(3, "2", str(tmp_path / "day.db"))
    assert a == head_hash(3)


def test_different_seed_different_head_hash() -> None:
    """Another seed gives another day."""
    assert head_hash(3) != head_hash(4)


def test_same_day_same_head_hash_on_sqlite_and_postgresql(
    tmp_path: object, pg_log_url: Callable[[], str]
) -> None:
    """The same simulated day written to SQLite and to PostgreSQL ends on the same head hash, and
    the PostgreSQL log verifies entry by entry against the SQLite one."""
    from pathlib import Path

    from system.clock import FixedClock
    from system.eventlog import open_log, verify

    assert isinstance(tmp_path, Path)
    sqlite_path = str(tmp_path / "day.db")
    pg = pg_log_url()
    assert head_hash(5, sqlite_path) == head_hash(5, pg)
    with (
        open_log(sqlite_path, FixedClock(0), create=False) as a,
        open_log(pg, FixedClock(0), create=False) as b,
    ):
        assert verify(b).ok
        rows = [(r.seq, r.body, r.hash) for r in a.read_raw()]
        assert rows == [(r.seq, r.body, r.hash) for r in b.read_raw()]
