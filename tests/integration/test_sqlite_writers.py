"""The SQLite store's cached head: a store that holds the writer lock alone trusts its cache
between appends; stores sharing a run's lock re-read it, so neither forks the chain."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import open_log, verify
from system.eventlog.lock import WriterLock
from system.eventlog.store import NewEvent
from system.runtime.manifest import RunFinished


def batch(n: int, t: int) -> list[NewEvent]:
    return [NewEvent(RunFinished(entries=i, commands=t), t) for i in range(n)]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 4)), min_size=1, max_size=12))
def test_two_stores_under_one_run_lock_keep_one_chain(
    tmp_path_factory: object, plan: list[tuple[bool, int]]
) -> None:
    """Appends alternating between two stores covered by one run's lock stay gapless and chained:
    each store sees the other's commits before it numbers its own."""
    path = Path(tmp_path_factory.mktemp("w")) / "log.db"  # type: ignore[attr-defined]
    clock = FixedClock(1_000)
    with WriterLock(path):
        a, b = open_log(path, clock), open_log(path, clock)
        total = 0
        for use_b, n in plan:
            got = (b if use_b else a).append(batch(n, total))
            assert [e.seq for e in got] == list(range(total + 1, total + n + 1))
            total += n
        verdict = verify(a)
        assert verdict.ok and verdict.count == total
        a.close()
        b.close()


def test_a_sole_writer_reopened_continues_its_chain(tmp_path: Path) -> None:
    """A store that holds the writer lock alone, closed and reopened, appends after the head it
    left (its cache starts empty), and the whole chain verifies."""
    path = tmp_path / "log.db"
    clock = FixedClock(1_000)
    for round_ in range(3):
        store = open_log(path, clock)
        for _ in range(4):
            store.append(batch(2, round_))
        assert store.head().seq == 8 * (round_ + 1)
        store.close()
    store = open_log(path, clock)
    verdict = verify(store)
    assert verdict.ok and verdict.count == 24
    store.close()
