"""The replayer on a PostgreSQL log: its index (snapshots in the log's snapshot table) and as-of
answers equal those on the SQLite log of the same simulated day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sim.markets import simulated_day
from sim.replay import as_of, ensure_index
from sim.replay.cache import cache_for
from system.clock import FixedClock, from_datetime
from system.eventlog import open_log

DAY = date(2027, 1, 4)
TOKYO = ZoneInfo("Asia/Tokyo")


def at(h: int, m: int) -> int:
    return from_datetime(datetime.combine(DAY, time(h, m), tzinfo=TOKYO))


def write_day(log: str) -> None:
    day = simulated_day(
        "XTKS", DAY, instruments=["7203", "9432"], seed=11, log=log,
        start_ns=at(8, 58), until_ns=at(9, 6),
    )  # fmt: skip
    day.run()
    day.world.runtime.flush()
    day.close()


def test_index_and_as_of_on_postgresql_equal_sqlite(tmp_path: Path, pg_log_url: Callable[[], str]) -> None:
    """ensure_index keeps a PostgreSQL log's index in the replay cache (never in the log), a second
    call reuses it, and as-of answers (from snapshots or from the start) equal the SQLite log's."""
    pg, lite = pg_log_url(), str(tmp_path / "day.db")
    write_day(pg)
    write_day(lite)
    cache = tmp_path / "cache"
    with open_log(pg, FixedClock(0), readonly=True) as p, open_log(lite, FixedClock(0), readonly=True) as s:
        head = p.head()
        ensure_index(p, every=500, cache=cache)
        ensure_index(s, every=500, cache=cache)
        assert not p.list_snapshots("replay/index")  # reading wrote nothing into the log
        assert p.head() == head
        held = cache_for(p, cache).list_snapshots("replay/index")
        assert held and held == cache_for(s, cache).list_snapshots("replay/index")
        again = ensure_index(p, cache=cache)  # read back from the cache, not rebuilt
        assert again == ensure_index(s, cache=cache)
        for t in (at(9, 0), at(9, 2), at(9, 5)):
            fast = as_of(p, t, cache=cache)
            full = as_of(p, t, use_snapshots=False, cache=cache)
            assert fast.digests() == full.digests() == as_of(s, t, cache=cache).digests()
            assert fast.basis.seq == as_of(s, t, cache=cache).basis.seq
