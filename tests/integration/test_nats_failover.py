"""NATS JetStream fan-out: every entry published once under its stream's subject, and an
active/standby subscriber pair where kill -9 of the active hands over within 2 s with nothing
missed and nothing applied twice (CHRONEX_FAILOVER_ROUNDS rounds; 20 for the full proof)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from system.clock import FixedClock
from system.eventlog import Event, EventStore, NewEvent, open_log
from system.feed.subjects import subject_for
from system.server.subscription import Subscription
from tests.services import SERVICES, resolve, skip_reason

nats = pytest.importorskip("nats")
URL = resolve("nats") or SERVICES["nats"].default
ROUNDS = int(os.environ.get("CHRONEX_FAILOVER_ROUNDS", "3"))


class FeedTick(Event, frozen=True):
    account: str
    n: int

    def stream(self) -> str:
        return f"account/{self.account}" if self.n % 3 else f"book/XTKS:{7200 + self.n % 5}"


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    """A stream and subject root of its own (the server is shared); the stream is deleted after."""

    async def ping() -> None:
        nc = await nats.connect(URL, connect_timeout=2, max_reconnect_attempts=0)
        await nc.close()

    try:
        asyncio.run(ping())
    except Exception:
        pytest.skip(skip_reason("nats"))
    tag = uuid.uuid4().hex[:10]
    yield f"T{tag}", f"t{tag}"

    async def drop() -> None:
        nc = await nats.connect(URL)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(f"T{tag}")
        await nc.close()

    asyncio.run(drop())


def test_subjects_per_stream_kind() -> None:
    """Books go under their venue, other streams under their kind; NATS metacharacters are replaced."""
    assert subject_for("book/XTKS:7203") == "chronex.XTKS.book.7203"
    assert subject_for("account/ACC-1") == "chronex.account.ACC-1"
    assert subject_for("input/account/A.B") == "chronex.input.account.A_B"
    assert subject_for("run") == "chronex.run"


def test_every_entry_is_published_once_under_its_subject(tmp_path: Path, names: tuple[str, str]) -> None:
    """The stream holds each log entry once, in seq order, with its seq as message id; publishing
    the same entries again adds nothing."""
    from system.feed.nats import NatsPublisher

    stream, root = names
    store = open_log(tmp_path / "log.db", FixedClock(1))
    store.append([NewEvent(FeedTick("A", i), i) for i in range(40)])
    pub = NatsPublisher(URL, stream_name=stream, root=root)
    try:
        assert Subscription(store, pub).poll() == 40
        assert pub.position() == 40
        pub.handle(list(store.read(30, 40)))  # a publisher restarted from an older position
        assert pub.position() == 40

        async def read_back() -> list[Any]:
            nc = await nats.connect(URL)
            js = nc.jetstream()
            out = [await js.get_msg(stream, s) for s in range(1, 41)]
            await nc.close()
            return out

        msgs = asyncio.run(read_back())
        assert [int(m.headers["Nats-Msg-Id"]) for m in msgs] == list(range(1, 41))
        assert [m.subject for m in msgs] == [subject_for(e.stream, root) for e in store.read()]
        assert [m.data for m in msgs] == [r.body for r in store.read_raw()]
    finally:
        pub.close()
        store.close()


CHILD = """
import os, sys, threading, time
from system.clock import FixedClock
from system.eventlog import open_log
from system.feed.nats import FileLeaderLock, JetStreamFollower
from system.feed.pglock import PostgresLeaderLock
from system.server.subscription import SQLitePositions
sys.path.insert(0, sys.argv[6])
from test_nats_failover import FeedTick  # noqa: F401 - the record type, to decode the feed

url, stream, lockfile, db, log = sys.argv[1:6]

class Applied:
    name = "dashboard"
    def __init__(self) -> None:
        self.p = SQLitePositions(db)
        self.p.conn.execute("PRAGMA busy_timeout=10000")
        self.p.conn.execute(
            "CREATE TABLE IF NOT EXISTS applied (seq INTEGER PRIMARY KEY, hash BLOB, pid INTEGER, at REAL)")
    def position(self) -> int:
        return self.p.load(self.name)
    def handle(self, batch) -> None:
        with self.p.transaction() as c:
            c.executemany("INSERT INTO applied VALUES (?, ?, ?, ?)",
                          [(e.seq, e.hash, os.getpid(), time.time()) for e in batch])
            self.p.save(self.name, batch[-1].seq)

# A PostgreSQL URL: the cross-host advisory lock; otherwise a file on this host.
lock = (PostgresLeaderLock(lockfile, "dashboard-" + stream) if lockfile.startswith("postgresql")
        else FileLeaderLock(lockfile))
print("STANDBY", flush=True)
lock.acquire()
store = open_log(log, FixedClock(0), create=False)
class Held:
    def acquire(self) -> None: pass
    def release(self) -> None: lock.release()
f = JetStreamFollower(url, Applied(), Held(), store, stream_name=stream, durable="dashboard",
                      on_active=lambda pos: print(f"ACTIVE {pos} {time.time()}", flush=True))
