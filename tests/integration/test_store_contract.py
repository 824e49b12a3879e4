"""The EventStore contract (invariants I1-I7 of system/eventlog/store.py), run against every backend.

A new backend joins by adding its name to BACKENDS and a branch to ``make_store``; the
PostgreSQL cases skip, naming CHRONEX_TEST_POSTGRES_URL, where no server answers. Besides I1-I7
the suite holds what every durable backend owes: kill -9 loses no acknowledged append, racing
threads never write on a stale version, one writer at a time, any edit of the stored rows is
caught by ``verify`` at its seq, and the same inputs give the same bytes everywhere.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from system.clock import FixedClock
from system.eventlog import (
    ANY,
    GENESIS_HASH,
    NO_STREAM,
    Event,
    EventLogError,
    EventStore,
    LogCorrupted,
    NewEvent,
    NotAnEventLog,
    Snapshot,
    UnsupportedLogURL,
    WrongExpectedVersion,
    open_log,
    verify,
)
from system.eventlog.codec import chain_hash
from system.eventlog.memory import MemoryEventStore
from system.eventlog.sqlite import SQLiteEventStore

BACKENDS = ["memory", "sqlite", "sqlite-stream-index", "postgresql"]
DURABLE = ["sqlite", "postgresql"]  # backends another process can open


class ContractTick(Event, frozen=True):
    account: str
    qty: int
    note: str = ""

    def stream(self) -> str:
        return f"account/{self.account}"


class ContractBad(Event, frozen=True):
    """A record whose encoding fails (an object msgspec cannot encode) to test atomicity."""

    blob: object

    def stream(self) -> str:
        return "bad"


StoreFactory = Callable[..., EventStore]


def log_url(backend: str, name: str, tmp_path: Path, pg: dict[str, str], new_pg: Callable[[], str]) -> str:
    """The URL of the log ``name`` of a durable backend (the same name gives the same log)."""
    if backend == "postgresql":
        if name not in pg:
            pg[name] = new_pg()
        return pg[name]
    return str(tmp_path / f"{name}.db")


@pytest.fixture
def pg_urls(request: pytest.FixtureRequest) -> Callable[[], str]:
    """Fresh PostgreSQL log URLs, only for the postgresql cases (others never ask for one)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or "postgresql" not in callspec.params.values():

        def no_pg() -> str:
            raise AssertionError("not a postgresql case")

        return no_pg
    factory: Callable[[], str] = request.getfixturevalue("pg_log_url")
    return factory


@pytest.fixture(params=BACKENDS)
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, pg_urls: Callable[[], str]
) -> Iterator[StoreFactory]:
    """A factory of stores of one backend; calling it twice with the same name reopens the same log."""
    opened: list[EventStore] = []
    memory: dict[str, EventStore] = {}
    pg: dict[str, str] = {}

    def make(name: str = "log", clock: FixedClock | None = None) -> EventStore:
        clk = clock if clock is not None else FixedClock(1_000)
        if request.param == "postgresql":
            store = open_log(log_url("postgresql", name, tmp_path, pg, pg_urls), clk)
            opened.append(store)
        elif request.param == "memory":
            if name not in memory:
                memory[name] = open_log("memory://", clk)
            store = memory[name]
            store.clock = clk
        elif request.param == "sqlite":
            store = open_log(tmp_path / f"{name}.db", clk)
            opened.append(store)
        else:
            store = SQLiteEventStore(tmp_path / f"{name}.db", clk, stream_index=True)
            opened.append(store)
        return store

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def durable_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_urls: Callable[[], str]
) -> Callable[[str], str]:
    """``url(name)``: the log ``name`` of the test's ``backend`` parameter (sqlite or postgresql)."""
    backend = request.node.callspec.params["backend"]
    pg: dict[str, str] = {}
    return lambda name: log_url(backend, name, tmp_path, pg, pg_urls)


