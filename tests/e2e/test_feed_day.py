"""A morning of all twelve TSE instruments served by `chronex serve`: subscribers over SoupBinTCP
and over MoldUDP64 (2% of packets lost) rebuild every book from the feed alone, and each equals
the server's at the end; stopping the server brings End of Session on both. (bench/feed_day.py
runs the same on a whole day.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from chronex.cli import main
from sim.markets import load_profile
from system.gateways.itch.served import run_served_day

ROOT = Path(__file__).resolve().parents[2]


def test_a_served_morning_is_rebuilt_from_the_feed_alone(tmp_path: Path) -> None:
    """Every book of every subscriber (and of a GLIMPSE snapshot) equals the server's, order by
    order, after a morning of twelve instruments; both transports end with End of Session."""
    log = tmp_path / "day.db"
    rc = main(["sim", "--venue", "XTKS", "--date", "2027-01-04", "--seed", "3", "--until", "09:03",
               "--log", str(log), "--quiet", "--json"])  # fmt: skip
    assert rc == 0
    specs = load_profile("XTKS").specs
    assert len(specs) == 12
    day = asyncio.run(run_served_day(log, [s.instrument for s in specs], loss=0.02, seed=4, cwd=ROOT))
    assert day.problems == []
    assert day.messages > 20_000 and day.orders > 100
    assert day.mold_dropped > 0 and day.mold_requests > 0
    assert day.ended == (True, True)