f.run(threading.Event())
"""


def start_child(tmp: Path, stream: str, log: str, lock: str | None = None) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    lock = lock or str(tmp / "leader.lock")
    args = [URL, stream, lock, str(tmp / "applied.db"), log, str(Path(__file__).parent)]
    p = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "STANDBY"
    return p


def wait_line(p: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert p.stdout is not None
    out: list[str] = []

    def read() -> None:
        line = p.stdout.readline() if p.stdout is not None else ""
        out.append(line)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    assert out and out[0].startswith(prefix), f"expected {prefix!r}, got {out}"
    return out[0]


def applied(db: Path) -> list[tuple[int, int, float]]:
    if not db.exists():
        return []
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT seq, pid, at FROM applied ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        c.close()


def one_round(tmp: Path, stream: str, root: str, lock: str | None = None) -> dict[str, float]:
    from system.feed.nats import NatsPublisher

    log = str(tmp / "log.db")
    store: EventStore = open_log(log, FixedClock(1))
    store.append([NewEvent(FeedTick("A", 0), 0)])
    pub = NatsPublisher(URL, stream_name=stream, root=root)
    stop = threading.Event()
    follow = Subscription(store, pub).follow
    publisher = threading.Thread(target=follow, args=(stop,), kwargs={"poll_interval": 0.01})
    publisher.start()
    n = [1]

    def write(until: threading.Event) -> None:
        while not until.is_set():
            store.append([NewEvent(FeedTick(f"A{n[0] % 7}", n[0] + i), n[0] + i) for i in range(20)])
            n[0] += 20
            time.sleep(0.01)

    writing = threading.Event()
    writer = threading.Thread(target=write, args=(writing,))
    writer.start()
    a = start_child(tmp, stream, log, lock)
    b = start_child(tmp, stream, log, lock)
    procs = [a, b]
    try:
        wait_line(a, "ACTIVE", 20)
        db = tmp / "applied.db"
        deadline = time.time() + 20
        while len(applied(db)) < 300 and time.time() < deadline:
            time.sleep(0.02)
        killed_at = time.time()
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        line = wait_line(b, "ACTIVE", 10)
        active_at = float(line.split()[2])
        time.sleep(0.5)
        writing.set()
        writer.join(10)
        head = store.head().seq
        deadline = time.time() + 30
        while (len(rows := applied(db)) < head) and time.time() < deadline:
            time.sleep(0.02)
        rows = applied(db)
        assert [r[0] for r in rows] == list(range(1, head + 1)), "an entry was missed or applied twice"
        by_b = [r for r in rows if r[1] == b.pid]
        assert by_b, "the standby applied nothing"
        first_b = min(r[2] for r in by_b)
        assert {r[1] for r in rows} == {a.pid, b.pid}
        return {"takeover": active_at - killed_at, "first_apply": first_b - killed_at, "entries": head}
    finally:
        writing.set()
        writer.join(10)
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            if p.stdout is not None:
                p.stdout.close()
        stop.set()
        publisher.join(10)
        pub.close()
        store.close()


@pytest.mark.parametrize("lock", ["file", "postgresql"])
def test_standby_takes_over_after_kill_9_with_nothing_missed_or_repeated(
    tmp_path: Path, names: tuple[str, str], lock: str, request: pytest.FixtureRequest
) -> None:
    """kill -9 of the active subscriber while the log grows: the standby applies from the stored
    position within 2 s, and the applied table holds every seq exactly once. The leader lock is a
    file (one host) or a PostgreSQL advisory lock (across hosts)."""
    stream, root = names
    lock_url = None
    if lock == "postgresql":
        lock_url = request.getfixturevalue("pg_log_url")()  # skips naming the URL to provide
    results = []
    for r in range(ROUNDS):
        tmp = tmp_path / f"round{r}"
        tmp.mkdir()
        results.append(one_round(tmp, f"{stream}R{r}", f"{root}r{r}", lock_url))
        _drop_stream(f"{stream}R{r}")
    worst = max(x["first_apply"] for x in results)
    assert worst < 2.0, results
    print(f"failover: {ROUNDS} rounds, takeover max {max(x['takeover'] for x in results):.3f} s, "
          f"first apply by standby max {worst:.3f} s, 0 missed, 0 duplicates")  # fmt: skip


def _drop_stream(name: str) -> None:
    async def drop() -> None:
        nc = await nats.connect(URL)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(name)
        await nc.close()

    asyncio.run(drop())


class NoLock:
    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass


class Collected:
    name = "collected"

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def position(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def handle(self, batch: Any) -> None:
        self.seqs.extend(e.seq for e in batch)


def test_a_gap_in_the_feed_is_read_from_the_log(tmp_path: Path, names: tuple[str, str]) -> None:
    """JetStream is a feed, not the record: entries missing from the stream are read from the log,
    and a redelivered entry is not applied again."""
    from system.feed.nats import JetStreamFollower, NatsPublisher

    stream, root = names
    store = open_log(tmp_path / "log.db", FixedClock(1))
    store.append([NewEvent(FeedTick("A", i), i) for i in range(20)])
    NatsPublisher(URL, stream_name=stream, root=root).close()  # creates the stream
    entries = {e.seq: e for e in store.read()}
    raw = {r.seq: r.body for r in store.read_raw()}

    async def publish(seqs: list[int]) -> None:
        nc = await nats.connect(URL)
        js = nc.jetstream()
        for s in seqs:
            e = entries[s]
            await js.publish(
                subject_for(e.stream, root),
                raw[s],
                headers={
                    "Chronex-Seq": str(s),
                    "Chronex-Hash": e.hash.hex(),
                    "Chronex-Prev": e.prev_hash.hex(),
                },
            )
        await nc.close()

    asyncio.run(publish([*range(1, 11), 8, *range(16, 21)]))  # 11-15 lost, 8 delivered twice
    sub = Collected()
    follower = JetStreamFollower(URL, sub, NoLock(), store, stream_name=stream, durable="gaps")
    stop = threading.Event()
    t = threading.Thread(target=follower.run, args=(stop,))
    t.start()
    deadline = time.time() + 20
    while sub.position() < 20 and time.time() < deadline:
        time.sleep(0.02)
    stop.set()
    t.join(10)
    store.close()
    assert sub.seqs == list(range(1, 21))
    assert follower.gaps_filled == 5
