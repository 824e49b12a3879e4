"""Market makers: two-sided quotes around the fair value, skewed against inventory.

Each maker keeps ``mm_levels`` orders a side, ``mm_level_gap_ticks`` apart, and moves them with
``ReplaceOrder`` when its target moves (one command, not a cancel and a new order). Quotes are
shaded away from what the maker holds (``mm_skew_ticks_per_lot``) and a side is pulled at
``mm_max_inventory_lots``. In continuous trading a quote never crosses the book on arrival (the
maker stays passive; informed traders take stale quotes). Makers also quote in pre-open and call
phases so the auctions have a book.
"""

from __future__ import annotations

from random import Random
from typing import TYPE_CHECKING

from sim.markets.agents.base import BUY, CALL_PHASES, CONTINUOUS, SELL, Agent
from sim.markets.view import OrderHandle
from system.engine import CancelOrder, Phase, ReplaceOrder, SelfTradePrevention, Side, SubmitOrder
from system.eventlog import Command

if TYPE_CHECKING:
    from sim.markets.profile import InstrumentProfile
    from sim.markets.simulator import Simulator


class _Slot:
    __slots__ = ("cid", "filled_seen", "handle", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.handle: OrderHandle | None = None
        self.cid = ""
        self.filled_seen = 0


class MarketMaker(Agent):
    kind = "market-maker"
    phases = (CONTINUOUS, *CALL_PHASES)

    def __init__(
        self,
        sim: Simulator,
        name: str,
        account: str,
        spec: InstrumentProfile,
        rng: Random,
        latency_ns: int,
        index: int,
    ) -> None:
        super().__init__(sim, name, account, spec, rng, latency_ns)
        self.index = index  # which of the profile's makers: picks its spread and size
        self.inventory = 0  # in quantity units, from its own fills
        self.bids: list[_Slot] = []
        self.asks: list[_Slot] = []
        self._by_cid: dict[str, _Slot] = {}
        self._last_r = 0.0

    def _pick(self, values: tuple[int, ...]) -> int:
        return values[self.index % len(values)]

    def wait(self, phase: Phase) -> int:
        refresh = self.flow.mm_refresh_s
        if phase is not CONTINUOUS:
            refresh *= 4  # a call phase needs a book, not a fast one
        return int(refresh * (0.5 + self.rng.random()) * 1e9)

    def _sync(self, slot: _Slot) -> None:
        h = slot.handle
        if h is None:
            return
        # view.track(h) and h.filled, inlined: a maker syncs every slot at every decision.
        o = self.sim.view.engine.orders.get(h.order_id)
        if o is None:  # closed: the last record seen tells what was filled
            o = h._o
            slot.handle = None
        else:
            h._o = o
        filled = o.qty - o.leaves
        if filled != slot.filled_seen:
            d = filled - slot.filled_seen
            self.inventory += d if slot.side is BUY else -d
            slot.filled_seen = filled

    def idle(self, phase: Phase) -> None:
        for s in (*self.bids, *self.asks):
            self._sync(s)
        if phase is Phase.CLOSED:
            self.bids.clear()
            self.asks.clear()
            self._by_cid.clear()

    def decide(self, phase: Phase) -> list[Command]:
        f = self.flow
        levels = f.mm_levels
        while len(self.bids) < levels:
            self.bids.append(_Slot(BUY))
            self.asks.append(_Slot(SELL))
        for s in self.bids:
            self._sync(s)
        for s in self.asks:
            self._sync(s)
        view = self.sim.view
        grid = self.grid
        fair = self.sim.fair.price(self.iid)
        tick = grid.tick(int(fair))
        lot = self.lot
        r = fair - (self.inventory / lot) * f.mm_skew_ticks_per_lot * tick
        hs = max(self._pick(f.mm_half_spread_ticks) * tick, fair * f.mm_min_half_spread_bp / 10_000)
        gap = f.mm_level_gap_ticks * tick
        size = self._pick(f.mm_size_lots) * lot
        max_inv = f.mm_max_inventory_lots * lot
        want_bid = self.inventory < max_inv
        want_ask = self.inventory > -max_inv
        lo, hi = view.limits(self.iid)
        best_bid = best_ask = None
        if phase is CONTINUOUS:
            best_bid, best_ask = view.touch(self.iid)
        bid_cmds: list[Command] = []
        ask_cmds: list[Command] = []
        for k in range(levels):
            off = hs + k * gap
            bid = grid.down(r - off)
            ask = grid.up(r + off)
            if best_ask is not None and bid >= best_ask:
                bid = grid.shift(best_ask, -1 - k)
            if best_bid is not None and ask <= best_bid:
                ask = grid.shift(best_bid, 1 + k)
            if bid < lo:
                bid = grid.up(lo)
            if hi is not None and bid > hi:
                bid = grid.down(hi)
            if ask < lo:
                ask = grid.up(lo)
            if hi is not None and ask > hi:
                ask = grid.down(hi)
            qty = size * (1 + k)
            c = self._quote(self.bids[k], bid, qty, want_bid)
            if c is not None:
                bid_cmds.append(c)
            c = self._quote(self.asks[k], ask, qty, want_ask)
            if c is not None:
                ask_cmds.append(c)
        # Move the side that gets out of the way first, so a maker never crosses its own quotes.
        up = r >= self._last_r
        self._last_r = r
        return ask_cmds + bid_cmds if up else bid_cmds + ask_cmds

    def _quote(self, slot: _Slot, price: int, qty: int, want: bool) -> Command | None:
        h = slot.handle
        if h is None:
            if not want:
                return None
            cid = self.next_cid()
            slot.cid = cid
            self._by_cid[cid] = slot
            return SubmitOrder(
                account=self.account, client_order_id=cid, instrument=self.iid, side=slot.side,
                qty=qty, price=price, stp=SelfTradePrevention.CANCEL_NEWEST,
            )  # fmt: skip
        if not want:
            return CancelOrder(account=self.account, instrument=self.iid, order_id=h.order_id)
        o = h._o  # the order's record, just refreshed by _sync (h.leaves, h.price, h.filled inlined)
        leaves = o.leaves
        if o.price != price:
            total = o.qty - leaves + qty if leaves < qty else None
            return ReplaceOrder(
                account=self.account, instrument=self.iid, order_id=h.order_id, price=price, qty=total
            )
        if leaves * 2 < qty:
            return ReplaceOrder(
                account=self.account, instrument=self.iid, order_id=h.order_id, qty=o.qty - leaves + qty
            )
        return None

    def after_send(self, cmd: Command) -> None:
        view = self.sim.view
        if type(cmd) is SubmitOrder:
            slot = self._by_cid.pop(cmd.client_order_id, None)
            if slot is not None:
                slot.handle = view.handle(self.account, cmd.client_order_id)
                slot.filled_seen = 0
            return
        slot = self._slot_of(cmd.order_id)  # type: ignore[attr-defined]
        if slot is None:
            return
        self._sync(slot)
        if type(cmd) is CancelOrder:
            slot.handle = None

    def _slot_of(self, order_id: int) -> _Slot | None:
        for s in self.bids:
            if s.handle is not None and s.handle.order_id == order_id:
                return s
        for s in self.asks:
            if s.handle is not None and s.handle.order_id == order_id:
                return s
        return None
