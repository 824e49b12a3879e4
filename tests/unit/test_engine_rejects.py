"""Invalid commands give OrderRejected with a reason and leave the engine's state unchanged."""

# ruff: noqa: E501  (the table of cases reads best one case per line)

from __future__ import annotations

from typing import Any

import pytest

from system.engine import (
    CancelOrder,
    ChangePhase,
    Instrument,
    ListInstrument,
    OrderRejected,
    OrderType,
    Phase,
    PriceLimits,
    RejectReason,
    ReplaceOrder,
    SetReferencePrice,
    Side,
    SubmitOrder,
    TimeInForce,
)
from system.engine.testkit import EngineHarness, instrument

X = "XTKS:7203"
B, S = Side.BUY, Side.SELL
R = RejectReason


def harness() -> EngineHarness:
    e = EngineHarness(
        instrument(
            X, lot_size=100, reference_price=1000, price_limits=PriceLimits(percent_bp=1000), max_qty=10_000
        ),
        instrument("XTKS:6758", tick_table=((0, 1), (3000, 5))),
    )
    e.submit("A", "rest", X, B, 100, price=1000)  # order 1
    e.submit("A", "gone", X, S, 100, price=1000)  # order 2 fills order 1
    e.submit("A", "open", X, B, 100, price=990)  # order 3 rests
    return e


CASES: list[tuple[str, Any, RejectReason]] = [
    ("unknown instrument", SubmitOrder("A", "n1", "XTKS:0000", B, 100, price=1000), R.UNKNOWN_INSTRUMENT),
    ("price off tick", SubmitOrder("A", "n1", "XTKS:6758", B, 1, price=3001), R.OFF_TICK),
    ("quantity off lot", SubmitOrder("A", "n1", X, B, 150, price=1000), R.OFF_LOT),
    ("zero quantity", SubmitOrder("A", "n1", X, B, 0, price=1000), R.INVALID_QTY),
    ("above max quantity", SubmitOrder("A", "n1", X, B, 20_000, price=1000), R.QTY_ABOVE_MAX),
    ("above the daily limit", SubmitOrder("A", "n1", X, B, 100, price=1101), R.OUTSIDE_PRICE_LIMITS),
    ("below the daily limit", SubmitOrder("A", "n1", X, S, 100, price=899), R.OUTSIDE_PRICE_LIMITS),
    ("limit without price", SubmitOrder("A", "n1", X, B, 100), R.INVALID_PRICE),
    ("market with price", SubmitOrder("A", "n1", X, B, 100, order_type=OrderType.MARKET, price=1000), R.INVALID_PRICE),
    ("duplicate client order id", SubmitOrder("A", "open", X, B, 100, price=990), R.DUPLICATE_CLIENT_ORDER_ID),
    ("GTD without time", SubmitOrder("A", "n1", X, B, 100, price=990, tif=TimeInForce.GTD), R.INVALID_EXPIRE_TIME),
    ("GTD in the past", SubmitOrder("A", "n1", X, B, 100, price=990, tif=TimeInForce.GTD, expire_time=5), R.INVALID_EXPIRE_TIME),
    ("iceberg display too big", SubmitOrder("A", "n1", X, B, 100, price=990, display_qty=100), R.INVALID_DISPLAY_QTY),
    ("stop without stop price", SubmitOrder("A", "n1", X, B, 100, order_type=OrderType.STOP), R.INVALID_PRICE),
    ("ATO in continuous", SubmitOrder("A", "n1", X, B, 100, price=990, tif=TimeInForce.ATO), R.WRONG_PHASE),
    ("cancel unknown order", CancelOrder("A", X, 99), R.UNKNOWN_ORDER),
    ("cancel filled order", CancelOrder("A", X, 1), R.ORDER_CLOSED),
    ("cancel unknown client id", CancelOrder("A", X, client_order_id="nope"), R.UNKNOWN_ORDER),
    ("cancel another account's order", CancelOrder("Z", X, 3), R.WRONG_ACCOUNT),
    ("replace filled order", ReplaceOrder("A", X, 2, qty=200), R.ORDER_CLOSED),
    ("replace to nothing new", ReplaceOrder("A", X, 3, qty=100), R.NO_CHANGE),
    ("replace off lot", ReplaceOrder("A", X, 3, qty=150), R.OFF_LOT),
    ("replace outside limits", ReplaceOrder("A", X, 3, price=1200), R.OUTSIDE_PRICE_LIMITS),
    ("reference price off tick", SetReferencePrice("XTKS:6758", 3002), R.OFF_TICK),
    ("list twice", ListInstrument(instrument(X)), R.DUPLICATE_INSTRUMENT),
    ("list a bad instrument", ListInstrument(Instrument("Q:1", "Q", "1", "1", "JPY", price_increment="0")), R.INVALID_INSTRUMENT),
    ("phase for unknown instrument", ChangePhase("XTKS", Phase.HALTED, instrument="XTKS:0000"), R.UNKNOWN_INSTRUMENT),
]  # fmt: skip


@pytest.mark.parametrize(("case", "command", "reason"), CASES, ids=[c[0] for c in CASES])
def test_invalid_command_is_rejected_and_changes_nothing(
    case: str, command: Any, reason: RejectReason
) -> None:
    """Each invalid command yields one OrderRejected with its reason; the state is untouched."""
    e = harness()
    before = e.engine.snapshot_state()
    events = e.do(command)
    assert len(events) == 1 and isinstance(events[0], OrderRejected), events
    assert events[0].reason is reason
    assert events[0].text
    assert e.engine.snapshot_state() == before


def test_wrong_phase_rejection_names_the_phase() -> None:
    """A closed venue's rejection says so and changes nothing."""
    e = harness()
    e.do(ChangePhase("XTKS", Phase.CLOSED))
    before = e.engine.snapshot_state()
    (r,) = e.submit("A", "late", X, B, 100, price=1000)
    assert r.reason is R.WRONG_PHASE and "closed" in r.text and r.field == "phase"
    assert e.engine.snapshot_state() == before


def test_rejection_text_names_the_bad_value() -> None:
    """Error messages name the field and value."""
    (r,) = harness().submit("A", "x", "XTKS:6758", B, 1, price=3001)
    assert (r.field, r.value) == ("price", "3001") and "3001" in r.text and "tick 5" in r.text
