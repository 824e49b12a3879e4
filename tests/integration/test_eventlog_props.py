"""Properties of the event log: optimistic concurrency under contention, reading up to a valid
time, and upcasting old schema versions."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import (
    ANY,
    Event,
    EventStore,
    NewEvent,
    UnknownRecordType,
    WrongExpectedVersion,
    open_log,
    register_upcaster,
    verify,
)
from system.eventlog.lock import WriterLock


class PropTick(Event, frozen=True):
    account: str
    n: int

    def stream(self) -> str:
        return f"account/{self.account}"


_BASE: list[Path] = []


@pytest.fixture(autouse=True, scope="module")
def _scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    _BASE[:] = [tmp_path_factory.mktemp("props")]


_counter = iter(range(10**9))


def fresh_path() -> Path:
    return _BASE[0] / f"log{next(_counter)}.db"


# -- optimistic concurrency ---------------------------------------------------------------------
ops = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from("AB"), st.sampled_from([0, 0, 0, -1, 1, 2])),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_stale_expected_versions_across_two_store_objects(script: list[tuple[int, str, int]]) -> None:
    """Two store objects on one SQLite file, under the writer lock of the run that opened both: a
    stale expected version raises and writes nothing."""
    path = fresh_path()
    run = WriterLock(path).acquire()
    stores = [open_log(path, FixedClock(1)), open_log(path, FixedClock(2))]
    model = {"A": 0, "B": 0}
    written = 0
    for who, acc, off in script:
        stream = f"account/{acc}"
        want = model[acc] + off
        if off == 0 or want == ANY:  # -1 happens to mean "do not check"
            stores[who].append([NewEvent(PropTick(acc, written), 0)], expected={stream: want})
            model[acc] += 1
            written += 1
        else:
            with pytest.raises(WrongExpectedVersion):
                stores[who].append([NewEvent(PropTick(acc, -1), 0)], expected={stream: want})
        for s in stores:
            assert s.head().seq == written
            assert s.stream_version(stream) == model[acc]
    assert all(e.record.n >= 0 for e in stores[0].read())  # type: ignore[attr-defined]
    assert verify(stores[1]).ok
    for s in stores:
        s.close()
    run.release()


@pytest.mark.parametrize("backend", ["memory", "sqlite-shared", "sqlite-per-thread"])
def test_racing_threads_never_write_on_a_stale_version(backend: str) -> None:
    """Threads that read a version then append expecting it: losers raise, winners are gapless
    (per-thread stores share the writer lock of the run that started the threads)."""
    path = fresh_path()
    run = WriterLock(path).acquire()
    shared: EventStore = open_log("memory://" if backend == "memory" else path, FixedClock(1))
    per_thread = backend == "sqlite-per-thread"
    wins: list[int] = []
    losses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(tid: int) -> None:
        store = open_log(path, FixedClock(1)) if per_thread else shared
        start.wait()
        for i in range(40):
            v = store.stream_version("account/X")
            try:
                store.append([NewEvent(PropTick("X", tid * 1000 + i), 0)], expected={"account/X": v})
                with lock:
                    wins.append(tid)
            except WrongExpectedVersion:
                with lock:
                    losses.append(tid)
        if per_thread:
            store.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) + len(losses) == 160
    assert shared.head().seq == len(wins) == shared.stream_version("account/X")
    assert [e.stream_version for e in shared.read_stream("account/X")] == list(range(1, len(wins) + 1))
    assert verify(shared).ok
    shared.close()
    run.release()


def test_any_skips_the_check_and_no_stream_requires_absence() -> None:
    """ANY never conflicts; NO_STREAM (0) conflicts once the stream exists."""
    s = open_log("memory://", FixedClock())
    s.append([NewEvent(PropTick("A", 1), 0)], expected={"account/A": 0})
    with pytest.raises(WrongExpectedVersion):
        s.append([NewEvent(PropTick("A", 2), 0)], expected={"account/A": 0})
    s.append([NewEvent(PropTick("A", 3), 0)], expected={"account/A": ANY})
    assert s.stream_version("account/A") == 2


# -- reading up to a valid time -----------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 50), min_size=1, max_size=6), min_size=1, max_size=8),
    st.integers(-1, 52),
    st.integers(1, 10),
    st.sampled_from(["memory", "sqlite"]),
)
def test_read_until_returns_exactly_the_entries_up_to_t(
    batches: list[list[int]], t: int, from_seq: int, backend: str
) -> None:
    """read_until(t) returns exactly the entries whose valid_time <= t, in seq order."""
    s = open_log("memory://" if backend == "memory" else fresh_path(), FixedClock(99))
    times = [vt for b in batches for vt in b]
    n = 0
    for b in batches:
        s.append([NewEvent(PropTick("A", n + i), vt) for i, vt in enumerate(b)])
        n += len(b)
    want = [i + 1 for i, vt in enumerate(times) if vt <= t]
    assert [e.seq for e in s.read_until(t)] == want
    assert [e.seq for e in s.read_until(t, from_seq)] == [q for q in want if q >= from_seq]
    assert all(e.valid_time <= t for e in s.read_until(t))
    s.close()


# -- upcasting ----------------------------------------------------------------------------------
def _order_class(version: int) -> type[Event]:
    """The same record name as the code of two releases defines it."""
    if version == 1:

        class UpcastOrder(Event, frozen=True):
            price_text: str
            qty: int
            version: ClassVar[int] = 1

            def stream(self) -> str:
                return "orders"

    else:

        class UpcastOrder(Event, frozen=True):  # type: ignore[no-redef]
            price_ticks: int
            qty: int
            venue: str
            version: ClassVar[int] = 2

            def stream(self) -> str:
                return "orders"

    return UpcastOrder


def test_upcasting_an_old_schema_version(tmp_path: Path) -> None:
    """A log written with schema v1 reads back as v2 through the registered upcaster, and verifies."""
    v1 = _order_class(1)
    path = tmp_path / "old.db"
    with open_log(path, FixedClock(1)) as s:
        s.append([NewEvent(v1(price_text="101.5", qty=3), 5)])  # type: ignore[call-arg]
    v2 = _order_class(2)

    def up(d: dict[str, Any]) -> dict[str, Any]:
        return {"price_ticks": round(float(d["price_text"]) * 10), "qty": d["qty"], "venue": "XTKS"}

    with open_log(path, FixedClock(1), create=False) as s:
        with pytest.raises(UnknownRecordType, match="no upcaster for UpcastOrder v1 -> v2"):
            list(s.read())
        register_upcaster("UpcastOrder", 1, up)
        (ev,) = list(s.read())
        assert ev.schema_version == 1
        assert ev.record == v2(price_ticks=1015, qty=3, venue="XTKS")  # type: ignore[call-arg]
        assert verify(s).ok
        # New entries are written at the current version, beside the old one.
        s.append([NewEvent(v2(price_ticks=1, qty=1, venue="XOSE"), 6)])  # type: ignore[call-arg]
        assert [e.schema_version for e in s.read()] == [1, 2]


def test_a_newer_schema_than_the_code_is_refused(tmp_path: Path) -> None:
    """An entry written by newer code names its version instead of decoding wrongly."""
    v2 = _order_class(2)
    path = tmp_path / "new.db"
    with open_log(path, FixedClock(1)) as s:
        s.append([NewEvent(v2(price_ticks=1, qty=1, venue="X"), 5)])  # type: ignore[call-arg]
    _order_class(1)
    try:
        with (
            open_log(path, FixedClock(1), create=False) as s,
            pytest.raises(UnknownRecordType, match="v2 is newer than this code knows"),
        ):
            list(s.read())
    finally:
        _order_class(2)
