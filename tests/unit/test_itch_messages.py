"""ITCH 5.0 message layouts, timestamps and stock locates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.clock import from_datetime
from system.gateways.itch import BadMessage, ItchEncoder, decode, locates_for
from system.gateways.itch import messages as m

# Message lengths in the published specification (type byte included).
SPEC_SIZES = {"S": 12, "R": 39, "H": 25, "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19,
              "U": 35, "P": 44, "Q": 40, "I": 50}  # fmt: skip

ts = st.integers(0, 86_400 * 10**9 - 1)
u16, u32, u64 = st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)
stock = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)


def test_every_message_has_the_specified_length() -> None:
    """Each layout has the length the ITCH 5.0 specification gives it."""
    assert {t.decode(): n for t, n in m.SIZES.items()} == SPEC_SIZES


@given(loc=u16, t=ts, ref=u64, side=st.sampled_from([b"B", b"S"]), shares=u32, sym=stock, px=u32)
def test_add_order_round_trips(
    loc: int, t: int, ref: int, side: bytes, shares: int, sym: str, px: int
) -> None:
    """An Add Order decodes to the fields it was made from, the 6-byte timestamp included."""
    msg = m.add_order(loc, t, ref, side, shares, m.stock8(sym), px)
    assert decode(msg) == ("A", loc, 0, t, ref, side, shares, sym.ljust(8).encode(), px)


@given(loc=u16, t=ts, old=u64, new=u64, shares=u32, px=u32, match=u64)
def test_replace_and_execute_round_trip(
    loc: int, t: int, old: int, new: int, shares: int, px: int, match: int
) -> None:
    """Replace, Executed and Executed With Price carry every field through."""
    assert decode(m.replace(loc, t, old, new, shares, px))[4:] == (old, new, shares, px)
    assert decode(m.executed(loc, t, old, shares, match))[4:] == (old, shares, match)
    assert decode(m.executed_price(loc, t, old, shares, match, b"N", px))[4:] == (
        old,
        shares,
        match,
        b"N",
        px,
    )


def test_bad_messages_are_refused_with_the_reason() -> None:
    """An unknown type or a wrong length is a BadMessage naming it."""
    with pytest.raises(BadMessage, match="unknown ITCH message type"):
        decode(b"Z" + bytes(10))
    with pytest.raises(BadMessage, match="expected 36"):
        decode(m.add_order(1, 0, 1, b"B", 1, m.stock8("7203"), 1)[:-1])
    assert decode(m.end_of_snapshot(1234)) == ("G", 0, 0, 0, 1234)


def test_timestamps_are_ns_since_local_midnight() -> None:
    """09:00:00.000000123 in Tokyo is 9 hours and 123 ns after Tokyo's midnight."""
    enc = ItchEncoder("Asia/Tokyo")
    t = from_datetime(datetime(2027, 1, 4, 0, 0, tzinfo=UTC)) + 123  # 09:00 JST
    assert enc.since_midnight(t) == 9 * 3600 * 10**9 + 123
    ny = ItchEncoder("America/New_York")  # a DST day: midnight was EDT, 09:30 is still EDT
    t2 = from_datetime(datetime(2027, 3, 15, 13, 30, tzinfo=UTC))
    assert ny.since_midnight(t2) == (9 * 3600 + 1800) * 10**9


def test_locates_follow_the_reference_data_not_the_listing_order() -> None:
    """Locates are 1.. in instrument-id order, whatever order the ids come in."""
    assert locates_for(["XTKS:7203", "XTKS:6758", "XTKS:9984"]) == {
        "XTKS:6758": 1,
        "XTKS:7203": 2,
        "XTKS:9984": 3,
    }
    assert locates_for(["XTKS:9984", "XTKS:7203", "XTKS:6758"]) == locates_for(
        ["XTKS:6758", "XTKS:9984", "XTKS:7203"]
    )
