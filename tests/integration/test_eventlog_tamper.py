"""Any edit to a stored log (a byte of a body or hash, an index column, a deletion, a swap) is
caught by ``verify`` at the seq where it was made."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import Event, EventStore, LogCorrupted, NewEvent, RawEntry, open_log, verify
from system.eventlog.memory import MemoryEventStore


class TamperTick(Event, frozen=True):
    account: str
    qty: int

    def stream(self) -> str:
        return f"account/{self.account}"


SETTINGS = settings(max_examples=40, deadline=None)

entries = st.lists(
    st.tuples(st.sampled_from("ABC"), st.integers(-(2**40), 2**40), st.integers(0, 2**62)),
    min_size=2,
    max_size=12,
)


def fill(store: EventStore, items: list[tuple[str, int, int]]) -> None:
    # Two batches, so the chain crosses an append boundary.
    half = len(items) // 2
    for part in (items[:half], items[half:]):
        if part:
            store.append([NewEvent(TamperTick(a, q), vt) for a, q, vt in part])
        store.clock.t += 1  # type: ignore[attr-defined]


def flip(data: bytes, pos: int, xor: int) -> bytes:
    b = bytearray(data)
    b[pos % len(b)] ^= xor
    return bytes(b)


_BASE: list[Path] = []


@pytest.fixture(autouse=True, scope="module")
def _scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One pytest-managed folder for every log the examples write (pytest prunes old ones)."""
    _BASE[:] = [tmp_path_factory.mktemp("tamper")]


def on_sqlite(items: list[tuple[str, int, int]], edit: Callable[[sqlite3.Connection], None]) -> EventStore:
    d = tempfile.mkdtemp(dir=_BASE[0])
    path = Path(d) / "log.db"
    s = open_log(path, FixedClock(100))
    fill(s, items)
    s.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    edit(db)
    db.execute("COMMIT")
    db.close()
    return open_log(path, FixedClock(0), create=False)


def on_memory(
    items: list[tuple[str, int, int]], edit: Callable[[list[RawEntry]], list[RawEntry]]
) -> EventStore:
    s = MemoryEventStore(FixedClock(100))
    fill(s, items)
    s._replace_raw(edit(list(s.read_raw())))
    return s


def assert_caught_at(store: EventStore, seq: int) -> None:
    v = verify(store)
    assert not v.ok
    assert v.bad_seq == seq, str(v)
    # Entries before it verified (a stray row with a seq edited below 1 is met before them).
    assert v.count == seq - 1 or v.count == 0


# -- a byte of the body or of the hash ------------------------------------------------------------
@SETTINGS
@given(entries, st.data(), st.integers(0, 10_000), st.integers(1, 255), st.sampled_from(["body", "hash"]))
def test_single_byte_change_sqlite(items, data, pos, xor, column) -> None:  # type: ignore[no-untyped-def]
    """Flipping bits of one byte of a stored body or hash in the SQLite file is caught at that seq."""
    k = data.draw(st.integers(1, len(items)))

    def edit(db: sqlite3.Connection) -> None:
        (old,) = db.execute(f"SELECT {column} FROM events WHERE seq = ?", (k,)).fetchone()
        db.execute(f"UPDATE events SET {column} = ? WHERE seq = ?", (flip(old, pos, xor), k))

    s = on_sqlite(items, edit)
    assert_caught_at(s, k)
    try:
        list(s.replay())
    except LogCorrupted as e:
        assert e.seq == k
    else:
        raise AssertionError("replay did not notice the edit")
    s.close()


@SETTINGS
@given(entries, st.data(), st.integers(0, 10_000), st.integers(1, 255), st.sampled_from(["body", "hash"]))
def test_single_byte_change_memory(items, data, pos, xor, column) -> None:  # type: ignore[no-untyped-def]
    """Flipping bits of one byte of a body or hash in the memory backend is caught at that seq."""
    k = data.draw(st.integers(1, len(items)))

    def edit(raws: list[RawEntry]) -> list[RawEntry]:
        r = raws[k - 1]
        raws[k - 1] = replace(r, **{column: flip(getattr(r, column), pos, xor)})
        return raws

    s = on_memory(items, edit)
    assert_caught_at(s, k)


