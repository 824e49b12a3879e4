"""Properties of the post-trade fold and the bars, over random order flow (hypothesis)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.corrections import BustTrade, CorrectTrade
from system.engine import CancelAllOrders, Side, TradeExecuted
from system.pricing import SetMarkPrice
from system.risk import AccountsProjection, Risk
from system.risk.testkit import RiskHarness, stock

TOY = "XTKS:7203"
ACCOUNTS = ("A", "B", "C", "D")
S = 10**9
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

orders = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 50),  # qty
        st.integers(990, 1010),  # price
    ),
    min_size=1,
    max_size=60,
)


def run_flow(flow: list[tuple[str, Side, int, int]], fees: bool = True) -> RiskHarness:
    acct: dict[str, Any] = {"maker_fee_bp": 2, "taker_fee_bp": 5} if fees else {}
    risk = {"default_account": {"balances": {"JPY": "1000000"}, **acct}}
    h = RiskHarness(stock(TOY), risk=risk, pricing={"default_method": "last"})
    for i, (a, side, qty, price) in enumerate(flow):
        h.clock.t += 1_000_000 * (1 + i % 3)
        h.submit(a, TOY, side, qty, price=price)
    return h


def fold_fills(h: RiskHarness) -> dict[str, int]:
    """Positions by the plainest possible fold of the trade tape."""
    pos = dict.fromkeys(ACCOUNTS, 0)
    for e in h.store.read(1):
        r = e.record
        if isinstance(r, TradeExecuted):
            pos[r.buy_account] += r.qty
            pos[r.sell_account] -= r.qty
    return pos


@FAST
@given(orders)
def test_positions_folded_from_fills_equal_the_read_model_after_rebuild(flow: list[Any]) -> None:
    """Positions from the fills equal the live risk ledger and a read model rebuilt from the log."""
    h = run_flow(flow)
    h.system.runtime.flush()
    fresh = AccountsProjection(h.system.component(Risk).config)
    fresh.rebuild(h.store)
    live = h.system.component(Risk).ledger
    for a, q in fold_fills(h).items():
        assert fresh.position_qty(a, TOY) == q
        p = live.accounts.get(a)
        assert (0 if p is None or TOY not in p.positions else p.positions[TOY].qty) == q
        assert fresh.margin(a) == h.accounts.margin(a)
        assert fresh.positions(a) == h.accounts.positions(a)
        assert fresh.open_orders(a) == h.accounts.open_orders(a)


def flatten(h: RiskHarness, price: int) -> None:
    """Cancel everything, then cross longs against shorts until every account is flat."""
    for a in ACCOUNTS:
        h.do(CancelAllOrders(a))
    while True:
        pos = {a: h.accounts.position_qty(a, TOY) for a in ACCOUNTS}
        long = max(ACCOUNTS, key=lambda a: pos[a])
        short = min(ACCOUNTS, key=lambda a: pos[a])
        if pos[long] == 0:
            return
        q = min(pos[long], -pos[short])
        h.cross(short, long, TOY, q, price)


@FAST
@given(orders, st.integers(900, 1100), st.integers(900, 1100))
def test_realised_pnl_of_a_closed_group_sums_to_minus_the_fees(
    flow: list[Any], mark: int, close: int
) -> None:
    """Accounts that only trade with each other: P&L sums to minus the fees at any mark, and once
    everyone is flat, realised P&L net of fees sums to minus the fees."""
    h = run_flow(flow)
    h.do(SetMarkPrice(TOY, mark))  # a manual mark overrides last-trade marks from here on
    fees = sum(p.fees for a in ACCOUNTS for p in h.accounts.pnl(a))
    total = sum(p.net for a in ACCOUNTS for p in h.accounts.pnl(a))
    assert total == -fees
    flatten(h, close)
    pnl = [p for a in ACCOUNTS for p in h.accounts.pnl(a)]
    fees = sum(p.fees for p in pnl)
    assert sum(p.unrealised for p in pnl) == 0
    assert sum(p.realised - p.fees for p in pnl) == -fees
    cash = [h.accounts.balances(a)["JPY"] for a in h.accounts.accounts()]
    assert sum(cash) == len(cash) * 1_000_000 - fees


trades = st.lists(
    st.tuples(st.integers(0, 400), st.integers(990, 1010), st.integers(1, 20)),  # gap s, price, qty
    min_size=1,
    max_size=40,
)
edits = st.lists(st.tuples(st.integers(0, 39), st.booleans(), st.integers(980, 1020)), max_size=5)


@FAST
@given(trades, edits)
def test_bars_equal_bars_recomputed_from_the_tape_in_pandas(tape: list[Any], changes: list[Any]) -> None:
    """Every bar (after busts and corrections) equals pandas' OHLCV of the corrected trade tape."""
    t0 = 1_709_251_200 * S  # 2024-03-01 00:00 UTC, 09:00 in Tokyo
    h = RiskHarness(stock(TOY), pricing={"venues": {"XTKS": {"tz": "Asia/Tokyo"}}}, t0=t0)
    t = t0
    ids: list[int] = []
    for gap, price, qty in tape:
        t += gap * S // 2
        h.clock.t = t
        ids += [e.trade_id for e in h.cross("A", "B", TOY, qty, price) if isinstance(e, TradeExecuted)]
    busted: set[int] = set()
    for i, bust, price in changes:
        tid = ids[i % len(ids)]
        if tid in busted:
            continue
        if bust:
            h.do(BustTrade(tid))
            busted.add(tid)
        else:
            h.do(CorrectTrade(tid, price=price))
    rows = {}
    for e in h.store.read(1):
        r = e.record
        if isinstance(r, TradeExecuted):
            rows[r.trade_id] = {"time": r.time, "seq": e.seq, "price": r.price, "qty": r.qty}
        elif type(r).__name__ == "TradeCorrected":
            rows[r.trade_id]["price"] = r.price  # type: ignore[attr-defined]
            rows[r.trade_id]["qty"] = r.qty  # type: ignore[attr-defined]
        elif type(r).__name__ == "TradeBusted":
            rows.pop(r.trade_id)  # type: ignore[attr-defined]
    if not rows:
        assert all(h.bars.bars(TOY, iv) == [] for iv in ("1s", "1m", "5m", "1h", "1d"))
        return
    df = pd.DataFrame(list(rows.values())).sort_values(["time", "seq"])
    local = pd.to_datetime(df["time"], unit="ns", utc=True).dt.tz_convert("Asia/Tokyo")
    for iv, freq in (("1s", "1s"), ("1m", "1min"), ("5m", "5min"), ("1h", "1h"), ("1d", "1D")):
        g = df.groupby(local.dt.floor(freq), sort=True)
        want = [
            (int(k.value), int(v["price"].iloc[0]), int(v["price"].max()), int(v["price"].min()),
             int(v["price"].iloc[-1]), int(v["qty"].sum()), len(v))
            for k, v in g
        ]  # fmt: skip
        got = [(b.start, b.open, b.high, b.low, b.close, b.volume, b.trades) for b in h.bars.bars(TOY, iv)]
        assert got == want, iv
