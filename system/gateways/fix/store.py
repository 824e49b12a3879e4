"""The per-session message store: next sequence numbers and the messages we sent, for resends.

Chosen by URL, like the event log: ``memory:`` (tests) or ``file:DIR`` (one append-only journal
per session under DIR). The session writes to the store *before* the bytes reach the socket, and
calls ``flush`` at the end of each batch, so after a kill -9 every message a peer may have seen is
in the journal and the sequence numbers continue where they stopped.

Durability: ``flush`` hands the bytes to the OS (they survive a crash of the process, not a power
loss); ``fsync=True`` on the file store adds an fsync per flush.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from system.gateways.fix.config import SessionSettings


class StoreError(ValueError):
    """A store URL or journal that cannot be used."""


class MessageStore(Protocol):
    """Sequence numbers and sent messages of one session.

    ``save(seq, raw)`` records an outbound message and makes ``next_sender_seq`` seq + 1.
    ``get(begin, end)`` returns the stored messages with begin <= seq <= end, in seq order; gaps
    (messages never stored) are simply absent. ``reset`` forgets everything and starts at 1/1.
    """

    @property
    def next_sender_seq(self) -> int: ...
    @property
    def next_target_seq(self) -> int: ...
    def set_next_sender_seq(self, n: int) -> None: ...
    def set_next_target_seq(self, n: int) -> None: ...
    def save(self, seq: int, raw: bytes) -> None: ...
    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]: ...
    def reset(self) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


MessageStoreFactory = Callable[[SessionSettings], MessageStore]


class MemoryStore:
    def __init__(self) -> None:
        self._sender = 1
        self._target = 1
        self._messages: dict[int, bytes] = {}

    @property
    def next_sender_seq(self) -> int:
        return self._sender

    @property
    def next_target_seq(self) -> int:
        return self._target

    def set_next_sender_seq(self, n: int) -> None:
        self._sender = n

    def set_next_target_seq(self, n: int) -> None:
        self._target = n

    def save(self, seq: int, raw: bytes) -> None:
        self._messages[seq] = raw
        self._sender = seq + 1

    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        msgs = self._messages
        return [(s, msgs[s]) for s in range(begin, end + 1) if s in msgs]

    def reset(self) -> None:
        self._sender = 1
        self._target = 1
        self._messages.clear()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


_RECORD = re.compile(rb"([MTS]) (\d+)(?: (\d+))?\n")


class FileStore:
    """An append-only journal: ``M seq len\\n<raw>`` for a sent message, ``T n\\n`` / ``S n\\n`` for
    the next target / sender seq. Reopening replays it; a torn last record (a kill mid-write) is
    cut off."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self._fsync = fsync
        self._sender = 1
        self._target = 1
        self._index: dict[int, tuple[int, int]] = {}
        self._pending: list[bytes] = []
        self._pending_size = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._size = self._load()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._read_fd = os.open(path, os.O_RDONLY)

    def _load(self) -> int:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        pos = 0
        n = len(data)
        while pos < n:
            m = _RECORD.match(data, pos)
            if m is None:
                break
            kind, num = m.group(1), int(m.group(2))
            end = m.end()
            if kind == b"M":
                length = int(m.group(3) or b"0")
                if end + length > n:
                    break
                self._index[num] = (end, length)
                self._sender = num + 1
                end += length
            elif kind == b"T":
                self._target = num
            else:
                self._sender = num
            pos = end
        if pos < n:
            with self.path.open("r+b") as f:
                f.truncate(pos)
        return pos

    @property
    def next_sender_seq(self) -> int:
        return self._sender

    @property
    def next_target_seq(self) -> int:
        return self._target

    def _append(self, rec: bytes) -> None:
        self._pending.append(rec)
        self._pending_size += len(rec)

    def set_next_sender_seq(self, n: int) -> None:
        self._sender = n
        self._append(b"S %d\n" % n)

    def set_next_target_seq(self, n: int) -> None:
        self._target = n
        rec = b"T %d\n" % n
        pending = self._pending
        if pending and pending[-1][:2] == b"T ":
            # Only the latest position counts on reload: a read of 64 orders journals one, not 64.
            self._pending_size += len(rec) - len(pending[-1])
            pending[-1] = rec
        else:
            self._append(rec)

    def save(self, seq: int, raw: bytes) -> None:
        head = b"M %d %d\n" % (seq, len(raw))
        self._index[seq] = (self._size + self._pending_size + len(head), len(raw))
        self._sender = seq + 1
        self._append(head + raw)

    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        self.flush()
        out: list[tuple[int, bytes]] = []
        for seq in sorted(s for s in self._index if begin <= s <= end):
            offset, length = self._index[seq]
            out.append((seq, os.pread(self._read_fd, length, offset)))
        return out

    def reset(self) -> None:
        self._pending.clear()
        self._pending_size = 0
        os.ftruncate(self._fd, 0)
        self._size = 0
        self._index.clear()
        self._sender = 1
        self._target = 1

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            os.close(self._read_fd)
            self._fd = -1


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def store_factory(url: str) -> MessageStoreFactory:
    """A factory of per-session stores for ``memory:`` or ``file:DIR[?fsync=1]``."""
    if url == "memory:" or url == "memory":
        return lambda settings: MemoryStore()
    if url.startswith("file:"):
        rest = url[len("file:") :]
        directory, _, query = rest.partition("?")
        if not directory:
            raise StoreError(f"store URL {url!r} names no directory")
        fsync = query in ("fsync=1", "fsync=true")
        if query and not fsync and query not in ("fsync=0", "fsync=false"):
            raise StoreError(f"store URL {url!r}: unknown option {query!r}")
        root = Path(directory)

        def make(settings: SessionSettings) -> MessageStore:
            name = _safe(f"{settings.begin_string}-{settings.sender_comp_id}-{settings.target_comp_id}")
            return FileStore(root / f"{name}.journal", fsync=fsync)

        return make
    raise StoreError(f"store URL {url!r}: expected memory: or file:DIR")