# -- index columns stored beside the body --------------------------------------------------------
@SETTINGS
@given(
    entries,
    st.data(),
    st.sampled_from(["stream_id", "stream_version", "type_id", "valid_time", "recorded_time", "seq"]),
    st.integers(1, 2**40),
)
def test_index_column_change_sqlite(items, data, column, delta) -> None:  # type: ignore[no-untyped-def]
    """Changing an index column of one row (even the seq, to a free value) is caught at that seq."""
    k = data.draw(st.integers(1, len(items)))
    sign = data.draw(st.sampled_from([1, -1]))

    def edit(db: sqlite3.Connection) -> None:
        (old,) = db.execute(f"SELECT {column} FROM events WHERE seq = ?", (k,)).fetchone()
        new = old + sign * delta
        if column == "seq" and 1 <= new <= len(items):
            new = -new  # a seq another entry holds would collide with the primary key
        try:
            db.execute(f"UPDATE events SET {column} = ? WHERE seq = ?", (new, k))
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK")
            db.execute("BEGIN")
            reject()  # the unique (stream, version) index refuses this edit: not a reachable state

    s = on_sqlite(items, edit)
    assert_caught_at(s, k)
    s.close()


@SETTINGS
@given(entries, st.data())
def test_renamed_stream_is_caught_at_its_first_entry(items, data) -> None:  # type: ignore[no-untyped-def]
    """Renaming a stream in the streams table is caught at the first entry of that stream."""
    account = data.draw(st.sampled_from(sorted({a for a, _, _ in items})))
    first = next(i + 1 for i, (a, _, _) in enumerate(items) if a == account)

    def edit(db: sqlite3.Connection) -> None:
        db.execute("UPDATE streams SET name = 'account/Z' WHERE name = ?", (f"account/{account}",))

    s = on_sqlite(items, edit)
    assert_caught_at(s, first)
    s.close()


@SETTINGS
@given(
    entries,
    st.data(),
    st.sampled_from(["stream", "stream_version", "type", "valid_time", "recorded_time"]),
)
def test_index_column_change_memory(items, data, column) -> None:  # type: ignore[no-untyped-def]
    """Changing an index field of one raw entry in the memory backend is caught at that seq."""
    k = data.draw(st.integers(1, len(items)))

    def edit(raws: list[RawEntry]) -> list[RawEntry]:
        r = raws[k - 1]
        old = getattr(r, column)
        raws[k - 1] = replace(r, **{column: old + "x" if isinstance(old, str) else old + 1})
        return raws

    assert_caught_at(on_memory(items, edit), k)


# -- deletion and swaps --------------------------------------------------------------------------
@SETTINGS
@given(entries, st.data())
def test_deletion_is_caught(items, data) -> None:  # type: ignore[no-untyped-def]
    """Deleting any entry but the last is reported as a missing event at its seq (both backends)."""
    k = data.draw(st.integers(1, len(items) - 1))
    s = on_sqlite(items, lambda db: db.execute("DELETE FROM events WHERE seq = ?", (k,)))
    assert_caught_at(s, k)
    assert "missing" in (verify(s).problem or "")
    s.close()
    m = on_memory(items, lambda raws: raws[: k - 1] + raws[k:])
    assert_caught_at(m, k)


@SETTINGS
@given(entries, st.data())
def test_swap_is_caught(items, data) -> None:  # type: ignore[no-untyped-def]
    """Swapping two entries is reported as a reordering at the earlier seq (both backends)."""
    i = data.draw(st.integers(1, len(items) - 1))
    j = data.draw(st.integers(i + 1, len(items)))

    def edit(db: sqlite3.Connection) -> None:
        rows = {r[0]: r[1:] for r in db.execute("SELECT * FROM events WHERE seq IN (?, ?)", (i, j))}
        db.execute("DELETE FROM events WHERE seq IN (?, ?)", (i, j))
        db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (i, *rows[j]))
        db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (j, *rows[i]))

    s = on_sqlite(items, edit)
    assert_caught_at(s, i)
    assert "reordering" in (verify(s).problem or "")
    s.close()

    def swap(raws: list[RawEntry]) -> list[RawEntry]:
        raws[i - 1], raws[j - 1] = raws[j - 1], raws[i - 1]
        return raws

    m = on_memory(items, swap)
    assert_caught_at(m, i)
    assert "reordering" in (verify(m).problem or "")


def test_untouched_logs_verify() -> None:
    """The logs these tests build verify before anyone edits them."""
    items = [("A", 1, 5), ("B", 2, 6), ("A", 3, 7)]
    s = on_sqlite(items, lambda db: None)
    assert verify(s).ok and verify(s).count == 3
    s.close()
    assert verify(on_memory(items, lambda raws: raws)).ok
