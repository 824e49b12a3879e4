"""What every durable backend owes beyond I1-I7: kill -9 loses no acknowledged append, racing
threads never write on a stale version, one writer at a time, and any edit of the stored rows is
caught by ``verify`` at its seq (fixtures: conftest.py beside this file)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from system.clock import FixedClock
from system.eventlog import (
    Event,
    EventLogError,
    EventStore,
    LogCorrupted,
    NewEvent,
    WrongExpectedVersion,
    open_log,
    verify,
)
from system.eventlog.memory import MemoryEventStore
from tests.integration.store.kit import DURABLE, ContractTick, StoreFactory, tick

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
    root = Path(__file__).resolve().parents[3]
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
