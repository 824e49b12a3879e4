"""How a market maker prices its quotes: around a fair value, wider when the market is fast.

Pure and clock-free, so the Gherkin steps and the FIX mock share it. Each step the maker sees the
fair value (float, int price units); it keeps an exponentially weighted mean of squared log
returns (``ewma`` over ``halflife`` steps), compares the realised per-step volatility with the
calm one it was configured with, and widens its half spread by that ratio:

    half = min(max_half, ceil(base_half x max(1, realised / calm)))      (ticks)
    bid  = fair - half ticks, rounded down to the tick;  ask = fair + half ticks, rounded up

So a quiet market quotes ``base_half`` ticks either side, a market moving five times faster about
five times wider, and the width comes back as the fast moves leave the average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from system.engine import Instrument

__all__ = ["Quote", "QuotePolicy"]


@dataclass(frozen=True, slots=True)
class Quote:
    bid: int
    ask: int
    half_ticks: int

    @property
    def spread(self) -> int:
        return self.ask - self.bid


class QuotePolicy:
    def __init__(
        self,
        inst: Instrument,
        *,
        base_half_ticks: int,
        calm_step_vol: float,
        max_half_ticks: int = 100,
        halflife: float = 10.0,
    ) -> None:
        if base_half_ticks < 1:
            raise ValueError(f"base_half_ticks {base_half_ticks} must be at least 1")
        self.inst = inst
        self.base = base_half_ticks
        self.calm = max(calm_step_vol, 1e-12)
        self.max_half = max(max_half_ticks, base_half_ticks)
        self.alpha = 1.0 - 0.5 ** (1.0 / halflife)
        self.var = self.calm**2  # start calm
        self.last: float | None = None

    def observe(self, fair: float) -> None:
        """One step's fair value: update the realised volatility."""
        if self.last is not None and self.last > 0 and fair > 0:
            r = math.log(fair / self.last)
            self.var += self.alpha * (r * r - self.var)
        self.last = fair

    @property
    def vol_ratio(self) -> float:
        return math.sqrt(self.var) / self.calm

    def quote(self, fair: float) -> Quote:
        """The two-sided quote around ``fair`` now."""
        tick = self.inst.tick_at(max(1, int(fair)))
        half = min(self.max_half, math.ceil(self.base * max(1.0, self.vol_ratio) - 1e-9))
        bid = math.floor((fair - half * tick) / tick) * tick
        ask = math.ceil((fair + half * tick) / tick) * tick
        bid = max(tick, bid)
        if ask <= bid:
            ask = bid + tick
        return Quote(bid, ask, half)
