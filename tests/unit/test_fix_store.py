"""The FIX message store contract, run against every backend, plus the file journal's recovery."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.gateways.fix import SessionSettings, store_factory
from system.gateways.fix.store import FileStore, MessageStore, StoreError

SETTINGS = SessionSettings("CHRONEX", "CLIENT1")


@pytest.fixture(params=["memory:", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageStore]:
    url = request.param if request.param != "file" else f"file:{tmp_path}"
    s = store_factory(url)(SETTINGS)
    yield s
    s.close()


def test_a_new_store_starts_at_one_and_one(store: MessageStore) -> None:
    assert (store.next_sender_seq, store.next_target_seq) == (1, 1)
    assert store.get(1, 100) == []


def test_saved_messages_come_back_in_seq_order_with_gaps_absent(store: MessageStore) -> None:
    store.save(1, b"one")
    store.save(2, b"two")
    store.set_next_sender_seq(5)
    store.save(5, b"five")
    assert store.get(1, 10) == [(1, b"one"), (2, b"two"), (5, b"five")]
    assert store.get(2, 4) == [(2, b"two")]
    assert store.next_sender_seq == 6


def test_reset_forgets_messages_and_numbers(store: MessageStore) -> None:
    store.save(1, b"one")
    store.set_next_target_seq(9)
    store.reset()
    assert (store.next_sender_seq, store.next_target_seq, store.get(1, 9)) == (1, 1, [])
    store.save(1, b"again")
    assert store.get(1, 1) == [(1, b"again")]


def test_file_store_reopens_where_it_stopped(tmp_path: Path) -> None:
    """After a restart the numbers continue and every flushed message can be resent."""
    path = tmp_path / "s.journal"
    s = FileStore(path)
    s.save(1, b"8=FIX.4.4\x01one\x01")
    s.save(2, b"two\nwith newline")
    s.set_next_target_seq(7)
    s.flush()
    # No close: a kill -9 after the flush.
    again = FileStore(path)
    assert (again.next_sender_seq, again.next_target_seq) == (3, 7)
    assert again.get(1, 2) == [(1, b"8=FIX.4.4\x01one\x01"), (2, b"two\nwith newline")]


def test_file_store_cuts_a_torn_last_record(tmp_path: Path) -> None:
    """A record half-written by a crash is dropped; everything before it survives."""
    path = tmp_path / "s.journal"
    s = FileStore(path)
    s.save(1, b"one")
    s.close()
    with path.open("ab") as f:
        f.write(b"M 2 100\npartial")
    again = FileStore(path)
    assert again.next_sender_seq == 2
    again.save(2, b"two")
    again.close()
    assert FileStore(path).get(1, 5) == [(1, b"one"), (2, b"two")]


def test_file_store_reset_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.journal"
    s = FileStore(path)
    s.save(1, b"one")
    s.flush()
    s.reset()
    s.save(1, b"fresh")
    s.close()
    assert FileStore(path).get(1, 5) == [(1, b"fresh")]


def test_unflushed_writes_are_not_on_disk_until_flush(tmp_path: Path) -> None:
    """The session flushes before the bytes reach the socket: write-ahead, batched."""
    path = tmp_path / "s.journal"
    s = FileStore(path)
    s.save(1, b"one")
    assert path.read_bytes() == b""
    s.flush()
    assert path.read_bytes() == b"M 1 3\none"


def test_file_factory_names_one_journal_per_session(tmp_path: Path) -> None:
    make = store_factory(f"file:{tmp_path}?fsync=1")
    a = make(SETTINGS)
    b = make(SessionSettings("CHRONEX", "CLIENT/2"))
    a.save(1, b"a")
    b.save(1, b"b")
    a.close()
    b.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "FIX.4.4-CHRONEX-CLIENT1.journal",
        "FIX.4.4-CHRONEX-CLIENT_2.journal",
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://x", "expected memory: or file:DIR"),
        ("file:", "names no directory"),
        ("file:/x?y=1", "unknown option"),
    ],
)
def test_bad_store_urls_are_refused_with_the_url(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store_factory(url)


def test_a_large_batch_reads_back_before_and_after_reopen(tmp_path: Path) -> None:
    """Offsets of messages saved in one batch stay right, flushed or not, reopened or not."""
    path = tmp_path / "s.journal"
    s = FileStore(path)
    msgs = [(i, b"x" * (i % 17) + b"\n%d" % i) for i in range(1, 301)]
    for seq, raw in msgs[:150]:
        s.save(seq, raw)
    s.set_next_target_seq(42)
    for seq, raw in msgs[150:]:
        s.save(seq, raw)
    assert s.get(1, 300) == msgs
    s.close()
    assert FileStore(path).get(1, 300) == msgs


@given(st.lists(st.one_of(st.integers(1, 10_000), st.none(), st.just(-1)), max_size=60))
@settings(max_examples=60, deadline=None)
def test_a_reopened_journal_holds_the_last_numbers_and_every_message(ops: list[int | None]) -> None:
    """Whatever mix of inbound positions (coalesced in the journal while unflushed), sent
    messages and flushes: a reopened store has the last numbers and every message, readable."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.journal"
        store = FileStore(path)
        sent: dict[int, bytes] = {}
        for op in ops:
            if op is None:
                seq = store.next_sender_seq
                sent[seq] = b"8=FIX.4.4\x01msg %d\x01" % seq
                store.save(seq, sent[seq])
            elif op == -1:
                store.flush()
            else:
                store.set_next_target_seq(op)
        target, sender = store.next_target_seq, store.next_sender_seq
        assert store.get(1, 10**6) == sorted(sent.items())
        store.close()
        again = FileStore(path)
        assert (again.next_target_seq, again.next_sender_seq) == (target, sender)
        assert again.get(1, 10**6) == sorted(sent.items())
        again.close()
