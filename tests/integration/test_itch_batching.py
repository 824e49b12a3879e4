"""The ITCH stream is a function of the log, not of how the log reached the encoder: a server's
encoder gets the log in batches (the catch-up reads 1,000 entries at a time, live delivery one
append at a time), and a batch may end inside an aggressor's sweep. The aggressor must not be
shown then: a subscriber would see a crossed book and executions against an order that never
rested."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.markets import simulated_day
from system.clock import NS_PER_SECOND
from system.engine.events import TradeExecuted
from system.eventlog.codec import LoggedEvent
from system.gateways.itch import FeedBook, ItchEncoder
from system.gateways.itch.gateway import _Follower
from system.server.subscription import Subscription


@pytest.fixture(scope="module")
def morning() -> Iterator[tuple[Any, list[LoggedEvent]]]:
    d = simulated_day("XTKS", date(2027, 1, 4), instruments=["7203", "6758"], seed=23)
    d.end_ns = d.start_ns + 64 * 60 * NS_PER_SECOND  # pre-open, the opening auction, 4 minutes after
    d.run()
    d.world.runtime.flush()
    yield d, list(d.world.store.read(1))
    d.close()


@pytest.fixture(scope="module")
def whole(morning) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The stream of the whole log handed over in one batch."""
    day, events = morning
    return _encode(day, events, []).messages


def _aggressor(rec: TradeExecuted) -> int:
    return rec.buy_order_id if rec.resting_order_id == rec.sell_order_id else rec.sell_order_id


def _sweeps(events: Sequence[LoggedEvent]) -> list[int]:
    """Indexes of the entries at which a continuous-trading aggressor's fills continue (a batch
    that ends just before one cuts a sweep)."""
    out, last = [], None
    for i, ev in enumerate(events):
        rec = ev.record
        if type(rec) is TradeExecuted and rec.aggressor is not None:
            agg = _aggressor(rec)
            if agg == last:
                out.append(i)
            last = agg
        elif ev.type != "TradeExecuted":
            last = None
    return out


def _encode(day: Any, events: Sequence[LoggedEvent], cuts: Sequence[int]) -> ItchEncoder:
    enc = ItchEncoder(day.session.tz, day.profile.ids)
    bounds = [0, *sorted(set(cuts)), len(events)]
    for a, b in pairwise(bounds):
        if b > a:
            enc.handle_batch(events[a:b])
    enc.finish()
    return enc


def test_the_workload_cuts_sweeps(morning) -> None:  # type: ignore[no-untyped-def]
    """The morning has aggressors filled against several resting orders (else the tests below
    prove nothing)."""
    _, events = morning
    assert len(_sweeps(events)) >= 20


def test_a_batch_ending_inside_every_sweep_changes_no_byte(morning, whole) -> None:  # type: ignore[no-untyped-def]
    """Batches cut just before every continued fill give the stream of the whole log at once."""
    day, events = morning
    assert _encode(day, events, _sweeps(events)).messages == whole


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_batching_gives_the_same_stream(morning, whole, data) -> None:  # type: ignore[no-untyped-def]
    """Wherever the batches end (drawn at random, sweeps favoured), the stream is the same."""
    day, events = morning
    sweeps = _sweeps(events)
    cuts = data.draw(
        st.lists(st.sampled_from(sweeps) | st.integers(0, len(events)), min_size=1, max_size=40),
        label="cuts",
    )
    assert _encode(day, events, cuts).messages == whole


def test_the_served_follower_never_shows_a_crossed_book(morning, whole) -> None:  # type: ignore[no-untyped-def]
    """Through the server's subscription seam, a batch of one entry at a time: after every batch
    the subscriber's book of each instrument in continuous trading is uncrossed, and the stream
    is the whole log's."""
    day, _ = morning
    enc = ItchEncoder(day.session.tz, day.profile.ids)
    book = FeedBook()
    told = [0]
    crossed: Counter[str] = Counter()
    symbols = {i.id: i.symbol for i in day.world.config.instruments}

    def on_batch(_last: bytes) -> None:
        for msg in enc.messages[told[0] :]:
            book.apply(msg)
        told[0] = len(enc.messages)
        for iid, sym in symbols.items():
            b = enc.state.books.get(iid)
            if b is None or b.phase.name != "CONTINUOUS":
                continue
            bids, asks = book.book(sym)
            if bids and asks and bids[0][0] >= asks[0][0]:
                crossed[iid] += 1

    enc.listen(on_batch)
    Subscription(day.world.store, _Follower(enc), max_batch=1).poll()
    enc.finish()
    assert not crossed
    assert enc.messages == whole
