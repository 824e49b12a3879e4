"""The EventStore contract (invariants I1-I7 of system/eventlog/store.py), run against every backend.

A new backend joins by adding its name to BACKENDS (kit.py) and a branch to ``make_store``
(conftest.py); the PostgreSQL cases skip, naming CHRONEX_TEST_POSTGRES_URL, where no server
answers. Besides I1-I7 this file holds reading, snapshots and the same bytes from the same inputs
on every backend; test_store_durability.py what every durable backend owes beyond them (kill -9,
racing writers, one writer at a time, tampering caught at its seq); test_store_open.py the URLs
``open_log`` takes and refuses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from system.clock import FixedClock
from system.eventlog import (
    ANY,
    GENESIS_HASH,
    NO_STREAM,
    NewEvent,
    Snapshot,
    WrongExpectedVersion,
    open_log,
    verify,
)
from system.eventlog.codec import chain_hash
from tests.integration.store.kit import DURABLE, ContractBad, ContractTick, StoreFactory, tick


# -- I1 -----------------------------------------------------------------------------------------
def test_i1_seq_starts_at_one_and_is_gapless(make_store: StoreFactory) -> None:
    """Seq starts at 1 and every append continues it without a gap, across batches and streams."""
    s = make_store()
    s.append([tick("A"), tick("B")])
    s.append([tick("C")])
    s.append([tick("A"), tick("A"), tick("D")])
    assert [e.seq for e in s.read()] == [1, 2, 3, 4, 5, 6]
    assert s.head().seq == 6


# -- I2 -----------------------------------------------------------------------------------------
def test_i2_stream_versions_start_at_one_and_are_gapless(make_store: StoreFactory) -> None:
    """Each stream numbers its entries 1, 2, 3... whatever other streams do in between."""
    s = make_store()
    s.append([tick("A"), tick("B"), tick("A")])
    s.append([tick("B"), tick("A")])
    assert [e.stream_version for e in s.read_stream("account/A")] == [1, 2, 3]
    assert [e.stream_version for e in s.read_stream("account/B")] == [1, 2]
    pairs = [(e.stream, e.stream_version) for e in s.read()]
    assert len(pairs) == len(set(pairs))


# -- I3 -----------------------------------------------------------------------------------------
def test_i3_a_failing_batch_writes_nothing(make_store: StoreFactory) -> None:
    """A batch whose last record cannot be encoded leaves the log exactly as it was."""
    s = make_store()
    s.append([tick("A")])
    before = s.head()
    with pytest.raises(TypeError):
        s.append([tick("A"), tick("B"), NewEvent(ContractBad(object()), 1)])
    assert s.head() == before
    assert s.stream_version("account/B") == NO_STREAM
    assert [e.seq for e in s.read()] == [1]
    assert s.append([tick("B")])[0].seq == 2
    assert verify(s).ok


# -- I4 -----------------------------------------------------------------------------------------
def test_i4_wrong_expected_version_raises_and_writes_nothing(make_store: StoreFactory) -> None:
    """A stale expected version names the stream, both versions, and appends nothing."""
    s = make_store()
    s.append([tick("A")], expected={"account/A": NO_STREAM})
    s.append([tick("A")], expected={"account/A": 1})
    with pytest.raises(WrongExpectedVersion) as err:
        s.append([tick("A"), tick("B")], expected={"account/A": 1})
    assert (err.value.stream, err.value.expected, err.value.actual) == ("account/A", 1, 2)
    with pytest.raises(WrongExpectedVersion):
        s.append([tick("B")], expected={"account/B": 3})
    assert s.head().seq == 2
    assert s.stream_version("account/B") == NO_STREAM
    s.append([tick("A")], expected={"account/A": ANY})
    assert s.stream_version("account/A") == 3


# -- I5 -----------------------------------------------------------------------------------------
_READ_BACK = """
import json, sys
from system.clock import FixedClock
from system.eventlog import open_log
with open_log(sys.argv[1], FixedClock(0), create=False) as s:
    print(json.dumps([[e.seq, e.type, e.hash.hex()] for e in s.read_raw(1)]))
