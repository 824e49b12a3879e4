"""AccountsProjection inside a TradingSystem with full risk reads the risk component's ledger
instead of folding a second copy; its answers stay those of an AccountsProjection that folds
the log on its own."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from system.engine import CancelOrder, Side, SubmitOrder
from system.risk import EngageKillSwitch, ReleaseKillSwitch
from system.risk.projections import AccountsProjection
from system.risk.testkit import RiskHarness, stock

X = "XTKS:7203"
ACCOUNTS = ("A", "B", "C")
# Full risk: credit (initial margin), an order rate limit and a maintenance rate, so the risk
# component keeps every part of the ledger the read model shows.
FULL: dict[str, Any] = {
    "margin": {"initial_bp": 2000, "maintenance_bp": 1000},
    "default_account": {
        "balances": {"JPY": "100000000"},
        "credit": "1000000000",
        "max_orders_per_second": 1000000,
        "max_open_orders": 12,
        "maker_fee_bp": 1,
        "taker_fee_bp": 3,
    },
}
# Pre-trade only: the risk component keeps less than the read model, so the read model folds.
LEAN: dict[str, Any] = {"default_account": {"max_order_qty": "100000"}}

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(ACCOUNTS),
            st.booleans(),
            st.integers(995, 1005),
            st.integers(1, 5),
        ),
        st.tuples(st.just("cancel"), st.sampled_from(ACCOUNTS), st.integers(1, 40)),
        st.tuples(st.just("kill"), st.sampled_from(ACCOUNTS)),
        st.tuples(st.just("release"), st.sampled_from(ACCOUNTS)),
    ),
    min_size=1,
    max_size=50,
)


def command(step: tuple[Any, ...], i: int) -> Any:
    kind, account = step[0], step[1]
    if kind == "add":
        _, _, buy, price, lots = step
        side = Side.BUY if buy else Side.SELL
        return SubmitOrder(account, f"c{i}", X, side, lots * 100, price=price)
    if kind == "cancel":
        return CancelOrder(account, X, step[2])
    if kind == "kill":
        return EngageKillSwitch(account, "test")
    return ReleaseKillSwitch(account)


def picture(p: AccountsProjection) -> tuple[Any, ...]:
    per = tuple(
        (a, p.positions(a), p.balances(a), p.pnl(a), p.margin(a), p.open_orders(a), p.kill_switch(a))
        for a in ACCOUNTS
    )
    return (p.position, p.accounts(), per, sorted(p.killed.items()), p.breaches)


def folded(h: RiskHarness, to_seq: int | None = None) -> AccountsProjection:
    p = AccountsProjection(h.system.config.risk)
    p.rebuild(h.store, to_seq)
    return p


def test_full_risk_accounts_follow_the_risk_component() -> None:
    """With full risk the system's AccountsProjection shares the risk component's ledger."""
    h = RiskHarness(stock(X), risk=FULL)
    assert h.accounts._runtime is h.system.runtime
    assert h.accounts.ledger is h.system.component(type(h.accounts.ledger))


def test_pre_trade_accounts_keep_their_own_ledger() -> None:
    """A lean (pre-trade) risk component keeps no positions, so the read model keeps its own
    ledger; nothing on the command path reads it, so it is folded when a query asks."""
    h = RiskHarness(stock(X), risk=LEAN)
    assert h.accounts._runtime is None
    assert h.accounts._lagging is h.system.runtime
    h.submit("A", X, Side.BUY, 100, price=1000)
    h.submit("B", X, Side.SELL, 100, price=1000)
    p = h.accounts
    assert p._folded < p.position == h.store.head().seq  # the commands folded nothing here
    assert picture(p) == picture(folded(h))
    assert p._folded == p.position


@settings(max_examples=40, deadline=None)
@given(steps, st.booleans())
def test_answers_equal_an_own_fold_entry_by_entry(run: list[tuple[Any, ...]], full: bool) -> None:
    """After any run of adds, cancels and kill switches, every view equals a read model that
    folded the log one entry at a time: following (full risk) or folding each append's entries
    in one pass (pre-trade risk)."""
    h = RiskHarness(stock(X), risk=FULL if full else LEAN)
    for i, s in enumerate(run):
        h.do(command(s, i))
    assert (h.accounts._runtime is h.system.runtime) is full
    assert picture(h.accounts) == picture(folded(h))


@settings(max_examples=25, deadline=None)
@given(steps, st.integers(0, 50), st.booleans())
def test_a_query_inside_a_batch_never_runs_ahead_of_the_log(
    run: list[tuple[Any, ...]], cut: int, full: bool
) -> None:
    """Queried while batched() holds unflushed commands, the read model answers as of its
    position (what the log holds), and keeps answering correctly after the flush: following
    (full risk) or catching up when asked (pre-trade risk)."""
    h = RiskHarness(stock(X), risk=FULL if full else LEAN)
    with h.system.runtime.batched(1000):
        for i, s in enumerate(run):
            h.system.execute(command(s, i))
            if i == cut:
                assert picture(h.accounts) == picture(folded(h))
    assert picture(h.accounts) == picture(folded(h))


@settings(max_examples=25, deadline=None)
@given(steps, st.lists(st.integers(0, 50), max_size=4))
def test_lagging_answers_equal_an_own_fold_whenever_asked(
    run: list[tuple[Any, ...]], asks: list[int]
) -> None:
    """Pre-trade risk: queries at any points of a run (each catching up part of the log) leave
    the same read model as one fold of the whole log, and a snapshot of it restores the same."""
    h = RiskHarness(stock(X), risk=LEAN)
    for i, s in enumerate(run):
        h.do(command(s, i))
        if i in asks:
            assert picture(h.accounts) == picture(folded(h))
    assert picture(h.accounts) == picture(folded(h))
    again = AccountsProjection(h.system.config.risk)
    again.restore_state(msgspec.msgpack.decode(msgspec.msgpack.encode(h.accounts.snapshot_state())))
    again.position = h.accounts.position
    assert picture(again) == picture(h.accounts)
