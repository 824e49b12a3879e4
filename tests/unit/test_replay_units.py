"""Units of the replayer: rebasing keeps local wall times across DST, what-if overrides address
the configuration, the ledger folds busts and corrections exactly, a lazily restored client-id
index is the dict it stands for."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.replay import ReplayError, override, shift
from sim.replay.ledger import Ledger
from sim.replay.state import ClientIds, id_columns
from sim.replay.synthetic import day_config
from system.clock import from_datetime, to_datetime
from system.corrections import TradeBusted, TradeCorrected
from system.engine import Side, TradeExecuted

NY = ZoneInfo("America/New_York")


def test_rebase_shift_keeps_local_time_across_a_dst_change() -> None:
    """10:31:07.25 New York in January is 10:31:07.25 New York in July (a different UTC hour)."""
    t = from_datetime(datetime(2027, 1, 6, 10, 31, 7, 250000, tzinfo=NY)) + 17
    moved = shift(t, NY, date(2027, 1, 6), date(2031, 7, 1))
    local = to_datetime(moved, NY)
    assert (local.date(), local.time().isoformat()) == (date(2031, 7, 1), "10:31:07.250000")
    assert moved % 1000 == 17
    assert to_datetime(t).hour != to_datetime(moved).hour


@given(st.integers(0, 3 * 86_400 * 10**9 - 1))
def test_rebase_shift_keeps_day_offsets(off: int) -> None:
    """An instant k local days after the base lands k days after the new date, at the same local time."""
    tokyo = ZoneInfo("Asia/Tokyo")
    base = from_datetime(datetime(2027, 1, 6, tzinfo=tokyo))
    t = base + off
    moved = to_datetime(shift(t, tokyo, date(2027, 1, 6), date(2031, 12, 30)), tokyo)
    orig = to_datetime(t, tokyo)
    assert (moved.date() - date(2031, 12, 30)) == (orig.date() - date(2027, 1, 6))
    assert moved.time() == orig.time()


def test_override_sets_fields_by_instrument_id_and_new_tables() -> None:
    """--set addresses instruments by id and creates tables for engines configured as plain data;
    a number given for a risk amount (a decimal string in its schema) is kept as the text typed."""
    cfg = override(
        day_config(), ["instruments.XTKS:7203.max_qty=500", "risk.accounts.ACC-1.max_order_qty=700"]
    )
    assert cfg.instruments[0].max_qty == 500 and cfg.instruments[1].max_qty == 0
    assert cfg.risk == {"accounts": {"ACC-1": {"max_order_qty": "700"}}}


@pytest.mark.parametrize(
    "bad", ["nothing", "instruments.XTKS:9999.max_qty=1", "instruments.XTKS:7203.max_qty=big"]
)
def test_override_errors_name_the_setting(bad: str) -> None:
    """A malformed or impossible --set is refused with the setting in the message."""
    with pytest.raises(ReplayError):
        override(day_config(), [bad])


def _trade(tid: int, price: int, qty: int) -> TradeExecuted:
    return TradeExecuted(tid, "X:1", price, qty, Side.BUY, 1, 2, "B", "S", 2, 1, 100 + tid)


def test_ledger_bust_and_correction_restore_positions_and_marks() -> None:
    """A bust takes the trade back and its mark with it; a correction swaps old for new."""
    led = Ledger()
    fold = led.appliers()
    for ev in (_trade(1, 100, 5), _trade(2, 110, 3)):
        for fn in fold[type(ev)]:
            fn(ev)
    assert led.positions[("B", "X:1")] == [8, 830] and led.mark("X:1").price == 110  # type: ignore[union-attr]
    for fn in fold[TradeBusted]:
        fn(TradeBusted(2, "X:1", 110, 3, "B", "S", 102, "x"))
    assert led.positions[("B", "X:1")] == [5, 500] and led.mark("X:1").price == 100  # type: ignore[union-attr]
    for fn in fold[TradeCorrected]:
        fn(TradeCorrected(1, "X:1", 100, 5, 99, 4, "B", "S", 101, "x"))
    assert led.positions[("S", "X:1")] == [-4, -396] and led.mark("X:1").price == 99  # type: ignore[union-attr]
    again = Ledger()
    again.restore_state(msgspec.msgpack.decode(msgspec.msgpack.encode(led.snapshot_state())))
    assert again.snapshot_state() == led.snapshot_state()


_cids = st.sampled_from([f"o{i}" for i in range(12)])


@given(
    st.dictionaries(_cids, st.integers(0, 99)),
    st.lists(st.tuples(st.sampled_from(["set", "read"]), _cids, st.integers(100, 199)), max_size=12),
)
def test_lazy_client_ids_behave_as_the_dict_they_stand_for(
    base: dict[str, int], ops: list[tuple[str, str, int]]
) -> None:
    """Adds before and after the first read give the same contents and order as a plain dict."""
    lazy = ClientIds(id_columns(base))
    plain = dict(base)
    for op, cid, oid in ops:
        if op == "set":
            lazy[cid] = oid
            plain[cid] = oid
        else:
            assert lazy.get(cid) == plain.get(cid) and (cid in lazy) == (cid in plain)
    assert list(lazy.items()) == list(plain.items()) and len(lazy) == len(plain)
    assert lazy == plain and dict(lazy) == plain
