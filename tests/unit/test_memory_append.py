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
