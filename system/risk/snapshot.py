"""The risk engine's state as a plain, canonical record, and back (for as-of replay from snapshots).

Everything is listed in key order (accounts, instruments, order ids), so two ledgers with the same
state give byte-identical snapshots. What is derived from the configuration (limits, gates, margin
rates) or cached (conversion factors) is rebuilt, not stored. A position's fill history grows with
every trade and is needed only to refold a position after a correction, so it is stored as packed
int64 columns and unpacked on first use (``Ledger.fills_of``).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec

from system.corrections import pack_ints
from system.engine.refdata import Instrument
from system.risk.ledger import Ledger
from system.risk.valuation import Account, InstInfo, OpenOrder, Position

if TYPE_CHECKING:
    from system.risk.component import Risk


class PositionState(msgspec.Struct, array_like=True, frozen=True):
    instrument: str
    qty: int
    cost: int
    realised: int
    booked: int
    fees: int
    open_buy: int
    open_sell: int
    upnl_v: int
    im_v: int
    mm_v: int
    fills: bytes  # int64 columns of (time, key, sign, price, qty, maker), row after row


class AccountState(msgspec.Struct, array_like=True, frozen=True):
    id: str
    cash: list[tuple[str, int, int]]  # currency, balance, balance valued in the account currency
    cash_total: int
    upnl: int
    im: int
    mm: int
    n_open: int
    level: int
    times: list[int]  # acceptance times in the order-rate window
    positions: list[PositionState]  # by instrument


class OrderState(msgspec.Struct, array_like=True, frozen=True, gc=False):
    order_id: int
    account: str
    instrument: str
    sign: int
    leaves: int
    price: int | None
    client_order_id: str


class LedgerState(msgspec.Struct, frozen=True):
    instruments: list[Instrument]
    accounts: list[AccountState]
    orders: list[OrderState]
    # holders of each instrument in the order they first held it: margin status events of a
    # price move are emitted in this order, so it is state, not an accident of dict order
    holders: list[tuple[str, list[str]]]
    px: list[tuple[str, int]]
    marked: list[str]
    last: list[tuple[str, int]]
    reference: list[tuple[str, int]]
    fx: list[tuple[str, str, int, int]]
    firm_pos: list[tuple[str, int, int, int]]
    firm_open: int
    firm_times: list[int]


class RiskState(msgspec.Struct, frozen=True):
    ledger: LedgerState
    killed: list[str]


def _fills(p: Position) -> bytes:
    # still-packed fills come first and stay packed: a snapshot never unpacks them
    return p.packed + pack_ints(x for f in p.fills for x in f)


def _position(iid: str, p: Position) -> PositionState:
    return PositionState(
        iid, p.qty, p.cost, p.realised, p.booked, p.fees, p.open_buy, p.open_sell,
        p.upnl_v, p.im_v, p.mm_v, _fills(p),
    )  # fmt: skip


def ledger_state(led: Ledger) -> LedgerState:
    accounts = []
    for aid, a in sorted(led.accounts.items()):
        positions = [_position(iid, p) for iid, p in sorted(a.positions.items())]
        cash = [(c, b, a.cash_v.get(c, 0)) for c, b in sorted(a.cash.items())]
        accounts.append(
            AccountState(
                aid, cash, a.cash_total, a.upnl, a.im, a.mm, a.n_open, a.level, list(a.times), positions
            )
        )
    orders = [
        OrderState(oid, o.account.id, o.pos.instrument, o.sign, o.leaves, o.price, o.cid)
        for oid, o in sorted(led.orders.items())
    ]
    return LedgerState(
        [info.inst for _, info in sorted(led.insts.items())],
        accounts,
        orders,
        [(i, list(h)) for i, h in sorted(led.holders.items())],
        sorted(led.px.items()),
        sorted(led.marked),
        sorted(led.last.items()),
        sorted(led.reference.items()),
        sorted((b, q, m, e) for (b, q), (m, e) in led.fx.direct.items()),
        sorted((i, f[0], f[1], f[2]) for i, f in led.firm_pos.items()),
        led.firm_open,
        list(led.firm_times),
    )


def restore_ledger(led: Ledger, s: LedgerState) -> None:
    """Put ``s`` into a fresh ledger (built from the same configuration)."""
    for inst in s.instruments:
        led.insts[inst.id] = InstInfo(inst, led.cfg)
    for b, q, m, e in s.fx:
        led.fx.set(b, q, m, e)
    for ast in s.accounts:
        a = led.accounts[ast.id] = Account(ast.id, led.cfg)
        for c, bal, v in ast.cash:
            a.cash[c] = bal
            a.cash_v[c] = v
        a.cash_total, a.upnl, a.im, a.mm = ast.cash_total, ast.upnl, ast.im, ast.mm
        a.n_open, a.level = ast.n_open, ast.level
        a.times = deque(ast.times)
        for ps in ast.positions:
            p = a.positions[ps.instrument] = Position(a, ps.instrument)
            p.qty, p.cost, p.realised, p.booked, p.fees = ps.qty, ps.cost, ps.realised, ps.booked, ps.fees
            p.open_buy, p.open_sell = ps.open_buy, ps.open_sell
            p.upnl_v, p.im_v, p.mm_v = ps.upnl_v, ps.im_v, ps.mm_v
            p.packed = ps.fills
    for iid, holders in s.holders:
        led.holders[iid] = {aid: led.accounts[aid].positions[iid] for aid in holders}
    for o in s.orders:
        a = led.accounts[o.account]
        led.orders[o.order_id] = OpenOrder(
            a, a.positions[o.instrument], o.sign, o.leaves, o.price, o.client_order_id
        )
    led.px = dict(s.px)
    led.marked = set(s.marked)
    led.last = dict(s.last)
    led.reference = dict(s.reference)
    led.firm_pos = {i: [net, ob, os_] for i, net, ob, os_ in s.firm_pos}
    for a in led.accounts.values():
        for iid, p in a.positions.items():
            p.firm = led.firm_pos.setdefault(iid, [0, 0, 0])
    led.firm_open = s.firm_open
    led.firm_times = deque(s.firm_times)


def risk_state(r: Risk) -> RiskState:
    return RiskState(ledger_state(r), sorted(r.killed))


def restore_risk(r: Risk, state: Any) -> None:
    s = state if isinstance(state, RiskState) else msgspec.convert(state, RiskState)
    r.__init__(r.config)  # type: ignore[misc]
    restore_ledger(r, s.ledger)
    r.killed = set(s.killed)