def tick(account: str = "A", qty: int = 1, vt: int = 10, **kw: str) -> NewEvent:
    return NewEvent(ContractTick(account, qty), vt, **kw)


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


# -- kill -9 ------------------------------------------------------------------------------------
CRASH_CHILD = textwrap.dedent(
    """
    import sys
    from system.clock import FixedClock
    from system.eventlog import Event, NewEvent, open_log

    class CrashTick(Event, frozen=True):
        n: int
        def stream(self) -> str:
            return f"s/{self.n % 3}"

    store = open_log(sys.argv[1], FixedClock(1))
    n = 0
    while True:
        size = 1 + n % 7
        out = store.append([NewEvent(CrashTick(n + i), n + i) for i in range(size)])
        n += size
        # Acknowledge only after append returned: these entries must survive.
        print(out[-1].seq, flush=True)
    """
)


class CrashTick(Event, frozen=True):
    """The child's record, defined here too so the parent can decode what it wrote."""

    n: int

    def stream(self) -> str:
        return f"s/{self.n % 3}"


@pytest.mark.parametrize("backend", DURABLE)
def test_sigkill_loses_no_acknowledged_append(backend: str, durable_url: Callable[[str], str]) -> None:
    """A child appending in a loop is SIGKILLed; every seq it acknowledged is there and verifies,
    and the log takes a new writer at once."""
    url = durable_url("crash")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, url], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    acked: list[int] = []
    for line in child.stdout:
        acked.append(int(line))
        if len(acked) >= 300:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with open_log(url, FixedClock(0), create=False) as store:
        head = store.head().seq
        assert head >= acked[-1]
        stored = {e.seq for e in store.read()}
        assert set(acked) <= stored
        v = verify(store)
        assert v.ok, str(v)
        assert v.count == head
        # The dead writer's lock went with its process: this store may write now, and its stream
        # versions go on from the dead writer's last entry (SQLite's streams table lags behind
        # the entries until a sync the child never reached).
        before = sum(1 for e in store.read() if e.stream == "s/2")
        new = store.append([NewEvent(CrashTick(-1), 0)])[0]
        assert (new.seq, new.stream, new.stream_version) == (head + 1, "s/2", before + 1)


# -- racing writers -----------------------------------------------------------------------------
def test_racing_threads_never_write_on_a_stale_version(make_store: StoreFactory) -> None:
    """Threads sharing a store read a version then append expecting it: losers raise, winners are
    gapless."""
    shared = make_store()
    wins: list[int] = []
    losses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(tid: int) -> None:
        start.wait()
        for i in range(40):
            v = shared.stream_version("account/X")
            try:
                shared.append([NewEvent(ContractTick("X", tid * 1000 + i), 0)], expected={"account/X": v})
                with lock:
                    wins.append(tid)
            except WrongExpectedVersion:
                with lock:
                    losses.append(tid)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) + len(losses) == 160
    assert shared.head().seq == len(wins) == shared.stream_version("account/X")
    assert [e.stream_version for e in shared.read_stream("account/X")] == list(range(1, len(wins) + 1))
    assert verify(shared).ok


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        "postgresql",
    ],
)
def test_a_second_writer_is_refused_naming_the_holder(
    backend: str, durable_url: Callable[[str], str]
) -> None:
    """While one store writes a log, another store's append is refused with a message naming the
    writer and writes nothing; once the first closes, the second may write."""
    url = durable_url("locked")
    first = open_log(url, FixedClock(1))
    first.append([tick("A")])
    second = open_log(url, FixedClock(2))
    try:
        with pytest.raises(EventLogError, match="writer") as err:
            second.append([tick("B")])
        assert not isinstance(err.value, WrongExpectedVersion)
        assert f"pid {os.getpid()}" in str(err.value)
        assert second.head().seq == 1 and [e.seq for e in second.read()] == [1]
        first.close()
        assert second.append([tick("B")])[0].seq == 2
    finally:
        first.close()
        second.close()


