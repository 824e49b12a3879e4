"""The FIX order mapping both ways: any engine order the BDD fix driver encodes as a
NewOrderSingle decodes in the gateway to the very same SubmitOrder, and every engine reject
reason has an OrdRejReason and a CxlRejReason."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from steps.drivers.fix import FixDriver
from steps.instruments import default_instrument
from system.engine import OrderType, RejectReason, SelfTradePrevention, Side, SubmitOrder, TimeInForce
from system.gateways.fix import FixMessage
from system.gateways.fix.mapping import cxl_rej_reason, ord_rej_reason
from system.gateways.fix.orders import OrderEntry

INSTS = {i.id: i for i in (default_instrument("XTKS:7203"), default_instrument("CRYPTO:BTC/JPY"))}


def _gateway() -> OrderEntry:
    app = OrderEntry.__new__(OrderEntry)
    app._instruments = dict(INSTS)
    return app


def _session() -> Any:
    return SimpleNamespace(settings=SimpleNamespace(accounts=("*",), target_comp_id="QA"))


orders = st.builds(
    SubmitOrder,
    account=st.sampled_from(["alice", "bob-2"]),
    client_order_id=st.text("abcdefgh0123456789-", min_size=1, max_size=12),
    instrument=st.sampled_from(sorted(INSTS)),
    side=st.sampled_from(list(Side)),
    qty=st.integers(-5, 10**9),
    order_type=st.sampled_from(list(OrderType)),
    price=st.none() | st.integers(-5, 10**9),
    stop_price=st.none() | st.integers(1, 10**9),
    tif=st.sampled_from(list(TimeInForce)),
    expire_time=st.none() | st.integers(1_800_000_000 * 10**9, 2_000_000_000 * 10**9),
    post_only=st.booleans(),
    display_qty=st.integers(0, 10**6),
    stp=st.sampled_from(list(SelfTradePrevention)),
    cross_currency=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(cmd=orders)
def test_every_order_survives_the_trip_through_fix(cmd: SubmitOrder) -> None:
    """Types, time in force, STP, iceberg, stop, post-only, GTD and cross-currency all map back."""
    drv = FixDriver()
    drv._instruments = dict(INSTS)
    encoded = drv._fix_message(cmd)
    assert encoded is not None
    msg_type, _, _, body = encoded
    msg = FixMessage.of([(35, msg_type), *body])
    assert _gateway().decode_new_order(msg, _session()) == cmd


def test_every_reject_reason_has_fix_codes() -> None:
    """No engine reason falls outside the FIX code lists the dictionary accepts."""
    ord_codes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 99}
    cxl_codes = {0, 1, 2, 3, 4, 5, 6, 99}
    for r in RejectReason:
        assert ord_rej_reason(r) in ord_codes
        assert cxl_rej_reason(r) in cxl_codes
    assert ord_rej_reason(RejectReason.OFF_TICK) == 18
    assert ord_rej_reason(RejectReason.RISK_MAX_NOTIONAL) == 3
    assert cxl_rej_reason(RejectReason.UNKNOWN_ORDER) == 1
