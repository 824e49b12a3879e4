"""A seeded order flow over a simulated venue day: the workload of the replayer's tests and bench.

It drives a ``World`` (the real system on a virtual clock with venue sessions) through the same
command path a user does: limit orders near a random-walking mid, cancels of earlier orders and
crossing orders, at random instants of the continuous sessions. Everything comes from the seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sim.world import World
from system.bootstrap import SystemConfig
from system.clock import from_datetime
from system.engine import CancelOrder, Instrument, Phase, Side, SubmitOrder
from system.eventlog.records import Command

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(d: date, hh: int, mm: int = 0, ss: int = 0) -> int:
    """Nanoseconds of ``hh:mm:ss`` Tokyo time on ``d``."""
    return from_datetime(datetime.combine(d, time(hh, mm, ss), tzinfo=TOKYO))


def tse_instrument(symbol: str, reference: int) -> Instrument:
    return Instrument(
        id=f"XTKS:{symbol}",
        venue="XTKS",
        symbol=symbol,
        base_currency=symbol,
        quote_currency="JPY",
        lot_size=100,
        min_qty=100,
        reference_price=reference,
    )


def day_config(seed: int = 7, symbols: tuple[str, ...] = ("7203", "6758"), **kw: object) -> SystemConfig:
    """A TSE day: the given symbols, venue sessions from the XTKS calendar, closed until they open."""
    insts = tuple(tse_instrument(s, 2500 + 500 * i) for i, s in enumerate(symbols))
    return SystemConfig(
        seed=seed,
        instruments=insts,
        venues=("XTKS",),
        default_phase=Phase.CLOSED,
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class Flow:
    """A seeded stream of order commands with their instants (ns), in time order."""

    seed: int
    instruments: tuple[Instrument, ...]
    windows: list[tuple[int, int]]  # [start, end) stretches to place commands in
    accounts: tuple[str, ...] = ("ACC-1", "ACC-2", "ACC-3", "ACC-4")
    mean_gap_ns: int = 50_000_000
    _open: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def commands(self, limit: int | None = None) -> Iterator[tuple[int, Command]]:
        rng = random.Random(self.seed)
        mids = {i.id: i.reference_price or 1000 for i in self.instruments}
        n = 0
        for start, end in self.windows:
            t = start
            while True:
                t += 1 + int(rng.expovariate(1.0) * self.mean_gap_ns)
                if t >= end or (limit is not None and n >= limit):
                    break
                inst = self.instruments[rng.randrange(len(self.instruments))]
                n += 1
                yield t, self._one(rng, inst, mids, n)

    def _one(self, rng: random.Random, inst: Instrument, mids: dict[str, int], n: int) -> Command:
        mid = mids[inst.id]
        if rng.random() < 0.02:  # the mid walks one tick
            mid = max(10, mid + rng.choice((-1, 1)))
            mids[inst.id] = mid
        resting = self._open.setdefault(inst.id, [])
        r = rng.random()
        if r < 0.45 and resting:
            # Cancel an earlier order, older ones likelier (it may have traded already: the
            # engine then rejects the cancel, as a venue does).
            k = min(rng.randrange(len(resting)), rng.randrange(len(resting)))
            account, cid = resting.pop(k)
            return CancelOrder(account=account, instrument=inst.id, client_order_id=cid)
        side = rng.choice((Side.BUY, Side.SELL))
        account = self.accounts[rng.randrange(len(self.accounts))]
        qty = 100 * rng.randint(1, 10)
        cid = f"o{n}"
        if r < 0.56:  # crossing: priced through the mid
            price = mid + 3 if side is Side.BUY else mid - 3
        else:
            off = rng.randint(1, 8)
            price = mid - off if side is Side.BUY else mid + off
            resting.append((account, cid))
        return SubmitOrder(
            account=account, client_order_id=cid, instrument=inst.id, side=side, qty=qty, price=price
        )


def continuous_windows(d: date) -> list[tuple[int, int]]:
    """The two continuous sessions of a TSE day (09:00-11:30, 12:30-15:25 on and after 2024-11-05)."""
    return [(tokyo(d, 9), tokyo(d, 11, 30)), (tokyo(d, 12, 30), tokyo(d, 15, 25))]


def run_day(
    world: World,
    flow: Flow,
    *,
    end_ns: int,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    batch: int = 0,
) -> int:
    """Execute the flow on ``world`` (each command at its instant), then run the clock to ``end_ns``.

    Returns the number of commands executed. ``batch`` > 0 groups appends (fast simulated days).
    """
    n = 0

    def go() -> None:
        nonlocal n
        for t, cmd in flow.commands(limit):
            world.run_until(t)
            world.execute(cmd)
            n += 1
            if on_progress is not None and n % 10_000 == 0:
                on_progress(n)
        world.run_until(end_ns)

    if batch:
        with world.runtime.batched(batch):
            go()
    else:
        go()
    return n
