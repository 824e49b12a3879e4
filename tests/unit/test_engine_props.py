"""Invariants of the engine over random command sequences (hypothesis state machine)."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from system.engine import (
    CancelAllOrders,
    CancelOrder,
    ChangePhase,
    ExpireDue,
    IcebergReplenished,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    OrderType,
    Phase,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeExecuted,
)
from system.engine.testkit import EngineHarness, instrument

X = "XTKS:7203"
prices = st.integers(95, 105)
qtys = st.integers(1, 6)
sides = st.sampled_from([Side.BUY, Side.SELL])
accounts = st.sampled_from(["A", "B", "C"])
tifs = st.sampled_from([TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD])
stps = st.sampled_from(list(SelfTradePrevention))


class EngineMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.h = EngineHarness(instrument(X, reference_price=100))
        self.cid = 0
        self.t = 1_000
        self.total: dict[int, int] = {}  # order id -> ordered quantity (after replaces)
        self.done = 0  # filled + cancelled + reduced + expired, summed over orders
        self.ids: list[int] = []

    # -- commands ------------------------------------------------------------------------------
    def _run(self, cmd: Any) -> None:
        before = self.h.engine.book(X)
        events = self.h.at(self.t, cmd)
        self._account(events)
        self._check_priority(before, events)

    def _account(self, events: list[Any]) -> None:
        for e in events:
            if isinstance(e, OrderAccepted):
                self.total[e.order_id] = e.qty
                self.ids.append(e.order_id)
            elif isinstance(e, OrderReplaced):
                self.total[e.order_id] = e.qty
            elif isinstance(e, TradeExecuted):
                self.done += 2 * e.qty  # both sides' open quantity goes down
            elif isinstance(e, OrderCancelled | OrderExpired | OrderReduced):
                self.done += e.qty

    @rule(side=sides, price=prices, qty=qtys, acct=accounts, tif=tifs, stp=stps, ice=st.booleans())
    def limit(
        self, side: Side, price: int, qty: int, acct: str, tif: TimeInForce, stp: Any, ice: bool
    ) -> None:
        self.cid += 1
        resting = tif in (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD)
        self._run(
            SubmitOrder(
                acct, f"c{self.cid}", X, side, qty, price=price, tif=tif, stp=stp,
                expire_time=self.t + 5_000 if tif is TimeInForce.GTD else None,
                display_qty=1 if ice and resting and qty > 1 else 0,
            )
        )  # fmt: skip

    @rule(side=sides, qty=qtys, acct=accounts)
    def market(self, side: Side, qty: int, acct: str) -> None:
        self.cid += 1
        self._run(SubmitOrder(acct, f"c{self.cid}", X, side, qty, order_type=OrderType.MARKET))

    @rule(side=sides, stop=prices, qty=qtys, acct=accounts, limit=st.booleans())
    def stop(self, side: Side, stop: int, qty: int, acct: str, limit: bool) -> None:
        self.cid += 1
        kind = OrderType.STOP_LIMIT if limit else OrderType.STOP
        self._run(
            SubmitOrder(
                acct,
                f"c{self.cid}",
                X,
                side,
                qty,
                order_type=kind,
                stop_price=stop,
                price=stop if limit else None,
            )
        )

    @precondition(lambda self: self.ids)
    @rule(data=st.data())
    def cancel(self, data: Any) -> None:
        oid = data.draw(st.sampled_from(self.ids))
        acct = data.draw(accounts)
        self._run(CancelOrder(acct, X, oid))

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), qty=st.integers(1, 8), price=st.one_of(st.none(), prices))
    def replace(self, data: Any, qty: int, price: int | None) -> None:
        oid = data.draw(st.sampled_from(self.ids))
        o = self.h.engine.order(oid)
        self._run(ReplaceOrder(o.account if o else "A", X, oid, qty=qty, price=price))

    @rule(phase=st.sampled_from([Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.BREAK,
                                 Phase.CLOSING_AUCTION, Phase.CLOSED, Phase.CONTINUOUS]))  # fmt: skip
    def change_phase(self, phase: Phase) -> None:
        self._run(ChangePhase("XTKS", phase))

    @rule(dt=st.integers(1, 4_000))
    def time_passes(self, dt: int) -> None:
        self.t += dt
        self._run(ExpireDue())

    @rule(acct=accounts)
    def kill_switch(self, acct: str) -> None:
        self._run(CancelAllOrders(acct))

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def book_never_crossed_in_continuous_trading(self) -> None:
        if self.h.engine.phase(X) is Phase.CONTINUOUS:
            assert not self.h.book(X).crossed()

    @invariant()
    def quantity_is_conserved(self) -> None:
        """submitted = filled + cancelled + expired + resting (replaces change 'submitted')."""
        resting = sum(o.leaves for o in self.h.engine.open_orders())
        assert sum(self.total.values()) == self.done + resting

    @invariant()
    def levels_agree_with_their_orders(self) -> None:
        for lv in (*self.h.book(X).bids, *self.h.book(X).asks):
            assert lv.total == sum(o.leaves for o in lv.orders) and lv.count == len(lv.orders) > 0
            assert lv.qty == sum(o.visible for o in lv.orders)

    def _check_priority(self, before: Any, events: list[Any]) -> None:
        """Each aggressor fills the best prices first and, at a price, resting orders in queue order."""
        queue: dict[int, tuple[int, int]] = {}  # resting order id -> (price rank for its side, position)
        for levels, sign in ((before.bids, -1), (before.asks, 1)):
            for lv in levels:
                for pos, o in enumerate(lv.orders):
                    queue[o.order_id] = (sign * lv.price, pos)
        last: dict[int, tuple[int, int]] = {}
        back = 1_000_000
        for e in events:
            if isinstance(e, IcebergReplenished) and e.order_id in queue:
                back += 1  # a refilled iceberg goes to the back of its level
                queue[e.order_id] = (queue[e.order_id][0], back)
            if not isinstance(e, TradeExecuted) or e.aggressor_order_id is None:
                continue
            key = queue.get(e.resting_order_id)  # type: ignore[arg-type]
            if key is None:
                continue  # rested during this command (a triggered stop-limit, a replaced order)
            prev = last.get(e.aggressor_order_id)
            if prev is not None and key[0] == prev[0] and key[1] < prev[1]:
                raise AssertionError(f"fill out of time priority: {e}")
            if prev is not None:
                assert key[0] >= prev[0], f"fill at a worse price before a better one: {e}"
            last[e.aggressor_order_id] = key

    def teardown(self) -> None:
        if hasattr(self, "h"):
            fresh = self.h.refold()
            assert fresh.snapshot_state() == self.h.engine.snapshot_state()
            restored = type(fresh)()
            restored.restore_state(self.h.engine.snapshot_state())
            assert restored.snapshot_state() == self.h.engine.snapshot_state()


EngineMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
TestEngineInvariants = EngineMachine.TestCase
