"""The memory store's fused append writes exactly what the shared ``chain()`` writes (the code
every other backend appends through), however the entries are split into batches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import open_log, verify
from system.eventlog.batch import chain
from system.eventlog.codec import GENESIS_HASH
from system.eventlog.store import NewEvent
from system.runtime.manifest import RunFinished

entries = st.lists(
    st.tuples(
        st.sampled_from([None, "a", "b", "input/book/X"]),  # None: the record's own stream ("run")
        st.integers(0, 2**40),
        st.integers(-(2**33), 2**33),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=40,
)


def new_event(stream: str | None, entries_: int, valid_time: int, corr: str) -> NewEvent:
    return NewEvent(RunFinished(entries=entries_, commands=len(corr)), valid_time, corr, corr[::-1], stream)


@settings(max_examples=60, deadline=None)
@given(entries, st.lists(st.integers(1, 7), min_size=1, max_size=40))
def test_batches_give_the_bytes_of_one_chain(items: list[tuple[object, ...]], cuts: list[int]) -> None:
    """Appended in any batches, the stored bodies, hashes, stream versions and returned entries
    equal one ``chain()`` over the whole sequence."""
    events = [new_event(*it) for it in items]  # type: ignore[arg-type]
    clock = FixedClock(5_000)
    store = open_log("memory://", clock)
    got = []
    i = 0
    for n in cuts * len(events):
        if i >= len(events):
            break
        got += store.append(events[i : i + n])
        i += n
    want, bodies, versions = chain(events, 0, GENESIS_HASH, lambda s: 0, 5_000)
    assert got == want
    assert [r.body for r in store.read_raw(1)] == bodies
    assert store.head().hash == want[-1].hash
    for stream, v in versions.items():
        assert store.stream_version(stream) == v
    assert list(store.read(1)) == want


def test_a_record_that_cannot_be_encoded_stores_nothing() -> None:
    """A batch whose later record fails to encode leaves the store as it was (I3)."""
    clock = FixedClock(5_000)
    store = open_log("memory://", clock)
    store.append([new_event("a", 1, 1, "x")])
    head = store.head()
    bad = NewEvent(RunFinished(entries=2**70, commands=0), 1)  # beyond msgpack's integers
    with pytest.raises(OverflowError):
        store.append([new_event("a", 2, 1, "y"), bad])
    assert store.head() == head
    assert store.stream_version("a") == 1
    assert [e.seq for e in store.read(1)] == [1]
    assert store.append([new_event("a", 3, 1, "z")])[0].seq == 2
    assert verify(store).ok


@settings(max_examples=30, deadline=None)
@given(entries, st.lists(st.integers(1, 7), min_size=1, max_size=40), st.integers(1, 600))
def test_compressed_chunks_read_back_the_bytes_appended(
    items: list[tuple[object, ...]], cuts: list[int], chunk: int
) -> None:
    """With any chunk size, whatever has been compressed, reads, raw reads, replay and verify
    give exactly the uncompressed store's entries, and the head is unchanged."""
    import system.eventlog.memory as memory

    events = [new_event(*it) for it in items]  # type: ignore[arg-type]
    plain = open_log("memory://", FixedClock(5_000))
    plain.append(events)
    old = memory.CHUNK
    memory.CHUNK = chunk
    try:
        store = memory.MemoryEventStore(FixedClock(5_000))
        i = 0
        for n in cuts * len(events):
            if i >= len(events):
                break
            store.append(events[i : i + n])
            i += n
            assert list(store.read(max(1, i - 3))) == list(plain.read(max(1, i - 3), i))
        store.settle()
    finally:
        memory.CHUNK = old
    assert list(store.read(1)) == list(plain.read(1))
    assert list(store.read_raw(1)) == list(plain.read_raw(1))
    assert list(store.replay(1)) == list(plain.replay(1))
    assert store.head() == plain.head()
    assert verify(store).ok
    if sum(len(r.body) for r in plain.read_raw(1)) > chunk:
        assert any(not isinstance(b, bytes) for b in store._blocks)  # something was compressed
    store.close()


def test_a_store_dropped_without_close_frees_its_bodies_and_its_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import threading
    import time
    import weakref

    import system.eventlog.memory as memory

    monkeypatch.setattr(memory, "CHUNK", 1000)
    store = memory.MemoryEventStore(FixedClock(1))
    for i in range(200):
        store.append([new_event(None, i, i, "c")])
    store.settle()
    assert any(t.name == "chronex-memlog-zstd" for t in threading.enumerate())
    ref = weakref.ref(store)
    del store
    gc.collect()
    assert ref() is None
    for _ in range(100):  # the thread ends once the finalizer has told it
        if not any(t.name == "chronex-memlog-zstd" for t in threading.enumerate()):
            break
        time.sleep(0.01)
    assert not any(t.name == "chronex-memlog-zstd" for t in threading.enumerate())
