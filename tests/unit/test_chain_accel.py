"""The append loop in C (``system/eventlog/_chain.c``) writes exactly what its Python reference
(``batch._chain_py``) writes: the same entries, bodies, SQLite parameters, stream versions and
hashes, for any batch; and it fails the way the reference fails, leaving nothing behind."""

from __future__ import annotations

import tracemalloc
from array import array
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.engine.commands import CancelOrder, SubmitOrder
from system.engine.events import OrderAccepted, OrderType, Side, TimeInForce, TradeExecuted
from system.eventlog import batch, open_log, verify
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, body_encoder
from system.eventlog.store import NewEvent
from system.runtime.manifest import RunFinished
from tests.extensions import require

accel = require("system.eventlog._chain", "system/eventlog/_chain.c", openssl=True)

texts = st.text(max_size=10)
ints = st.integers(-(2**40), 2**40)

records = st.one_of(
    st.builds(RunFinished, entries=st.integers(0, 2**40), commands=st.integers(0, 2**20)),
    st.builds(
        CancelOrder, account=texts, instrument=texts, order_id=st.integers(1, 2**40), client_order_id=texts
    ),
    st.builds(
        SubmitOrder, account=texts, client_order_id=texts, instrument=st.sampled_from(["7203", "ÄÖ"]),
        side=st.sampled_from(Side), qty=st.integers(1, 10**9), order_type=st.sampled_from(OrderType),
        price=ints, tif=st.sampled_from(TimeInForce),
    ),
    st.builds(
        OrderAccepted, order_id=st.integers(1, 2**40), instrument=texts, account=texts,
        client_order_id=texts, side=st.sampled_from(Side), qty=st.integers(1, 10**9),
        order_type=st.sampled_from(OrderType), price=ints, tif=st.sampled_from(TimeInForce),
        time=ints,
    ),
).filter(lambda r: _encodable(r))  # fields left to hypothesis may hold ints msgpack cannot


def _encodable(record: object) -> bool:
    try:
        body_encoder.encode(record)
    except OverflowError:
        return False
    return True


new_events = st.builds(
    NewEvent,
    record=records,
    valid_time=ints,
    correlation_id=texts,
    causation_id=texts,
    stream=st.sampled_from([None, "a", "b", "input/book/7203", "ストリーム"]),
)

heads = st.tuples(st.integers(0, 2**40), st.binary(min_size=32, max_size=32))


def known_versions(stored: dict[str, int]) -> Any:
    return lambda s: stored.get(s, 0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(new_events, max_size=30), heads, st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 99))
)
def test_bodies_entries_and_hashes_equal_the_python_loop(
    events: list[NewEvent], head: tuple[int, bytes], stored: dict[str, int]
) -> None:
    seq, h = head
    want, bodies, versions = batch._chain_py(events, seq, h, known_versions(stored), 77)
    got = accel.chain(events, seq, h, known_versions(stored), 77, body_encoder, LoggedEvent, None, None)
    assert got[0] == want
    assert got[1] == bodies
    assert got[2] == versions
    assert got[3] == b"".join(e.hash for e in want)
    assert got[4] is None


@settings(max_examples=100, deadline=None)
@given(st.lists(new_events, max_size=30), heads, st.integers(0, 2**40))
def test_joined_bodies_and_their_ends(events: list[NewEvent], head: tuple[int, bytes], base: int) -> None:
    seq, h = head
    want, bodies, _ = batch._chain_py(events, seq, h, lambda s: 0, 5)
    logged, ends, _, hashes, block = accel.chain(
        events, seq, h, lambda s: 0, 5, body_encoder, LoggedEvent, None, base
    )
    assert logged == want
    assert block == b"".join(bodies)
    offsets = array("q", ends)
    assert [o - base for o in offsets] == [sum(map(len, bodies[: i + 1])) for i in range(len(bodies))]
    assert hashes == b"".join(e.hash for e in want)
    # The Python fallback of chain_joined gives the same five things.
    saved = batch._accel
    batch._accel = None  # type: ignore[assignment]
    try:
        assert batch.chain_joined(events, seq, h, lambda s: 0, 5, base) == (want, block, ends, _, hashes)
    finally:
        batch._accel = saved


@settings(max_examples=100, deadline=None)
@given(st.lists(new_events, max_size=30), st.dictionaries(texts, st.integers(1, 50)))
def test_sqlite_parameters_and_new_ids(events: list[NewEvent], known: dict[str, int]) -> None:
    """With ``ids``, each entry gives SQLite's eight parameters; a stream or type without an id
    gets one from the assigning function, once, in entry order."""

    def maps() -> tuple[dict[str, int], dict[str, int], Any, Any, list[str]]:
        sids, tids, made = dict(known), {}, []

        def sid_of(s: str) -> int:
            made.append("s:" + s)
            sids[s] = 100 + len(sids)
            return sids[s]

        def tid_of(t: str) -> int:
            made.append("t:" + t)
            tids[t] = len(tids)
            return tids[t]

        return sids, tids, sid_of, tid_of, made

    a, b = maps(), maps()
    want = batch._chain_py(events, 3, GENESIS_HASH, lambda s: 0, 9, ids=a[:4])
    got = accel.chain(events, 3, GENESIS_HASH, lambda s: 0, 9, body_encoder, LoggedEvent, b[:4], None)
    assert got[0] == want[0]
    assert got[1] == want[1]
    assert all(type(p) is bytearray for p in got[1][6::8] + got[1][7::8])
    assert a[0] == b[0] and a[1] == b[1] and a[4] == b[4]


