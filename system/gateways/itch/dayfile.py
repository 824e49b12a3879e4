"""Day files in the vendors' historical format: each ITCH message preceded by its length as a
2-byte big-endian integer, nothing else (no SoupBinTCP or MoldUDP64 framing)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from system.eventlog.store import EventStore
from system.gateways.itch.encoder import ItchEncoder
from system.wholefile import written_whole


class DayFileError(ValueError):
    """A truncated day file."""


def write_messages(out: BinaryIO, messages: Iterable[bytes]) -> int:
    n = 0
    buf = bytearray()
    for msg in messages:
        buf += len(msg).to_bytes(2, "big")
        buf += msg
        n += 1
        if len(buf) > 1 << 20:
            out.write(buf)
            buf.clear()
    out.write(buf)
    return n


def save_messages(path: str | Path, messages: Iterable[bytes]) -> int:
    """Write a day file at ``path`` through a temporary name beside it, so it appears whole or not
    at all (a file cut mid-way would read as a shorter day); returns the count written."""
    with written_whole(path) as tmp, open(tmp, "wb") as f:
        return write_messages(f, messages)


def read_messages(path: str | Path) -> Iterator[bytes]:
    """The messages of a day file; raises ``DayFileError`` at a truncated message."""
    data = Path(path).read_bytes()
    i, end = 0, len(data)
    while i < end:
        if i + 2 > end:
            raise DayFileError(f"{path}: truncated length at byte {i}")
        n = int.from_bytes(data[i : i + 2], "big")
        if i + 2 + n > end:
            raise DayFileError(f"{path}: message at byte {i} needs {n} bytes, {end - i - 2} left")
        yield data[i + 2 : i + 2 + n]
        i += 2 + n


def encode_log(
    store: EventStore, tz: str, instruments: Iterable[str] = (), *, batch: int = 5000
) -> ItchEncoder:
    """Encode a whole log (ends with End of Messages)."""
    enc = ItchEncoder(tz, instruments)
    chunk = []
    for ev in store.read(1):
        chunk.append(ev)
        if len(chunk) >= batch:
            enc.handle_batch(chunk)
            chunk = []
    enc.handle_batch(chunk)
    enc.finish()
    return enc
