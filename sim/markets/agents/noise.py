"""Noise traders: Poisson arrivals whose rate follows the U-shaped intraday intensity.

An arrival is a cancel of one of the trader's resting orders, an aggressive order (a marketable
IOC limit at the touch, sometimes a tick or two through it), or a passive limit order some ticks
behind the fair value. In pre-open and call phases passive orders straddle the fair value, so
buyers and sellers overlap and the auction finds volume. Passive and aggressive flow use two
accounts, so the trader never trades with itself.
"""

from __future__ import annotations

from random import Random
from typing import TYPE_CHECKING

from sim.markets.agents.base import BUY, CALL_PHASES, CONTINUOUS, NS, SELL, Agent
from system.engine import CancelOrder, Phase, SubmitOrder, TimeInForce
from system.eventlog import Command

if TYPE_CHECKING:
    from sim.markets.profile import InstrumentProfile
    from sim.markets.simulator import Simulator


class NoiseTrader(Agent):
    kind = "noise"
    phases = (CONTINUOUS, *CALL_PHASES)

    def __init__(
        self,
        sim: Simulator,
        name: str,
        account: str,
        aggressive_account: str,
        spec: InstrumentProfile,
        rng: Random,
        latency_ns: int,
    ) -> None:
        super().__init__(sim, name, account, spec, rng, latency_ns)
        self.aggressive_account = aggressive_account
        self.resting: list[int] = []  # order ids of passive orders, oldest first

    def wait(self, phase: Phase) -> int:
        rate = self.rate_now(self.flow.noise_rate_per_s, phase)
        if rate <= 0:
            return 60 * NS  # look again in a minute (a reconfigure may turn flow back on)
        return max(1, int(self.rng.expovariate(rate) * NS))

    def idle(self, phase: Phase) -> None:
        if phase is Phase.CLOSED:
            self.resting.clear()

    def decide(self, phase: Phase) -> list[Command]:
        f = self.flow
        rng = self.rng
        orders = self.sim.view.engine.orders
        self.resting = [oid for oid in self.resting if oid in orders]
        cmds: list[Command] = []
        u = rng.random()
        if self.resting and u < f.noise_cancel_fraction:
            oid = self.resting.pop(rng.randrange(len(self.resting)))
            cmds.append(CancelOrder(account=self.account, instrument=self.iid, order_id=oid))
        elif phase is CONTINUOUS and u < f.noise_cancel_fraction + f.noise_aggressive_fraction:
            c = self._aggressive()
            cmds.append(c if c is not None else self._passive(phase))
        else:
            cmds.append(self._passive(phase))
        if len(self.resting) >= f.noise_max_resting:
            oid = self.resting.pop(0)
            cmds.append(CancelOrder(account=self.account, instrument=self.iid, order_id=oid))
        return cmds

    def _aggressive(self) -> Command | None:
        rng = self.rng
        buy = rng.random() < 0.5
        bid, ask = self.sim.view.touch(self.iid)
        p = ask if buy else bid
        if p is None:
            return None
        r = rng.random()
        through = 0 if r < 0.75 else 1 if r < 0.95 else 2
        price = self.clamp(self.grid.shift(p, through if buy else -through))
        return SubmitOrder(
            account=self.aggressive_account, client_order_id=self.next_cid(), instrument=self.iid,
            side=BUY if buy else SELL, qty=self.lots(self.flow.noise_size_lots) * self.lot,
            price=price, tif=TimeInForce.IOC,
        )  # fmt: skip

    def _passive(self, phase: Phase) -> Command:
        rng = self.rng
        f = self.flow
        grid = self.grid
        buy = rng.random() < 0.5
        fair = self.sim.fair.price(self.iid)
        tick = grid.tick(int(fair))
        if phase is CONTINUOUS:
            depth = (
                int(rng.expovariate(1.0 / f.noise_passive_depth_ticks)) if f.noise_passive_depth_ticks else 0
            )
            price = grid.down(fair - (1 + depth) * tick) if buy else grid.up(fair + (1 + depth) * tick)
        else:
            # Call phases: orders straddle the fair value so the uncross has something to match.
            price = grid.nearest(fair + rng.gauss(0.0, 2.5) * tick)
        price = self.clamp(price)
        cid = self.next_cid()
        return SubmitOrder(
            account=self.account, client_order_id=cid, instrument=self.iid, side=BUY if buy else SELL,
            qty=self.lots(f.noise_size_lots) * self.lot, price=price,
        )  # fmt: skip

    def after_send(self, cmd: Command) -> None:
        if type(cmd) is SubmitOrder and cmd.account == self.account:
            ids = self.sim.view.engine.client_ids.get(self.account)
            oid = None if ids is None else ids.get(cmd.client_order_id)
            if oid is not None:
                self.resting.append(oid)