"""


def test_i5_appended_entries_survive_reopening(make_store: StoreFactory) -> None:
    """What append returned is what another process reads once the writer has closed the log (the
    kill -9 case is test_sigkill_loses_no_acknowledged_append). Memory logs have no durability,
    so I5 does not apply to them."""
    if make_store.backend == "memory":  # type: ignore[attr-defined]
        pytest.skip("memory:// has no durability: its entries end with the process (I5 does not apply)")
    s = make_store("durable")
    written = s.append([tick("A", 1), tick("B", 2)])
    s.close()
    done = subprocess.run(
        [sys.executable, "-c", _READ_BACK, s.url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[e.seq, e.type, e.hash.hex()] for e in written]


def test_memory_logs_are_not_durable() -> None:
    """Said plainly: a memory:// log lives in its store object; opening memory:// again starts an
    empty log, so nothing written to one survives it."""
    first = open_log("memory://", FixedClock(1_000))
    first.append([tick()])
    assert open_log("memory://", FixedClock(1_000)).head().seq == 0


# -- I6 -----------------------------------------------------------------------------------------
def test_i6_each_hash_chains_the_previous_one(make_store: StoreFactory) -> None:
    """hash = sha256(prev_hash || body), starting from 32 zero bytes, and verify agrees."""
    s = make_store()
    s.append([tick("A", i) for i in range(5)])
    prev = GENESIS_HASH
    for raw, ev in zip(s.read_raw(), s.read(), strict=True):
        assert ev.prev_hash == prev
        assert raw.hash == ev.hash == chain_hash(prev, raw.body)
        prev = raw.hash
    v = verify(s)
    assert v.ok and v.count == 5 and v.head_hash == prev


# -- I7 -----------------------------------------------------------------------------------------
def test_i7_recorded_time_is_the_store_clock_and_valid_time_the_callers(make_store: StoreFactory) -> None:
    """recorded_time is read from the store's clock at append; valid_time is kept as given."""
    clock = FixedClock(5_000)
    s = make_store(clock=clock)
    s.append([tick("A", vt=100), tick("B", vt=4_000)])
    clock.t = 6_000
    s.append([tick("A", vt=50)])  # a late report: valid before it was recorded
    got = [(e.valid_time, e.recorded_time) for e in s.read()]
    assert got == [(100, 5_000), (4_000, 5_000), (50, 6_000)]


# -- reading ------------------------------------------------------------------------------------
def test_append_returns_the_entries_as_stored(make_store: StoreFactory) -> None:
    """append tells the caller the seq, stream versions and hashes it assigned, as read returns them."""
    s = make_store()
    out = s.append([tick("A", 1, correlation_id="c1", causation_id="x")])
    assert out[0].seq == 1 and out[0].stream == "account/A" and out[0].stream_version == 1
    assert out[0].correlation_id == "c1" and out[0].causation_id == "x"
    assert out[0].record == ContractTick("A", 1)
    assert list(s.read()) == out


def test_read_ranges(make_store: StoreFactory) -> None:
    """read(from, to) is inclusive on both ends and empty past the head."""
    s = make_store()
    s.append([tick("A", i) for i in range(10)])
    assert [e.seq for e in s.read(3, 5)] == [3, 4, 5]
    assert [e.seq for e in s.read(8)] == [8, 9, 10]
    assert list(s.read(11)) == []
    assert [e.prev_hash for e in s.read(4, 4)] == [next(s.read(3, 3)).hash]


def test_read_stream_from_version(make_store: StoreFactory) -> None:
    """read_stream returns only that stream, in version order, from the asked version."""
    s = make_store()
    s.append([tick("A", 1), tick("B", 2), tick("A", 3), tick("A", 4)])
    assert [e.record.qty for e in s.read_stream("account/A")] == [1, 3, 4]  # type: ignore[attr-defined]
    assert [e.stream_version for e in s.read_stream("account/A", 2)] == [2, 3]
    assert list(s.read_stream("account/none")) == []
    assert [e.prev_hash for e in s.read_stream("account/B")] == [next(s.read(1, 1)).hash]