def test_a_record_that_cannot_be_encoded_raises_as_the_python_loop_does() -> None:
    ok = NewEvent(RunFinished(entries=1, commands=0), 1)
    bad = NewEvent(RunFinished(entries=2**70, commands=0), 1)  # beyond msgpack's integers
    for run in (
        lambda: batch._chain_py([ok, bad], 0, GENESIS_HASH, lambda s: 0, 1),
        lambda: accel.chain([ok, bad], 0, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent, None, 0),
    ):
        with pytest.raises(OverflowError):
            run()


def test_bad_arguments_are_refused() -> None:
    ok = [NewEvent(RunFinished(entries=1, commands=0), 1)]
    with pytest.raises(ValueError, match="32 bytes"):
        accel.chain(ok, 0, b"short", lambda s: 0, 1, body_encoder, LoggedEvent, None, None)
    with pytest.raises(TypeError, match="9 arguments"):
        accel.chain(ok, 0, GENESIS_HASH)
    with pytest.raises(TypeError, match="recorded_time"):
        accel.chain(ok, 0, GENESIS_HASH, lambda s: 0, "1", body_encoder, LoggedEvent, None, None)
    with pytest.raises(TypeError, match="ids must be"):
        accel.chain(ok, 0, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent, ({}, {}), None)
    with pytest.raises(ZeroDivisionError):  # an error in the store's callback comes through
        accel.chain(ok, 0, GENESIS_HASH, lambda s: 1 // 0, 1, body_encoder, LoggedEvent, None, None)


def test_duck_typed_events_go_through_getattr() -> None:
    """An object that is not the NewEvent type the loop learnt is read by attribute."""

    class Other(msgspec.Struct):
        record: Any
        valid_time: int
        correlation_id: str = ""
        causation_id: str = ""
        stream: str | None = None

    rec = RunFinished(entries=3, commands=1)
    mixed = [NewEvent(rec, 1, "c", "d"), Other(rec, 1, "c", "d"), NewEvent(rec, 2)]
    want = batch._chain_py(mixed, 0, GENESIS_HASH, lambda s: 0, 1)  # type: ignore[arg-type]
    got = accel.chain(mixed, 0, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent, None, None)
    assert got[0] == want[0] and got[1] == want[1]


def test_no_memory_is_kept_per_call() -> None:
    """Reference counts balance: a million entries' worth of calls leaves nothing behind."""
    events = [
        NewEvent(TradeExecuted(trade_id=i, instrument="7203", price=100, qty=1, aggressor=Side.BUY,
                               buy_order_id=1, sell_order_id=2, buy_account="a", sell_account="b",
                               resting_order_id=2, aggressor_order_id=1, time=i), i, "c", "c")
        for i in range(4)
    ]  # fmt: skip
    sids: dict[str, int] = {"book/7203": 1}
    tids: dict[str, int] = {"TradeExecuted": 1}

    def run(n: int) -> None:
        for i in range(n):
            accel.chain(events, i, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent, None, i)
            accel.chain(events, i, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent, None, None)
            accel.chain(
                events, i, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent,
                (sids, tids, len, len), None,
            )  # fmt: skip

    run(2_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(20_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20_000, f"{grown} bytes kept by 60,000 calls"


def test_the_logs_are_the_same_with_and_without_the_extension(tmp_path: Any) -> None:
    """Memory and SQLite logs written through the Python loop end on the C loop's head."""
    events = [
        NewEvent(RunFinished(entries=i, commands=i % 7), i, f"c{i % 3}", "x", ["a", None, "b"][i % 3])
        for i in range(500)
    ]
    heads = []
    for accelerated in (True, False):
        saved = batch._accel
        if not accelerated:
            batch._accel = None  # type: ignore[assignment]
        try:
            for url in ("memory://", str(tmp_path / f"{accelerated}.db")):
                store = open_log(url, FixedClock(1))
                for i in range(0, 500, 7):
                    store.append(events[i : i + 7])
                heads.append(store.head())
                assert verify(store).ok
                store.close()
        finally:
            batch._accel = saved
    assert len(set(heads)) == 1


def test_a_records_name_and_version_are_read_from_its_class_each_time() -> None:
    """The loop keeps no copy of a record type's constants: what the class says now is written
    (as the Python loop does)."""
    from typing import ClassVar

    from system.eventlog.records import Event

    class ChainProbe(Event, frozen=True):
        n: int
        version: ClassVar[int] = 1

        def stream(self) -> str:
            return "probe"

    ne = [NewEvent(ChainProbe(n=1), 1)]

    def both() -> list[int]:
        py = batch._chain_py(ne, 0, GENESIS_HASH, lambda s: 0, 1)[0]
        c = accel.chain(ne, 0, GENESIS_HASH, lambda s: 0, 1, body_encoder, LoggedEvent, None, None)[0]
        assert c == py
        return [e.schema_version for e in c]

    assert both() == [1]
    ChainProbe.version = 2
    assert both() == [2]
