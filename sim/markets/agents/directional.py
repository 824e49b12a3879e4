"""Traders with a view: momentum traders follow the recent move, informed traders trade towards
the fair value when the market strays from it (and so keep the price honest)."""

from __future__ import annotations

from collections import deque
from typing import Any

from sim.markets.agents.base import BUY, NS, SELL, Agent
from system.engine import Phase, SubmitOrder, TimeInForce
from system.eventlog import Command


class MomentumTrader(Agent):
    """Looks at the mid every sixth of its lookback; when it moved by at least the threshold over
    the lookback, buys (sells) with a marketable IOC order at a rate that follows the intensity."""

    kind = "momentum"

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.history: deque[int] = deque()

    def _interval(self) -> int:
        return max(1, int(self.flow.momentum_lookback_s / 6 * NS))

    def wait(self, phase: Phase) -> int:
        return self._interval()

    def idle(self, phase: Phase) -> None:
        self.history.clear()

    def decide(self, phase: Phase) -> list[Command]:
        f = self.flow
        bid, ask = self.sim.view.touch(self.iid)
        if bid is None or ask is None:
            return []
        mid = (bid + ask) // 2
        h = self.history
        h.append(mid)
        if len(h) <= 6:
            return []
        then = h.popleft()
        move = mid - then
        tick = self.grid.tick(mid)
        if abs(move) < f.momentum_threshold_ticks * tick:
            return []
        p = f.momentum_rate_per_s * self._interval() / NS * self.spec.activity * self.sim.activity
        p *= self.sim.intensity(self.iid, self.sim.env.now)
        if self.rng.random() >= p:
            return []
        buy = move > 0
        price = self.clamp(self.grid.shift(ask if buy else bid, 1 if buy else -1))
        return [
            SubmitOrder(
                account=self.account, client_order_id=self.next_cid(), instrument=self.iid,
                side=BUY if buy else SELL, qty=self.lots(f.noise_size_lots * 2) * self.lot,
                price=price, tif=TimeInForce.IOC,
            )
        ]  # fmt: skip


class InformedTrader(Agent):
    """Arrives at Poisson times; if the ask is below fair value by the threshold it buys what is
    offered up to a tick under fair (and the mirror for bids)."""

    kind = "informed"

    def wait(self, phase: Phase) -> int:
        rate = self.rate_now(self.flow.informed_rate_per_s, phase)
        if rate <= 0:
            return 60 * NS
        return max(1, int(self.rng.expovariate(rate) * NS))

    def decide(self, phase: Phase) -> list[Command]:
        f = self.flow
        bid, ask = self.sim.view.touch(self.iid)
        fair = self.sim.fair.price(self.iid)
        tick = self.grid.tick(int(fair))
        edge = f.informed_threshold_ticks * tick
        qty = self.lots(f.noise_size_lots * 3) * self.lot
        if ask is not None and fair - ask >= edge:
            price = self.clamp(self.grid.down(fair - tick))
            side = BUY
        elif bid is not None and bid - fair >= edge:
            price = self.clamp(self.grid.up(fair + tick))
            side = SELL
        else:
            return []
        return [
            SubmitOrder(
                account=self.account, client_order_id=self.next_cid(), instrument=self.iid,
                side=side, qty=qty, price=price, tif=TimeInForce.IOC,
            )
        ]  # fmt: skip
