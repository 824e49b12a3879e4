"""Snapshots of the risk, pricing and corrections components: a snapshot at a seq plus the fold of
the tail equals the full fold (compared by a canonical state hash), for fixed scenarios and for
random command sequences; snapshots are canonical (equal states, equal bytes)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.bootstrap import build_components
from system.corrections import BustTrade, Corrections, CorrectPrice, CorrectTrade, ReportLateTrade
from system.engine import CancelOrder, OrderAccepted, ReplaceOrder, Side
from system.eventlog.codec import canonical
from system.eventlog.records import Command
from system.pricing import (
    Pricing,
    RecomputeMarks,
    RollReferencePrices,
    SetFxRate,
    SetMarkPrice,
    SetSourcePrice,
)
from system.risk import EngageKillSwitch, ReleaseKillSwitch, Risk
from system.risk.testkit import RiskHarness, stock
from system.runtime import Component
from system.runtime.runtime import rebuild

TOY = "XTKS:7203"
SONY = "XTKS:6758"
BTC = "CRYPTO:BTC-USD"
S = 10**9
RISK: dict[str, Any] = {
    "rearm_bp": 100,
    "margin": {"initial_bp": 2000, "maintenance_bp": 1000},
    "firm": {"max_position": "100000", "max_open_orders": 1000},
    "default_account": {
        "balances": {"JPY": "300000"},
        "max_orders_per_second": 50,
        "maker_fee_bp": 1,
        "taker_fee_bp": 3,
    },
    "accounts": {
        "A": {"balances": {"JPY": "30000", "USD": "100"}, "credit": "50000", "kill_on": ["margin_call"]},
        "B": {"balances": {"JPY": "10000000"}, "max_order_qty": "5000", "collar_bp": 2000},
    },
}
PRICING: dict[str, Any] = {
    "default_method": "last",
    "crosses": [["BTC", "JPY"]],
    "marks": {
        SONY: {
            "method": "composite",
            "sources": [{"name": "a", "weight": 2}, {"name": "self"}],
            "stale_after": "3s",
        }
    },
}
NAMES = ("risk", "pricing", "corrections")


def harness() -> RiskHarness:
    btc = stock(BTC, base_currency="BTC", quote_currency="USD")
    return RiskHarness(stock(TOY), stock(SONY), btc, risk=RISK, pricing=PRICING)


def digest(c: Component) -> str:
    return hashlib.sha256(canonical(c.snapshot_state())).hexdigest()


def digests(comps: list[Component]) -> dict[str, str]:
    return {c.name: digest(c) for c in comps if c.name in NAMES}


def build(h: RiskHarness) -> Any:
    return lambda: build_components(h.config)


def check_snapshot_plus_tail(h: RiskHarness) -> None:
    """For every snapshot taken and the head: restored + tail == full fold == live."""
    rt = h.system.runtime
    store = rt.store
    head = store.head().seq
    live = digests(rt.components)
    seqs = sorted({s for name in NAMES for s in store.list_snapshots(name)})
    assert seqs, "no snapshot was taken"
    for to_seq in {*seqs, *(s + 1 for s in seqs if s < head), head}:
        fast = digests(rebuild(store, build(h), to_seq))
        slow = digests(rebuild(store, build(h), to_seq, snapshots=False))
        assert fast == slow, to_seq
    assert digests(rebuild(store, build(h))) == live


def scenario(h: RiskHarness) -> None:
    t = h.clock.t
    h.at(t, SetFxRate("USD", "JPY", 150, 0))
    h.at(t + 1, SetFxRate("BTC", "USD", 6500012, -2))
    h.at(t + 2, SetSourcePrice(SONY, "a", 3000))
    h.clock.t = t + S
    h.cross("A", "B", TOY, 300, 1000)
    h.cross("B", "C", SONY, 100, 3010)
    h.submit("A", TOY, Side.BUY, 10, price=990)
    h.submit("B", TOY, Side.SELL, 100_000, price=1000)  # breaches B's max order qty
    h.system.runtime.snapshot()
    h.at(t + 2 * S, SetMarkPrice(TOY, 950))  # A's margin warning
    h.system.runtime.snapshot()
    h.cross("C", "A", BTC, 2, 60000)
    h.do(BustTrade(1, "fat finger"))
    h.system.runtime.snapshot()
    h.do(CorrectTrade(2, price=3005))
    h.at(t + 3 * S, ReportLateTrade(TOY, 1001, 50, "B", "C", t + S))
    h.do(CorrectPrice(TOY, 850, t + 2 * S))
    h.do(EngageKillSwitch("B", "test"))
    h.system.runtime.snapshot()
    h.at(t + 4 * S, ReleaseKillSwitch("B"))
    h.do(RecomputeMarks())
    h.do(RollReferencePrices())
    h.cross("A", "C", TOY, 100, 900)


def test_snapshot_plus_tail_equals_full_fold_for_risk_pricing_and_corrections() -> None:
    """After trades, marks, FX, corrections and a kill switch, every snapshot plus its tail folds
    to the same state hash as a full fold and as the live components."""
    h = harness()
    scenario(h)
    kinds = {e.type for e in h.store.read(1)}
    assert {"MarginWarning", "MarginRestored", "LimitBreached", "KillSwitchEngaged"} <= kinds
    comps = {c.name: c for c in h.system.runtime.components}
    assert isinstance(comps["risk"], Risk) and isinstance(comps["pricing"], Pricing)
    assert isinstance(comps["corrections"], Corrections)
    check_snapshot_plus_tail(h)


def test_a_restored_component_snapshots_to_the_same_bytes() -> None:
    """Restoring a snapshot and taking it again gives byte-identical state, for each component."""
    h = harness()
    scenario(h)
    for c in h.system.runtime.components:
        if c.name not in NAMES:
            continue
        blob = canonical(c.snapshot_state())
        (fresh,) = [x for x in build_components(h.config) if x.name == c.name]
        fresh.restore_state(msgspec.msgpack.decode(blob))
        assert canonical(fresh.snapshot_state()) == blob, c.name


def test_a_restored_risk_engine_decides_like_the_live_one() -> None:
    """A risk engine restored from a snapshot keeps folding and emitting the same events (margin
    status after a price move) as the live one."""
    h1, h2 = harness(), harness()
    scenario(h1)
    scenario(h2)
    r2 = h2.system.component(Risk)
    r2.restore_state(msgspec.msgpack.decode(canonical(r2.snapshot_state())))
    t = h1.clock.t + 10 * S
    for h in (h1, h2):
        h.clock.t = t
    assert h1.do(SetMarkPrice(TOY, 500)) == h2.do(SetMarkPrice(TOY, 500))
    assert h1.submit("A", TOY, Side.BUY, 100, price=500) == h2.submit("A", TOY, Side.BUY, 100, price=500)


# -- random command sequences ----------------------------------------------------------------------
ACCOUNTS = ("A", "B", "C")
INSTS = (TOY, SONY)


def _ops() -> st.SearchStrategy[tuple[Any, ...]]:
    acct = st.sampled_from(ACCOUNTS)
    inst = st.sampled_from(INSTS)
    price = st.integers(900, 1100)
    qty = st.integers(1, 30).map(lambda n: n * 10)
    return st.one_of(
        st.tuples(st.just("submit"), acct, inst, st.booleans(), qty, price),
        st.tuples(st.just("cross"), acct, acct, inst, qty, price),
        st.tuples(st.just("cancel"), st.integers(1, 40)),
        st.tuples(st.just("replace"), st.integers(1, 40), qty, price),
        st.tuples(st.just("mark"), inst, price),
        st.tuples(st.just("source"), price),
        st.tuples(st.just("fx"), st.integers(100, 200)),
        st.tuples(st.just("bust"), st.integers(1, 20)),
        st.tuples(st.just("correct"), st.integers(1, 20), price),
        st.tuples(st.just("late"), acct, acct, inst, qty, price),
        st.tuples(st.just("kill"), acct),
        st.tuples(st.just("release"), acct),
        st.tuples(st.just("tick"), st.integers(1, 3000)),
        st.tuples(st.just("roll")),
        st.tuples(st.just("snapshot")),
    )


def _command(h: RiskHarness, op: tuple[Any, ...], orders: dict[int, tuple[str, str]]) -> Command | None:
    kind = op[0]
    if kind == "cancel" or kind == "replace":
        o = orders.get(op[1])
        if o is None:
            return None
        if kind == "cancel":
            return CancelOrder(o[0], o[1], order_id=op[1])
        return ReplaceOrder(o[0], o[1], op[1], qty=op[2], price=op[3])
    table: dict[str, Any] = {
        "mark": lambda: SetMarkPrice(op[1], op[2]),
        "source": lambda: SetSourcePrice(SONY, "a", op[1] * 3),
        "fx": lambda: SetFxRate("USD", "JPY", op[1], 0),
        "bust": lambda: BustTrade(op[1]),
        "correct": lambda: CorrectTrade(op[1], price=op[2]),
        "late": lambda: ReportLateTrade(op[3], op[5], op[4], op[1], op[2], h.clock.t - 1),
        "kill": lambda: EngageKillSwitch(op[1]),
        "release": lambda: ReleaseKillSwitch(op[1]),
        "roll": lambda: RollReferencePrices("XTKS"),
    }
    return table[kind]() if kind in table else None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ops(), min_size=5, max_size=60))
def test_random_command_sequences_snapshot_plus_tail_equals_full_fold(ops: list[tuple[Any, ...]]) -> None:
    """Whatever the commands, a snapshot at any seq plus the tail folds to the full fold's state."""
    h = harness()
    h.system.runtime.snapshot()
    orders: dict[int, tuple[str, str]] = {}  # order id -> (account, instrument), for cancels
    for op in ops:
        kind = op[0]
        h.clock.t += 1_000_000
        events: list[Any] = []
        if kind == "snapshot":
            h.system.runtime.snapshot()
        elif kind == "tick":
            h.clock.t += op[1] * 1_000_000
        elif kind == "submit":
            side = Side.BUY if op[3] else Side.SELL
            events = h.submit(op[1], op[2], side, op[4], price=op[5])
        elif kind == "cross":
            events = h.cross(op[1], op[2], op[3], op[4], op[5])
        else:
            cmd = _command(h, op, orders)
            if cmd is not None:
                h.do(cmd)
        for e in events:
            if isinstance(e, OrderAccepted):
                orders[e.order_id] = (e.account, e.instrument)
    check_snapshot_plus_tail(h)
