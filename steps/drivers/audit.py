"""Audit answers from a log alone (as-of, re-run, rebase, book replay), for every driver.

They run the auditors' code (``sim.replay``, what ``chronex replay|diff`` run) over an
``EventStore``: the in-process driver passes its live log, the FIX driver the log file the
server writes, so both answer the same questions the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sim.clock.virtual import VirtualClock
from sim.replay import override, recorded_config
from sim.replay import rebase as rebase_log
from sim.replay import rerun as rerun_log
from sim.replay.asof import as_of
from sim.replay.views import amount
from steps.drivers.base import (
    AsOfView,
    Difference,
    HeldPosition,
    RebaseView,
    Rejection,
    RerunView,
    TradeRow,
)
from system.clock import FixedClock
from system.engine import BookView, MatchingEngine, OrderAccepted, OrderRejected, TradeExecuted
from system.eventlog import EventStore, LoggedEvent, open_log


def replay_book(store: EventStore, config: Any, instrument: str, as_of_ns: int) -> BookView:
    state = as_of(store, as_of_ns, config=config, only={"engine"})
    return state.component(MatchingEngine).book(instrument)  # type: ignore[no-any-return]


def as_of_view(store: EventStore, config: Any, valid_ns: int, known_at_ns: int | None) -> AsOfView:
    state = as_of(store, valid_ns, known_at_ns, config=config)
    eng: MatchingEngine = state.component(MatchingEngine)
    led = state.ledger
    held = []
    for (account, inst_id), (qty, cost) in sorted(led.positions.items()):
        inst = led.instruments.get(inst_id)
        mark = led.mark(inst_id)
        pnl = None if mark is None or inst is None else amount(inst, qty * mark.price - cost)
        ccy = "" if inst is None else inst.quote_currency
        held.append(HeldPosition(account, inst_id, qty, cost, None if mark is None else mark.price, pnl, ccy))
    marks = {i: m.price for i in sorted(led.marks) if (m := led.mark(i)) is not None}
    b = state.basis
    return AsOfView(
        as_of=valid_ns,
        known_at=known_at_ns,
        seq=b.seq,
        late_included=b.late_included,
        late_excluded=b.late_excluded,
        books={i: eng.book(i) for i in eng.instrument_ids()},
        positions=held,
        marks=marks,
        trades=led.trades,
        busted=led.busted,
        corrected=led.corrected,
        late=led.late,
    )


def rerun_view(store: EventStore, overrides: Sequence[str] = ()) -> RerunView:
    from sim.replay.diff import diff_logs  # pandas: only when a scenario re-runs

    cfg = override(recorded_config(store), list(overrides)) if overrides else None
    out = open_log("memory://", FixedClock(0))
    try:
        res = rerun_log(store, out, config=cfg)
        diffs = (
            [] if res.same else [Difference(d.kind, d.key, d.left, d.right) for d in diff_logs(store, out)]
        )
    finally:
        out.close()
    d = res.divergence
    return RerunView(
        same=res.same,
        original_head=res.original_head,
        rerun_head=res.rerun_head,
        divergence=None if d is None else (d.seq, d.original, d.rerun),
        differences=diffs,
        failed=list(res.failed),
    )


def rebase_view(store: EventStore, config: Any, new_date: date) -> RebaseView:
    out = open_log("memory://", VirtualClock(0))
    try:
        res = rebase_log(store, new_date, out, config=config)
        trades, rejections = flow(out.read(1))
    finally:
        out.close()
    return RebaseView(new_date, res.commands, res.accepted, trades, rejections)


def flow(events: Iterable[LoggedEvent]) -> tuple[list[TradeRow], list[Rejection]]:
    """The trades (with the client order ids of both sides) and rejections of a log."""
    cid: dict[int, str] = {}
    trades: list[TradeRow] = []
    rejections: list[Rejection] = []
    for e in events:
        r = e.record
        if isinstance(r, OrderAccepted):
            cid[r.order_id] = r.client_order_id
        elif isinstance(r, TradeExecuted):
            trades.append(
                TradeRow(
                    r.instrument,
                    r.price,
                    r.qty,
                    r.buy_account,
                    r.sell_account,
                    cid.get(r.buy_order_id, ""),
                    cid.get(r.sell_order_id, ""),
                    r.time,
                )
            )
        elif isinstance(r, OrderRejected):
            rejections.append(Rejection(r.account, r.client_order_id, r.command, str(r.reason), r.text))
    return trades, rejections