def test_read_until_valid_time(make_store: StoreFactory) -> None:
    """read_until keeps entries with valid_time at or before t, late ones included, in seq order."""
    s = make_store()
    s.append([tick("A", vt=10), tick("A", vt=30), tick("A", vt=20), tick("A", vt=5)])
    assert [e.seq for e in s.read_until(20)] == [1, 3, 4]
    assert [e.seq for e in s.read_until(20, from_seq=2)] == [3, 4]
    assert list(s.read_until(0)) == []


def test_head_and_stream_version(make_store: StoreFactory) -> None:
    """An empty log's head is (0, 32 zero bytes); afterwards it is the last entry's seq and hash."""
    s = make_store()
    assert s.head().seq == 0 and s.head().hash == GENESIS_HASH
    assert s.stream_version("account/A") == NO_STREAM
    last = s.append([tick("A"), tick("A")])[-1]
    assert (s.head().seq, s.head().hash) == (last.seq, last.hash)
    assert s.stream_version("account/A") == 2


def test_replay_checks_the_chain(make_store: StoreFactory) -> None:
    """replay yields what read does, hashes checked, from any seq."""
    s = make_store()
    s.append([tick("A", i) for i in range(6)])
    assert list(s.replay()) == list(s.read())
    assert list(s.replay(3, 4)) == list(s.read(3, 4))


def test_subscribe_catches_up_then_follows_live_appends(make_store: StoreFactory) -> None:
    """A subscriber on another thread gets the stored entries, then each new append, in order."""
    s = make_store()
    s.append([tick("A", 1), tick("A", 2)])
    stop = threading.Event()
    seen: list[int] = []
    got_all = threading.Event()

    def follow() -> None:
        for ev in s.subscribe(2, poll_interval=0.01, stop=stop):
            seen.append(ev.seq)
            if ev.seq == 5:
                got_all.set()

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    s.append([tick("B", 3)])
    s.append([tick("B", 4), tick("A", 5)])
    assert got_all.wait(10)
    stop.set()
    t.join(10)
    assert seen == [2, 3, 4, 5]


# -- snapshots ----------------------------------------------------------------------------------
def test_snapshots_latest_at_or_before(make_store: StoreFactory) -> None:
    """load_snapshot returns the latest snapshot at or before a seq; list_snapshots lists them."""
    s = make_store()
    for seq in (10, 30, 20):
        s.save_snapshot(Snapshot("book", seq, f"state{seq}".encode(), b"h"))
    s.save_snapshot(Snapshot("risk", 15, b"r", b"h"))
    assert s.list_snapshots("book") == [10, 20, 30]
    assert s.load_snapshot("book").seq == 30  # type: ignore[union-attr]
    got = s.load_snapshot("book", 25)
    assert got is not None and got.seq == 20 and got.state == b"state20"
    assert s.load_snapshot("book", 9) is None
    assert s.load_snapshot("none") is None
    s.save_snapshot(Snapshot("book", 20, b"again", b"h2"))
    assert s.load_snapshot("book", 20) == Snapshot("book", 20, b"again", b"h2")


# -- byte identity across backends -------------------------------------------------------------
@pytest.mark.parametrize("backend", DURABLE)
def test_backends_write_identical_bytes(backend: str, durable_url: Callable[[str], str]) -> None:
    """The same inputs give the same bodies and hashes on every backend as in memory."""
    logs = []
    for url in ("memory://", durable_url("same")):
        clock = FixedClock(7)
        s = open_log(url, clock)
        s.append([tick("A", 1, vt=1), tick("B", 2, vt=2)])
        clock.t = 9
        s.append([NewEvent(ContractTick("A", 3, "späť ✓"), 3, "corr", "cause")])
        s.append([NewEvent(ContractTick("C", -(2**62), "x" * 300), -5)])
        logs.append([(r.seq, r.stream, r.type, r.body, r.hash) for r in s.read_raw()])
        s.close()
    assert logs[0] == logs[1]
