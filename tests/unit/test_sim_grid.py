"""Agents' prices always land on the instrument's tick grid, whatever the band."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from sim.markets.grid import Grid
from sim.markets.seeds import derive_seed, stream
from system.engine import Instrument, tse_tick_table

TSE = Instrument(
    id="XTKS:1", venue="XTKS", symbol="1", base_currency="1", quote_currency="JPY",
    price_increment="0.1", tick_table=tse_tick_table("0.1", topix100=True), lot_size=100,
)  # fmt: skip
GRID = Grid(TSE)


def on_tick(p: int) -> bool:
    return p > 0 and p % TSE.tick_at(p) == 0


@given(st.floats(min_value=0.5, max_value=2e8, allow_nan=False))
def test_down_and_up_bracket_on_tick(x: float) -> None:
    """down(x) <= x <= up(x), and both are valid prices for the engine."""
    lo, hi = GRID.down(x), GRID.up(x)
    assert on_tick(lo) and on_tick(hi)
    assert lo <= max(x, lo) and hi >= x
    assert GRID.nearest(x) in (lo, hi)


@given(st.integers(min_value=1, max_value=10**8), st.integers(min_value=-20, max_value=20))
def test_shift_moves_whole_ticks(p: int, n: int) -> None:
    """Shifting a valid price by n ticks gives a valid price on the right side."""
    p = GRID.down(p)
    q = GRID.shift(p, n)
    assert on_tick(q)
    assert (q > p) if n > 0 else (q <= p)


_STREAMS_SCRIPT = """
import json
from sim.markets.seeds import derive_seed, stream
names = ["mm1/XTKS:7203", "noise/XTKS:9432", "inf/CME:ESH7", "fair-value", "a", "b"]
print(json.dumps({f"{s}/{n}": [derive_seed(s, n), stream(s, n).random()] for s in (1, 2) for n in names}))
"""


def _streams_in_process(hash_seed: str) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _STREAMS_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_streams_depend_only_on_seed_and_name() -> None:
    """An agent's random stream is fixed by the run seed and its name: the same in processes with
    different string-hash seeds (PYTHONHASHSEED), different for another seed or name."""
    a, b = _streams_in_process("1"), _streams_in_process("2")
    assert a == b
    assert a["1/mm1/XTKS:7203"] == [derive_seed(1, "mm1/XTKS:7203"), stream(1, "mm1/XTKS:7203").random()]
    assert a["1/mm1/XTKS:7203"] != a["2/mm1/XTKS:7203"]
    assert a["1/a"] != a["1/b"]


@st.composite
def tick_tables(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    starts = sorted(draw(st.sets(st.integers(min_value=1, max_value=10**6), max_size=8)))
    ticks = draw(
        st.lists(st.integers(min_value=1, max_value=500), min_size=len(starts) + 1, max_size=len(starts) + 1)
    )
    return tuple(zip([0, *starts], ticks, strict=True))


@given(tick_tables(), st.lists(st.integers(min_value=-10, max_value=2 * 10**6), min_size=1, max_size=40))
def test_tick_answers_as_the_instrument_in_any_order_of_asks(
    table: tuple[tuple[int, int], ...], prices: list[int]
) -> None:
    """The grid's tick (with its remembered band) is the instrument's tick at every price asked."""
    inst = Instrument(
        id="T:1", venue="T", symbol="1", base_currency="1", quote_currency="JPY", tick_table=table
    )
    grid = Grid(inst)
    for p in prices:
        assert grid.tick(p) == inst.tick_at(max(p, 1))