# -- tampering ----------------------------------------------------------------------------------
def flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos % len(b)] ^= 0x20
    return bytes(b)


def sql_edit(store: EventStore, url: str, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run raw SQL on a durable backend's tables, as someone with write access to the database could."""
    if url.startswith("postgresql"):
        import psycopg

        from system.eventlog.postgres import split_url

        conninfo, schema = split_url(url)
        with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as pg:
            for stmt, params in statements:
                pg.execute(stmt.replace("?", "%s"), params)
        return
    db = sqlite3.connect(url, isolation_level=None)
    db.execute("BEGIN")
    for stmt, params in statements:
        db.execute(stmt, params)
    db.execute("COMMIT")
    db.close()


TAMPERS = ["body byte", "hash byte", "valid_time", "stream_version", "deleted", "swapped"]


@pytest.mark.parametrize("how", TAMPERS)
@pytest.mark.parametrize("backend", ["memory", *DURABLE])
def test_any_edit_of_the_stored_rows_is_caught_at_its_seq(
    backend: str, how: str, durable_url: Callable[[str], str]
) -> None:
    """Flipping a byte of a body or hash, changing an index column, deleting or swapping entries:
    verify names the seq and replay stops there."""
    k = 4
    url = "memory://" if backend == "memory" else durable_url("tamper")
    s = open_log(url, FixedClock(100))
    s.append([tick("AB"[i % 2], i, vt=i) for i in range(4)])
    s.append([tick("AB"[i % 2], i, vt=i) for i in range(4, 8)])
    raws = list(s.read_raw())
    r = raws[k - 1]
    if isinstance(s, MemoryEventStore):
        edited = list(raws)
        if how == "deleted":
            del edited[k - 1]
        elif how == "swapped":
            edited[k - 1], edited[k] = edited[k], edited[k - 1]
        else:
            field = {"body byte": "body", "hash byte": "hash"}.get(how, how)
            old = getattr(r, field)
            new = flip(old, 7) if isinstance(old, bytes) else old + 1
            edited[k - 1] = replace(r, **{field: new})
        s._replace_raw(edited)
    else:
        s.close()
        stmts: list[tuple[str, tuple[Any, ...]]]
        if how in ("body byte", "hash byte"):
            col = how.split()[0]
            stmts = [(f"UPDATE events SET {col} = ? WHERE seq = ?", (flip(getattr(r, col), 7), k))]
        elif how in ("valid_time", "stream_version"):
            stmts = [(f"UPDATE events SET {how} = {how} + 1 WHERE seq = ?", (k,))]
        elif how == "deleted":
            stmts = [("DELETE FROM events WHERE seq = ?", (k,))]
        else:
            stmts = [
                ("UPDATE events SET seq = -1 WHERE seq = ?", (k,)),
                ("UPDATE events SET seq = ? WHERE seq = ?", (k, k + 1)),
                ("UPDATE events SET seq = ? WHERE seq = -1", (k + 1,)),
            ]
        sql_edit(s, url, stmts)
        s = open_log(url, FixedClock(0), create=False)
    try:
        v = verify(s)
        assert not v.ok and v.bad_seq == k and v.count == k - 1, str(v)
        if how == "deleted":
            assert "missing" in (v.problem or "")
        if how == "swapped":
            assert "reordering" in (v.problem or "")
        if how != "stream_version" and how != "valid_time":  # index columns: verify's business
            with pytest.raises(LogCorrupted) as err:
                list(s.replay())
            assert err.value.seq == k
    finally:
        s.close()


# -- opening ------------------------------------------------------------------------------------
def test_open_log_unknown_scheme() -> None:
    """An unknown URL scheme is a clear error naming the scheme."""
    with pytest.raises(UnsupportedLogURL, match="'ftp'"):
        open_log("ftp://host/log", FixedClock())


@pytest.mark.parametrize("url", ["nats://127.0.0.1:4222"])
def test_open_log_planned_backend(url: str) -> None:
    """A planned backend's URL says it is not available yet."""
    with pytest.raises(UnsupportedLogURL, match="not available"):
        open_log(url, FixedClock())


def test_open_log_text_file(tmp_path: Path) -> None:
    """A text file is not a log, and opening it leaves it unchanged."""
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a database\n" * 50)
    with pytest.raises(NotAnEventLog):
        open_log(p, FixedClock())
    assert p.read_text() == "hello, this is not a database\n" * 50


def test_open_log_foreign_sqlite_file(tmp_path: Path) -> None:
    """An SQLite file without a Chronex log is refused and not modified."""
    p = tmp_path / "other.db"
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = p.read_bytes()
    with pytest.raises(NotAnEventLog, match="without a Chronex event log"):
        open_log(p, FixedClock())
    assert p.read_bytes() == before


def test_open_log_missing_file_without_create(tmp_path: Path) -> None:
    """create=False on a missing file is an error and creates nothing."""
    p = tmp_path / "missing.db"
    with pytest.raises(NotAnEventLog, match="no such file"):
        open_log(p, FixedClock(), create=False)
    assert not p.exists()


def test_open_log_sqlite_url(tmp_path: Path) -> None:
    """sqlite:///relative and sqlite:////absolute both name a file; reopening reads it back."""
    p = tmp_path / "u.db"
    s = open_log(f"sqlite:///{p}", FixedClock())
    s.append([tick()])
    s.close()
    with open_log(p, FixedClock(), create=False) as again:
        assert again.head().seq == 1


def test_open_log_postgres_missing_schema_without_create(pg_log_url: Callable[[], str]) -> None:
    """create=False on a schema with no log is an error naming the schema, and creates nothing."""
    url = pg_log_url()
    with pytest.raises(NotAnEventLog, match="no Chronex event log in schema"):
        open_log(url, FixedClock(), create=False)
    with pytest.raises(NotAnEventLog):
        open_log(url, FixedClock(), create=False)


def test_open_log_postgres_foreign_schema(pg_log_url: Callable[[], str]) -> None:
    """A schema holding someone else's tables is refused and left as it was."""
    import psycopg

    from system.eventlog.postgres import split_url

    url = pg_log_url()
    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
        db.execute(f"CREATE TABLE {schema}.t (x int)")
    with pytest.raises(NotAnEventLog, match="holds tables but no Chronex event log"):
        open_log(url, FixedClock())
    with psycopg.connect(conninfo) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    assert tables == [("t",)]


def test_open_log_postgres_unreachable_and_bad_schema() -> None:
    """A server that does not answer, or a schema that is not a plain name, is one clear error
    that never shows the password."""
    with pytest.raises(EventLogError, match="cannot connect to PostgreSQL") as err:
        open_log("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=1", FixedClock())
    assert "secret" not in str(err.value)
    with pytest.raises(NotAnEventLog, match="not a plain SQL name"):
        open_log("postgresql://127.0.0.1/db?schema=a;drop", FixedClock())


def test_postgres_writer_survives_losing_its_session(pg_log_url: Callable[[], str]) -> None:
    """When the server ends the writer's session the next append fails cleanly and the one after
    reconnects, takes the writer lock again and continues the chain without a gap."""
    import psycopg

    from system.eventlog.postgres import split_url

    url = pg_log_url()
    with open_log(url, FixedClock(1)) as s:
        s.append([tick("A")])
        with psycopg.connect(split_url(url)[0], autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"chronex writer pid {os.getpid()} on {__import__('socket').gethostname()}"[:63],),
            )
        with pytest.raises(EventLogError, match="nothing of it was written"):
            s.append([tick("B")])
        assert s.append([tick("C")])[0].seq == 2
        assert [e.record.account for e in s.read()] == ["A", "C"]  # type: ignore[attr-defined]
        assert verify(s).ok
