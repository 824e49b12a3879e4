"""Market makers quoting into a served venue over FIX: several compete at their own widths around
one fair value, move their quotes as virtual time passes, widen in a fast market, pull their
quotes on a halt and quote again when trading resumes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mocks.base import MockContext
from mocks.faults import parse_schedule
from mocks.makers import DEFAULT_PROFILE, MakersMock
from mocks.profile import read_toml
from mocks.testkit import ServedVenue, until
from sim.markets import load_profile
from system.engine import ChangePhase, Phase

T0 = 1_925_424_000 * 10**9
INST = "XTKS:7203"
SESSIONS = Path(__file__).resolve().parents[2] / "mocks" / "serve-sessions.toml"
S = 10**9


def run(test: Callable[[ServedVenue, MakersMock], Awaitable[None]], faults: Any = None) -> None:
    async def main() -> None:
        venue = ServedVenue(load_profile("XTKS").select(["7203"]).instruments, SESSIONS, start_ns=T0)
        await venue.start()
        sched = parse_schedule(faults, venue.clock) if faults else None
        ctx = MockContext(
            profile=read_toml(DEFAULT_PROFILE, "p"), clock=venue.clock, seed=3, faults=sched,
            targets={"serve": venue.fix, "admin": venue.admin_address},
        )  # fmt: skip
        mm = MakersMock(ctx)
        await mm.start()
        try:
            await asyncio.wait_for(mm.connected.wait(), 30)
            await test(venue, mm)
        finally:
            await mm.stop()
            await venue.stop()

    asyncio.run(main())


def resting(venue: ServedVenue) -> dict[str, list[tuple[str, int]]]:
    """Each maker account's resting orders on the book: (side, price)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for o in venue.server.sequencer.open_orders(None, INST):
        out.setdefault(o.account, []).append((o.side.value, o.price or 0))
    return out


async def advance(venue: ServedVenue, ns: int) -> None:
    await venue.server.clock("advance", ns)


def test_three_makers_rest_a_bid_and_an_ask_each_the_narrowest_at_the_touch() -> None:
    """After the first quote step every maker has one bid below one ask, and the touch belongs to
    the maker configured narrowest (MM1, 2 ticks a side)."""

    async def t(venue: ServedVenue, mm: MakersMock) -> None:
        await advance(venue, 1 * S)
        await until(lambda: all(len(v) == 2 for v in resting(venue).values()) and len(resting(venue)) == 3)
        book = venue.server.sequencer.book(INST)
        assert book.bids[0].price < book.asks[0].price
        assert {o.account for o in book.bids[0].orders} == {"MM1"}
        assert {o.account for o in book.asks[0].orders} == {"MM1"}
        widths = {m.conf.account: m.last[INST].spread for m in mm.makers}
        assert widths["MM1"] < widths["MM2"] < widths["MM3"]

    run(t)


def test_quotes_follow_the_fair_value_as_virtual_time_passes() -> None:
    """Advancing the shared clock steps the fair value and the makers replace their quotes
    (ExecutionReports 150=5), keeping one bid and one ask each."""

    async def t(venue: ServedVenue, mm: MakersMock) -> None:
        await advance(venue, 1 * S)
        await until(lambda: mm.quotes_acked >= 6)
        first = mm.quotes_acked
        for _ in range(5):
            await advance(venue, 60 * S)
            await asyncio.sleep(0.05)
        await until(lambda: mm.quotes_acked > first)
        await until(lambda: all(not s.pending for m in mm.makers for s in m.sides.values()))
        assert all(len(v) == 2 for v in resting(venue).values())

    run(t)


def test_makers_widen_in_a_fast_market_and_narrow_after_it() -> None:
    """A fast_market window (volatility x8) widens every maker's spread; well after it ends the
    spreads come back towards their calm widths."""
    faults = {
        "fault": [{"kind": "fast_market", "vol_multiplier": 8.0, "from": T0 + 30 * S, "until": T0 + 60 * S}]
    }

    async def t(venue: ServedVenue, mm: MakersMock) -> None:
        await advance(venue, 29 * S)
        await until(lambda: mm.steps >= 58)
        calm = {m.conf.account: m.last[INST].half_ticks for m in mm.makers}
        await advance(venue, 30 * S)
        await until(lambda: mm.steps >= 118)
        fast = {m.conf.account: m.last[INST].half_ticks for m in mm.makers}
        assert all(fast[a] > calm[a] for a in calm), (calm, fast)
        await advance(venue, 120 * S)
        await until(lambda: mm.steps >= 358)
        after = {m.conf.account: m.last[INST].half_ticks for m in mm.makers}
        assert all(after[a] < fast[a] for a in calm), (fast, after)

    run(t, faults)


def test_makers_pull_their_quotes_on_a_halt_and_quote_again_after_it() -> None:
    """When the venue halts the instrument every maker quote is cancelled; back in continuous
    trading they quote again."""

    async def t(venue: ServedVenue, mm: MakersMock) -> None:
        await advance(venue, 1 * S)
        await until(lambda: len(resting(venue)) == 3)
        await venue.server.sequencer.call("test", None, ChangePhase(venue="XTKS", phase=Phase.HALTED))
        await until(lambda: not resting(venue))
        await venue.server.sequencer.call("test", None, ChangePhase(venue="XTKS", phase=Phase.CONTINUOUS))
        await until(lambda: len(resting(venue)) == 3)

    run(t)
