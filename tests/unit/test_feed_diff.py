"""``chronex diff --production`` on the ITCH feed: a captured feed beside the one today's engine
publishes for the same orders, message by message, with timing windows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from steps.drivers.base import Setup
from steps.drivers.inprocess import InProcessDriver
from system.engine import CancelOrder, ListInstrument, Side, SubmitOrder
from system.engine.testkit import instrument
from system.eventlog.codec import LoggedEvent
from system.gateways.itch import messages as m
from system.ingest import ItchObserved
from system.ingest.compare import compare_feed, engine_feed

T0 = 1_798_934_400_000_000_000  # 2027-01-04 00:00 UTC
TZ = "Asia/Tokyo"
MS = 1_000_000


def day() -> list[LoggedEvent]:
    """A small engine day: a buy rests, a sell fills part of it, the rest is cancelled."""
    inst = instrument()
    d = InProcessDriver()
    d.start(Setup(start_ns=T0, instruments=[], venues=[], log=None))
    try:
        d.execute(ListInstrument(inst))
        d.advance(MS)
        d.execute(SubmitOrder("alice", "b1", inst.id, Side.BUY, 300, price=25000))
        d.advance(MS)
        d.execute(SubmitOrder("bob", "s1", inst.id, Side.SELL, 100, price=25000))
        d.advance(MS)
        d.execute(CancelOrder(account="alice", instrument=inst.id, order_id=1))
        return d.events()
    finally:
        d.close()


def captured(events: list[LoggedEvent], latency_ns: int = 0) -> list[LoggedEvent]:
    """The feed those events publish, as ``chronex ingest`` keeps a capture of it: ItchObserved
    entries, each seen ``latency_ns`` after the entry that made it."""
    proto = events[0]
    out = []
    for i, (msg, t) in enumerate(engine_feed(events, TZ)):
        rec = ItchObserved("soup", "1", i + 1, msg[:1].decode(), msg.hex(), f"day.pcap frame {i}")
        out.append(replace(proto, seq=i + 1, valid_time=t + latency_ns, record=rec))
    return out


def test_the_feed_of_the_same_orders_has_no_difference() -> None:
    """The engine's own feed, captured, compares equal, with or without a timing window."""
    events = day()
    prod = captured(events, latency_ns=2 * MS)
    kinds = [msg[:1] for msg, _ in engine_feed(events, TZ)]
    assert b"A" in kinds and b"E" in kinds and b"D" in kinds  # an add, a fill, a delete
    assert compare_feed(prod, events, TZ, None) == []
    assert compare_feed(prod, events, TZ, 2 * MS) == []


def test_a_late_message_is_a_timing_difference_beyond_the_window() -> None:
    """Captured 2 ms after its order, every message is a timing difference under a 1 ms window,
    each naming its delay, and none is a content difference."""
    events = day()
    diffs = compare_feed(captured(events, latency_ns=2 * MS), events, TZ, MS)
    assert diffs and {d.kind for d in diffs} == {"timing"}
    assert {d.delta_ns for d in diffs} == {2 * MS}
    assert [d.seq for d in diffs] == list(range(1, len(diffs) + 1))


def test_a_different_message_is_named_by_its_seq_and_both_sides() -> None:
    """A fill production published for fewer shares is a content difference at its seq, with
    both messages as text (symbol, not locate); a seq the capture missed is not compared."""
    events = day()
    prod = captured(events)
    feed = engine_feed(events, TZ)
    at = next(i for i, (msg, _) in enumerate(feed) if msg[:1] == b"E")
    _, locate, _, ts, ref, shares, match = m.decode(feed[at][0])
    wrong = m.executed(locate, ts, ref, shares - 100 if shares > 100 else shares + 100, match)
    rec = replace(prod[at].record, raw=wrong.hex())
    prod[at] = replace(prod[at], record=rec)
    del prod[at - 1]  # a dropped datagram: not a difference by itself
    (d,) = compare_feed(prod, events, TZ, None)
    assert (d.kind, d.seq, d.feed) == ("content", at + 1, "soup/1")
    assert d.production is not None and d.engine is not None
    assert d.production.startswith("E 7203 ") and d.engine.startswith("E 7203 ")
    assert f"shares={shares}" in d.engine and f"shares={shares}" not in d.production


def test_what_one_side_lacks() -> None:
    """Messages past the engine's feed are missing from it; the engine's past the capture's end
    (before its End of Messages) are extra."""
    events = day()
    prod = captured(events)
    feed_len = len(prod)
    extra = replace(prod[-1], seq=feed_len + 1, record=replace(prod[-1].record, seq=feed_len + 1))
    diffs = compare_feed([*prod, extra], events, TZ, None)
    assert [(d.kind, d.seq) for d in diffs] == [("missing", feed_len + 1)]
    short = compare_feed(prod[:3], events, TZ, None)
    assert [d.kind for d in short] == ["extra"] * (feed_len - 3 - 1)  # all but the closing S
    assert all(d.production is None and d.engine for d in short)


@settings(max_examples=25, deadline=None)
@given(latency=st.integers(0, 50 * MS), window=st.integers(0, 50 * MS))
def test_timing_differences_are_exactly_those_beyond_the_window(latency: int, window: int) -> None:
    """For any latency and window, a message is a timing difference iff its latency exceeds the
    window, and the content never differs."""
    events = EVENTS
    diffs = compare_feed(captured(events, latency), events, TZ, window)
    assert all(d.kind == "timing" and d.delta_ns == latency for d in diffs)
    assert bool(diffs) == (latency > window)


EVENTS = day()


@pytest.mark.parametrize("window", [None, 0])
def test_no_capture_no_feed_rows(window: int | None) -> None:
    """A log without a captured feed compares to nothing, whatever the window."""
    assert compare_feed(day(), day(), TZ, window) == []
